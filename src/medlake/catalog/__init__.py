"""The catalog: what the lake holds, where it came from, and how each batch reconciled.

SQLAlchemy models (``models``), migrations (``migrations/``, Alembic) and a small
``Catalog`` facade (``store``) that the rest of the platform calls. SQLite by default,
PostgreSQL by URL.
"""

from medlake.catalog.store import BuiltTable, Catalog, JobRun, LineageInput

__all__ = ["BuiltTable", "Catalog", "JobRun", "LineageInput"]
