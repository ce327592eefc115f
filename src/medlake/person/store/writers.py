"""The store's writers, one per backend behind :class:`StoreWriter`: SQLite (a new file, renamed over the
old) and PostgreSQL (a new schema, renamed in one transaction)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy.engine import make_url

from medlake.person.store.layout import (
    BUILD_PREFIX,
    SCHEMA,
    TABLES,
    StoreError,
    create_table_sql,
    safe_url,
    sqlite_path,
)

#: Called with the rows written since the last call.
ProgressCallback = Callable[[int], None]


class StoreWriter(Protocol):
    """Writes one build of the store beside the live one, then swaps it in atomically.

    ``begin`` creates the new store's tables, ``load`` fills one from the engine's batches (in key
    order), ``finish`` writes the build's metadata and statistics, ``swap`` makes it the live
    store; ``discard`` removes a build that failed, so the live store stays as it was.
    """

    def begin(self, build_id: str) -> None: ...

    def load(
        self, table: str, batches: pa.RecordBatchReader, progress: Callable[[int], None] | None
    ) -> int: ...

    def finish(self, meta: dict[str, str]) -> None: ...

    def discard(self) -> None: ...

    def swap(self) -> None: ...


def _tuples(batch: pa.RecordBatch) -> Iterator[tuple[Any, ...]]:
    return zip(*(batch.column(i).to_pylist() for i in range(batch.num_columns)), strict=True)


class SQLiteWriter:
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
            self.con.execute(create_table_sql(table, qualified=table, sqlite=True))
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


def psycopg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresWriter:
    def __init__(self, url: str) -> None:
        self.url = url
        self.schema = ""
        self.con: Any = None

    def begin(self, build_id: str) -> None:
        import psycopg

        self.con = psycopg.connect(psycopg_conninfo(self.url), autocommit=True)
        stale = self.con.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (BUILD_PREFIX + "%",)
        ).fetchall()
        for (name,) in stale:
            self.con.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.schema = BUILD_PREFIX + build_id
        self.con.execute(f'CREATE SCHEMA "{self.schema}"')
        for table in TABLES:
            self.con.execute(create_table_sql(table, qualified=f'"{self.schema}".{table}', sqlite=False))
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


def writer_for(url: str) -> StoreWriter:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return SQLiteWriter(sqlite_path(url))
    if backend == "postgresql":
        return PostgresWriter(url)
    raise StoreError(f"the person store supports sqlite:/// and postgresql:// URLs, not {safe_url(url)}")
