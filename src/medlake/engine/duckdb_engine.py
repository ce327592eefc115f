"""The default engine: DuckDB in-process."""

from __future__ import annotations

import re
import shutil
import tempfile

import duckdb
import pyarrow as pa

from medlake.engine.base import Engine, QueryRefused, UnknownTable
from medlake.engine.dialect import DuckDBDialect

#: What a locked-down engine runs: queries (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW,
#: SUMMARIZE, UNPIVOT parse as SELECT; PIVOT as MULTI, a type for its columns and a SELECT).
_QUERIES = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.MULTI})
_EXPLAIN = re.compile(r"\s*explain(?:\s+analy[sz]e)?\s+", re.IGNORECASE)
_MISSING_TABLE = re.compile(r'Table with name "?([^"!]+?)"? does not exist')


class DuckDBEngine(Engine):
    """DuckDB over Arrow. ``threads`` and ``memory_limit`` come from settings."""

    # DataError: conversion, out of range; InvalidInputException: error() (a view's column with
    # several values for one row)
    data_errors = (duckdb.DataError, duckdb.InvalidInputException)
    query_errors = (duckdb.Error,)

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        config: dict[str, str | int] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.con = duckdb.connect(":memory:", config=config)
        self.dialect = DuckDBDialect()
        self._spill: str | None = None  # the private temp folder, once locked down

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

    def lock_down(self) -> None:
        if self._spill is not None:
            return
        spill = tempfile.mkdtemp(prefix="medlake-sql-")
        for statement in self.dialect.lock_down_statements(spill):
            self.con.execute(statement)
        self._spill = spill

    def create_temporary(self, name: str, query: str, *, materialise: bool = True) -> None:
        kind = "TABLE" if materialise else "VIEW"
        self.con.execute(f"CREATE OR REPLACE TEMP {kind} {self.dialect.quote_identifier(name)} AS {query}")

    def drop_temporary(self, name: str, *, materialise: bool = True) -> None:
        kind = "TABLE" if materialise else "VIEW"
        self.con.execute(f"DROP {kind} IF EXISTS {self.dialect.quote_identifier(name)}")

    def sql(self, query: str) -> pa.Table:
        return self._run(query, lambda relation: relation.to_arrow_table())

    def sql_batches(self, query: str, batch_size: int = 65_536) -> pa.RecordBatchReader:
        return self._run(query, lambda relation: relation.to_arrow_reader(batch_size))

    def _run(self, query: str, fetch):
        if self._spill is not None:
            self._check_query(query)
        try:
            return fetch(self.con.sql(query))
        except duckdb.CatalogException as exc:
            missing = _MISSING_TABLE.search(str(exc))
            if missing is None:
                raise
            raise UnknownTable(missing[1], str(exc)) from None
        except duckdb.PermissionException as exc:
            if self._spill is None:
                raise
            raise QueryRefused(
                f"this SQL may read only the lake's tables, not files, URLs or extensions ({exc})"
            ) from None

    def _check_query(self, query: str) -> None:
        """Refuse anything but one read-only query (the engine's own lock is the second guard)."""
        statements = self.con.extract_statements(query)
        if len(statements) != 1:
            raise QueryRefused(f"one query at a time, not {len(statements)} statements")
        kind = statements[0].type
        if kind == duckdb.StatementType.EXPLAIN:
            # EXPLAIN ANALYZE runs what it explains: the statement after it must be a query too
            inner = _EXPLAIN.sub("", query, count=1)
            explained = self.con.extract_statements(inner) if inner != query else []
            if len(explained) == 1 and explained[0].type in _QUERIES:
                return
            raise QueryRefused("EXPLAIN is allowed of a query (SELECT …) only")
        if kind not in _QUERIES:
            raise QueryRefused(
                f"{kind.name} statements are not allowed: only a read-only query "
                "(SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, PIVOT, EXPLAIN)"
            )

    def close(self) -> None:
        self.con.close()
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)
