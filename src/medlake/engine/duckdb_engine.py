"""The default engine: DuckDB in-process."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from medlake.engine.base import Engine
from medlake.engine.dialect import DuckDBDialect


class DuckDBEngine(Engine):
    """DuckDB over Arrow. ``threads`` and ``memory_limit`` come from settings."""

    query_errors = (duckdb.Error,)

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        config: dict[str, str | int] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.con = duckdb.connect(":memory:", config=config)
        self.dialect = DuckDBDialect()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, for a library that takes one (Splink): configured as this engine is."""
        return self.con

    def register(self, name: str, data: object) -> None:
        self.con.register(name, data)

    def register_table(self, schema: str, name: str, data: object) -> None:
        quote = self.dialect.quote_identifier
        hidden = f"__{schema}__{name}"
        self.con.register(hidden, data)
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        self.con.execute(
            f"CREATE OR REPLACE VIEW {quote(schema)}.{quote(name)} AS SELECT * FROM {quote(hidden)}"
        )

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def create_temporary(self, name: str, query: str, *, materialise: bool = True) -> None:
        kind = "TABLE" if materialise else "VIEW"
        self.con.execute(f"CREATE OR REPLACE TEMP {kind} {self.dialect.quote_identifier(name)} AS {query}")

    def drop_temporary(self, name: str, *, materialise: bool = True) -> None:
        kind = "TABLE" if materialise else "VIEW"
        self.con.execute(f"DROP {kind} IF EXISTS {self.dialect.quote_identifier(name)}")

    def sql(self, query: str) -> pa.Table:
        return self.con.sql(query).to_arrow_table()

    def sql_batches(self, query: str, batch_size: int = 65_536) -> pa.RecordBatchReader:
        return self.con.sql(query).to_arrow_reader(batch_size)

    def close(self) -> None:
        self.con.close()
