"""Hospital databases as a source: tables and queries imported through SQLAlchemy (the Sqoop job).

``import_sql`` reads the tables a mapping names, fully or incrementally (append by a
growing id, lastmodified by a timestamp), keeps each table's last value in the catalog
after its rows are committed, and never shows a credential. ``SqlDatabase`` is the same
as a registered source for ``medlake sync``.
"""

from medlake.sources.database.importer import Overrides, SqlImportError, default_source_id, import_sql

__all__ = ["Overrides", "SqlImportError", "default_source_id", "import_sql"]
