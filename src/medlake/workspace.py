"""A workspace: one region's settings, catalog, lake and engines — the floor everything stands on.

>>> ws = open_workspace()                      # MEDLAKE_HOME or ./.medlake
>>> ws.tables()                                # ['integrated.Patient', 'warehouse.patient', ...]
>>> ws.table("warehouse.patient").to_pandas()  # any table as Arrow, then pandas
>>> ws.sql("SELECT count(*) FROM warehouse.observation")

Every package takes this ``Workspace``; none of them is imported here. The public API,
``medlake.open_workspace()``, returns :class:`medlake.api.Workspace`, which adds the jobs
(ingest, build, link, person) on top.
"""

from __future__ import annotations

import difflib
import re
from functools import cached_property
from pathlib import Path

import pyarrow as pa
import tomli_w

from medlake.catalog import Catalog
from medlake.config import SETTINGS_FILE, Settings, load_settings, resolve_home
from medlake.engine import DUCKDB, Engine, UnknownTable, get_engine
from medlake.errors import QueryError, WorkspaceError
from medlake.lake import Lake, Layer

__all__ = ["Workspace", "WorkspaceError", "attach_tables", "init_workspace", "open_workspace"]

_TABLE_NAME = re.compile(r"^(raw|integrated|warehouse|marts)\.([A-Za-z0-9_]+)$")


class Workspace:
    """Settings + catalog + lake of one region."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.home

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.settings.resolved_catalog_url)

    @cached_property
    def lake(self) -> Lake:
        return Lake(
            self.settings.resolved_lake_uri,
            self.settings.storage_options,
            checkpoint_interval=self.settings.checkpoint_interval,
        )

    def engine(self) -> Engine:
        """A new engine of the configured kind, with the configured threads and memory; the caller closes it.

        Every SQL engine medlake opens comes from here or :meth:`local_engine`, so
        ``engine_threads`` and ``engine_memory_limit`` bound all of them.
        """
        return get_engine(self.settings.engine, **self.engine_options())

    def local_engine(self) -> Engine:
        """A new in-process DuckDB engine with the same limits, for the code declared DuckDB-only
        (:func:`medlake.engine.duckdb_only`): small jobs over local data whose SQL is DuckDB's."""
        return get_engine(DUCKDB, **self.engine_options())

    def engine_options(self) -> dict[str, object]:
        """The engine settings every backend takes."""
        options: dict[str, object] = {}
        if self.settings.engine_threads:
            options["threads"] = self.settings.engine_threads
        if self.settings.engine_memory_limit:
            options["memory_limit"] = self.settings.engine_memory_limit
        return options

    # the analyst's API ---------------------------------------------------------------
    def tables(self) -> list[str]:
        """Every table as ``layer.name``."""
        return sorted(f"{d.layer}.{d.name.split('.', 1)[1]}" for d in self.catalog.datasets())

    def table_uri(self, name: str) -> str:
        match = _TABLE_NAME.match(name)
        if not match:
            raise WorkspaceError(f"table names look like 'warehouse.patient' (layer.name), not {name!r}")
        return self.lake.uri(Layer(match[1]), match[2])

    def table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """Table ``layer.name`` as Arrow (``.to_pandas()`` for pandas)."""
        data = self.lake.read(self.table_uri(name), columns)
        if data is None:
            raise WorkspaceError(f"no table {name!r}; known tables: {', '.join(self.tables()) or 'none yet'}")
        return data

    def sql(self, query: str, *, unrestricted: bool = False) -> pa.Table:
        """Run one query over every table, addressed as ``layer.name`` (e.g. ``warehouse.patient``).

        The query runs on a locked-down engine: it reads the lake's tables and nothing else (no
        files, URLs, extensions, settings or writes; see docs/analyst-sql.md), so it is safe to
        pass on what an analyst typed. ``unrestricted`` lifts that, for a trusted local
        administrator's own SQL only. A missing table raises :class:`WorkspaceError` naming the
        tables there are.
        """
        with self.engine() as engine:
            attach_tables(self, engine)
            if not unrestricted:
                engine.lock_down()
            try:
                return engine.sql(query)
            except UnknownTable as exc:
                raise WorkspaceError(self._no_such_table(exc.name)) from None
            except engine.query_errors as exc:  # the query's own fault: the engine's message says what
                raise QueryError(str(exc).strip()) from exc

    def _no_such_table(self, name: str) -> str:
        tables = self.tables()
        if not tables:
            return f"no table {name!r}: the workspace has no tables yet (`medlake ingest`, `medlake build`)"
        by_name = {t.lower(): t for t in tables}
        by_short_name = {t.split(".", 1)[1].lower(): t for t in tables}
        wanted = name.lower()
        close = [by_name[c] for c in difflib.get_close_matches(wanted, by_name, n=3, cutoff=0.6)]
        close += [by_short_name[c] for c in difflib.get_close_matches(wanted.split(".")[-1], by_short_name)]
        hint = list(dict.fromkeys(close))[:3]
        suggestion = f" (did you mean {' or '.join(hint)}?)" if hint else ""
        return f"no table {name!r}{suggestion}; tables are named layer.name: {', '.join(tables)}"


def attach_tables(workspace: Workspace, engine: Engine) -> list[str]:
    """Make every catalogued table queryable in ``engine`` as ``layer.name``."""
    names = []
    for dataset in workspace.catalog.datasets():
        data = workspace.lake.dataset(workspace.lake.resolve(dataset.location))
        if data is not None:
            engine.register_table(dataset.layer, dataset.name.split(".", 1)[1], data)
            names.append(dataset.name)
    return names


def init_workspace(home: Path | str | None = None, **settings: object) -> Workspace:
    """Create (or re-open) a workspace: settings file, catalog schema, lake folder."""
    root = resolve_home(home)
    root.mkdir(parents=True, exist_ok=True)
    settings_file = root / SETTINGS_FILE
    if not settings_file.exists():
        chosen = {k: v for k, v in settings.items() if v is not None}
        settings_file.write_text(
            "# medlake workspace settings; MEDLAKE_* environment variables override them.\n"
            + tomli_w.dumps(chosen)
        )
    workspace = open_workspace(root, must_exist=False)
    workspace.catalog.migrate()
    _ = workspace.lake
    return workspace


def open_workspace(home: Path | str | None = None, must_exist: bool = True) -> Workspace:
    """Open the workspace at ``home`` (default: ``MEDLAKE_HOME`` or ``./.medlake``)."""
    root = resolve_home(home)
    if must_exist and not (root / SETTINGS_FILE).exists():
        raise WorkspaceError(f"no medlake workspace at {root}: run `medlake init --home {root}` first")
    return Workspace(load_settings(root))
