"""Rebuilding the serving store from the warehouse, and removing it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import make_url

from medlake.errors import NotReady
from medlake.person.golden import GOLDEN_TABLE, LINK_TABLE
from medlake.person.queries import LINK_COLUMNS, observation_sql, timeline_sql
from medlake.person.record import SOURCE_TABLES
from medlake.person.store.layout import SCHEMA, STORE_FORMAT, TABLES, safe_url, sqlite_path, store_url
from medlake.person.store.reader import forget_store
from medlake.person.store.writers import psycopg_conninfo, writer_for
from medlake.person.survivorship import golden_columns
from medlake.workspace import Workspace

BATCH_ROWS = 50_000


@dataclass(frozen=True)
class StoreReport:
    url: str
    build_id: str
    persons: int
    rows: dict[str, int]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": safe_url(self.url),
            "build_id": self.build_id,
            "persons": self.persons,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
        }


def refresh_serving_store(
    workspace: Workspace, progress: Callable[[int], None] | None = None, url: str | None = None
) -> StoreReport:
    """Rebuild the serving store from the warehouse (person_link, person_golden and the clinical
    tables) and swap it in atomically. ``progress(n)`` is called with rows written.

    Run after ``medlake link run`` and :func:`medlake.person.golden.build_golden`;
    :func:`medlake.person.refresh_person` does both.
    """
    import time

    started = time.perf_counter()
    target = url or store_url(workspace)
    writer = writer_for(target)
    build_id = uuid.uuid4().hex[:12]
    with workspace.engine() as engine:
        tables: set[str] = set()
        versions: dict[str, int] = {}
        for name in SOURCE_TABLES:
            delta = workspace.lake.table(workspace.table_uri(f"warehouse.{name}"))
            if delta is not None:
                engine.register_table("warehouse", name, delta.to_pyarrow_dataset())
                tables.add(name)
                versions[name] = delta.version()
        for needed in (LINK_TABLE, GOLDEN_TABLE):
            if needed.split(".", 1)[1] not in tables:
                hint = "medlake link run" if needed == LINK_TABLE else "medlake person build"
                raise NotReady(f"no table {needed}: run `{hint}` first")
        queries = {
            "person_golden": f"SELECT {', '.join(golden_columns())} FROM warehouse.person_golden",
            "person_patient": f"SELECT {', '.join(LINK_COLUMNS)} FROM warehouse.person_link",
            "person_timeline": timeline_sql(tables),
            "person_observation": observation_sql(tables),
        }
        rows: dict[str, int] = {}
        writer.begin(build_id)
        try:
            for table, query in queries.items():
                columns = TABLES[table][0]
                ordered = f"SELECT {', '.join(columns)} FROM ({query}) ORDER BY {', '.join(TABLES[table][1])}"
                rows[table] = writer.load(table, engine.sql_batches(ordered, BATCH_ROWS), progress)
            meta = {
                "format": STORE_FORMAT,
                "build_id": build_id,
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "persons": str(rows["person_golden"]),
                **{f"version.{k}": str(v) for k, v in sorted(versions.items())},
            }
            writer.finish(meta)
        except BaseException:
            writer.discard()
            raise
    writer.swap()
    forget_store(target)
    return StoreReport(target, build_id, rows["person_golden"], rows, time.perf_counter() - started)


def drop_serving_store(url: str) -> None:
    """Remove the store at ``url`` (tests and benchmarks clean up with it)."""
    forget_store(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        sqlite_path(url).unlink(missing_ok=True)
        return
    import psycopg

    with closing(psycopg.connect(psycopg_conninfo(url), autocommit=True)) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
