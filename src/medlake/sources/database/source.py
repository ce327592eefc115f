"""A hospital database as a registered source (kind ``sql``) for ``medlake sync``.

The location is the SQLAlchemy URL with its password as ``${VAR}`` (resolved at run time,
never stored); the mapping says which tables to import and how. Each sync continues
every table from the last value kept under the source's id. Options: ``tables`` — a
comma-separated subset of the mapping's tables; ``chunk_size``, ``commit_rows`` —
override the mapping's.
"""

from __future__ import annotations

from collections.abc import Callable

from medlake.errors import InputError
from medlake.ingest import BatchReport
from medlake.sources.base import SourceConfig, SourceKind
from medlake.sources.database.connection import parse
from medlake.sources.database.importer import Overrides, import_sql
from medlake.sources.tabular.mapping import load_mapping
from medlake.workspace import Workspace


def _int_option(source: SourceConfig, name: str) -> int | None:
    value = source.options.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"source {source.id}: option {name} must be a whole number, not {value!r}") from None


def _tables(source: SourceConfig) -> list[str]:
    return [t.strip() for t in str(source.options.get("tables") or "").split(",") if t.strip()]


class SqlDatabase(SourceKind):
    kind = "sql"
    description = "tables of a relational database (HIS) through SQLAlchemy; full or incremental by a mapping"
    location_is_path = False
    needs_mapping = True
    option_names = frozenset({"tables", "chunk_size", "commit_rows"})

    def check(self, source: SourceConfig) -> None:
        """A database URL, a mapping that reads, tables it has, whole numbers (nothing connects)."""
        parse(source.location)
        mapping = load_mapping(str(source.mapping))
        for table in _tables(source):
            mapping.table(table)
        _int_option(source, "chunk_size")
        _int_option(source, "commit_rows")

    def sync(
        self, workspace: Workspace, source: SourceConfig, progress: Callable[[int], None] | None = None
    ) -> list[BatchReport]:
        if not source.mapping:
            raise InputError(
                f"source {source.id}: kind sql needs a mapping (--mapping FILE or a shipped name)"
            )
        tables = _tables(source)
        overrides = Overrides(
            chunk_size=_int_option(source, "chunk_size"), commit_rows=_int_option(source, "commit_rows")
        )
        return import_sql(
            workspace,
            source.location,
            source.mapping,
            source.institution,
            source_id=source.id,
            tables=tables or None,
            overrides=overrides,
            progress=progress,
        )
