"""The person serving store: every person's record kept keyed by global id, for one-person reads.

The warehouse is laid out for scans (Parquet files partitioned by institution); finding one
person there means reading every table's files. The serving store is the same rows laid out
for lookups: four tables clustered on ``person_id`` (SQLite ``WITHOUT ROWID`` tables whose
primary key starts with it; PostgreSQL tables ``CLUSTER``-ed on that key), so a person's rows
sit together and one index range scan per table reads them (see docs/person.md for the
measurements that chose this).

It is rebuilt whole, never patched, and swapped in atomically, so a reader sees the old store
or the new one and a crash mid-build leaves the old one in place:

* SQLite: written to ``<file>.building-<token>`` (with journaling off, safe because the file
  is not live), fsynced, then ``os.replace``-d over the store file. Readers notice the new
  file (its inode changes) and reopen.
* PostgreSQL: written into schema ``person_serving_new_<token>``; one transaction drops
  ``person_serving`` and renames the new schema to it (PostgreSQL DDL is transactional).

Leftovers of a killed build (a ``.building-`` file, a ``person_serving_new_`` schema) are
removed by the next build.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from medlake.errors import MedlakeError, NotReady
from medlake.person.golden import GOLDEN_TABLE, LINK_TABLE
from medlake.person.queries import (
    LINK_COLUMNS,
    OBSERVATION_COLUMNS,
    TIMELINE_COLUMNS,
    observation_sql,
    timeline_sql,
)
from medlake.person.record import SOURCE_TABLES, PersonRecord, UnknownPersonError, assemble
from medlake.person.survivorship import golden_columns
from medlake.workspace import Workspace

SCHEMA = "person_serving"
_BUILD_PREFIX = "person_serving_new_"
STORE_FORMAT = "1"

_TEXT, _INT, _REAL = "TEXT", "BIGINT", "DOUBLE PRECISION"
_TYPES = {"records": _INT, "value": _REAL, "component": _INT}

#: table -> (columns, primary key); every key starts with person_id, which is what clusters a person.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "person_golden": (tuple(golden_columns()), ("person_id",)),
    "person_patient": (LINK_COLUMNS, ("person_id", "patient_id")),
    "person_timeline": (TIMELINE_COLUMNS, ("person_id", "kind", "source_id")),
    "person_observation": (OBSERVATION_COLUMNS, ("person_id", "source_id", "component")),
}

BATCH_ROWS = 50_000


class StoreError(MedlakeError):
    """The serving store is missing, of another format, or at a URL it cannot live at."""


def store_url(workspace: Workspace) -> str:
    return workspace.settings.person_store_url or f"sqlite:///{workspace.home / 'person.db'}"


@dataclass(frozen=True)
class StoreReport:
    url: str
    build_id: str
    persons: int
    rows: dict[str, int]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": _safe(self.url),
            "build_id": self.build_id,
            "persons": self.persons,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
        }


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# building ------------------------------------------------------------------------------------


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
    writer = _writer(target)
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


def _writer(url: str) -> _SQLiteWriter | _PostgresWriter:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _SQLiteWriter(_sqlite_path(url))
    if backend == "postgresql":
        return _PostgresWriter(url)
    raise StoreError(f"the person store supports sqlite:/// and postgresql:// URLs, not {_safe(url)}")


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise StoreError("the SQLite person store needs a file (sqlite:///path/person.db), not memory")
    return Path(database).expanduser().resolve()


def _create_table(name: str, *, qualified: str, sqlite: bool) -> str:
    columns, key = TABLES[name]
    body = ", ".join(f"{c} {_TYPES.get(c, _TEXT)}" for c in columns)
    return f"CREATE TABLE {qualified} ({body}, PRIMARY KEY ({', '.join(key)}))" + (
        " WITHOUT ROWID" if sqlite else ""
    )


def _tuples(batch: pa.RecordBatch) -> Iterator[tuple[Any, ...]]:
    return zip(*(batch.column(i).to_pylist() for i in range(batch.num_columns)), strict=True)


class _SQLiteWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.building: Path | None = None
        self.con: Any = None

    def begin(self, build_id: str) -> None:
        import sqlite3

        self.path.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.path.parent.glob(f"{self.path.name}.building-*"):
            stale.unlink(missing_ok=True)
        self.building = self.path.with_name(f"{self.path.name}.building-{build_id}")
        self.con = sqlite3.connect(self.building)
        # not live until swapped in: a crash loses only this file, so no journal and no syncs
        self.con.execute("PRAGMA journal_mode = OFF")
        self.con.execute("PRAGMA synchronous = OFF")
        self.con.execute("PRAGMA cache_size = -262144")
        for table in TABLES:
            self.con.execute(_create_table(table, qualified=table, sqlite=True))
        self.con.execute("CREATE TABLE person_store_meta (key TEXT PRIMARY KEY, value TEXT)")

    def load(self, table: str, batches: pa.RecordBatchReader, progress: Callable[[int], None] | None) -> int:
        columns = TABLES[table][0]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        total = 0
        for batch in batches:
            self.con.executemany(sql, _tuples(batch))
            total += batch.num_rows
            if progress:
                progress(batch.num_rows)
        return total

    def finish(self, meta: dict[str, str]) -> None:
        self.con.executemany("INSERT INTO person_store_meta VALUES (?, ?)", sorted(meta.items()))
        self.con.execute("ANALYZE")
        self.con.commit()
        self.con.close()
        self.con = None

    def discard(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
        if self.building is not None:
            self.building.unlink(missing_ok=True)

    def swap(self) -> None:
        assert self.building is not None
        with open(self.building, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self.building, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _psycopg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class _PostgresWriter:
    def __init__(self, url: str) -> None:
        self.url = url
        self.schema = ""
        self.con: Any = None

    def begin(self, build_id: str) -> None:
        import psycopg

        self.con = psycopg.connect(_psycopg_conninfo(self.url), autocommit=True)
        stale = self.con.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (_BUILD_PREFIX + "%",)
        ).fetchall()
        for (name,) in stale:
            self.con.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.schema = _BUILD_PREFIX + build_id
        self.con.execute(f'CREATE SCHEMA "{self.schema}"')
        for table in TABLES:
            self.con.execute(_create_table(table, qualified=f'"{self.schema}".{table}', sqlite=False))
        self.con.execute(f'CREATE TABLE "{self.schema}".person_store_meta (key TEXT PRIMARY KEY, value TEXT)')

    def load(self, table: str, batches: pa.RecordBatchReader, progress: Callable[[int], None] | None) -> int:
        columns = TABLES[table][0]
        copy_sql = f'COPY "{self.schema}".{table} ({", ".join(columns)}) FROM STDIN WITH (FORMAT csv)'
        options = pacsv.WriteOptions(include_header=False)
        total = 0
        with self.con.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for batch in batches:
                buffer = io.BytesIO()
                pacsv.write_csv(
                    batch, buffer, options
                )  # strings quoted, NULL unquoted-empty: CSV COPY's rules
                copy.write(buffer.getvalue())
                total += batch.num_rows
                if progress:
                    progress(batch.num_rows)
        # the rows went in in key order already; CLUSTER makes that the physical order for certain
        self.con.execute(f'CLUSTER "{self.schema}".{table} USING {table}_pkey')
        return total

    def finish(self, meta: dict[str, str]) -> None:
        with self.con.cursor() as cursor:
            cursor.executemany(
                f'INSERT INTO "{self.schema}".person_store_meta VALUES (%s, %s)', sorted(meta.items())
            )
        for table in TABLES:
            self.con.execute(f'ANALYZE "{self.schema}".{table}')

    def discard(self) -> None:
        if self.con is None:
            return
        try:
            self.con.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        finally:
            self.con.close()
            self.con = None

    def swap(self) -> None:
        try:
            with self.con.transaction():
                self.con.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
                self.con.execute(f'ALTER SCHEMA "{self.schema}" RENAME TO "{SCHEMA}"')
        finally:
            self.con.close()
            self.con = None


# reading -------------------------------------------------------------------------------------


class PersonStore:
    """Reads person records from a serving store; keeps one connection open (not thread-safe)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = make_url(url).get_backend_name()
        if self.backend not in {"sqlite", "postgresql"}:
            raise StoreError(f"the person store supports sqlite and postgresql, not {_safe(url)}")
        self.prefix = "" if self.backend == "sqlite" else f"{SCHEMA}."
        self.path = _sqlite_path(url) if self.backend == "sqlite" else None
        self._inode: int | None = None
        self._engine: sa.Engine | None = None
        self._con: sa.Connection | None = None
        queries = {
            "golden": (golden_columns(), "person_golden"),
            "patients": (LINK_COLUMNS, "person_patient"),
            "timeline": (TIMELINE_COLUMNS, "person_timeline"),
            "observations": (OBSERVATION_COLUMNS, "person_observation"),
        }
        self._queries = {
            key: sa.text(f"SELECT {', '.join(columns)} FROM {self.prefix}{table} WHERE person_id = :p")
            for key, (columns, table) in queries.items()
        }

    def _connection(self) -> sa.Connection:
        if self.path is not None:
            try:
                inode = self.path.stat().st_ino
            except FileNotFoundError:
                raise StoreError(f"no person store at {self.path}: run `medlake person build`") from None
            if inode != self._inode:  # a rebuild swapped a new file in: reopen
                self.close()
                self._inode = inode
        if self._con is None:
            if self._engine is None:
                self._engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
            self._con = self._engine.connect()
        return self._con

    def exists(self) -> bool:
        try:
            self.meta()
        except (StoreError, sa.exc.DBAPIError):
            self.close()
            return False
        return True

    def meta(self) -> dict[str, str]:
        """The build's metadata: build_id, built_at, persons, format, versions of the tables read."""
        con = self._connection()
        try:
            rows = con.execute(sa.text(f"SELECT key, value FROM {self.prefix}person_store_meta")).all()
        except sa.exc.DBAPIError as exc:
            con.rollback()
            raise StoreError(f"no person store at {_safe(self.url)}: run `medlake person build`") from exc
        finally:
            if con.in_transaction():
                con.rollback()
        return dict(rows)  # type: ignore[arg-type]

    def record(self, person_id: str) -> PersonRecord:
        con = self._connection()
        try:
            golden = con.execute(self._queries["golden"], {"p": person_id}).mappings().first()
            if golden is None:
                raise UnknownPersonError(person_id, f"the person store ({self.backend})")
            parts = {
                k: con.execute(self._queries[k], {"p": person_id}).all()
                for k in ("patients", "timeline", "observations")
            }
        finally:
            con.rollback()  # end the read transaction: a PostgreSQL swap must not wait on an idle reader
        return assemble(
            person_id,
            dict(golden),
            parts["patients"],
            parts["timeline"],
            parts["observations"],
            f"person store ({self.backend})",
        )

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


_OPEN: dict[str, PersonStore] = {}


def open_store(url: str) -> PersonStore:
    """The process's reader of ``url`` (opened once, then reused: connecting costs more than a lookup)."""
    store = _OPEN.get(url)
    if store is None:
        store = _OPEN[url] = PersonStore(url)
    return store


def forget_store(url: str) -> None:
    store = _OPEN.pop(url, None)
    if store is not None:
        store.close()


def drop_serving_store(url: str) -> None:
    """Remove the store at ``url`` (tests and benchmarks clean up with it)."""
    forget_store(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        _sqlite_path(url).unlink(missing_ok=True)
        return
    import psycopg

    with closing(psycopg.connect(_psycopg_conninfo(url), autocommit=True)) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
