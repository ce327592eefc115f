"""Query engines behind one small interface.

DuckDB runs in-process by default; a Spark backend implements the same :class:`Engine`
when a region outgrows one machine. Every SQL difference between engines lives in the
engine's :class:`~medlake.engine.dialect.Dialect`, so callers write one pipeline.
"""

from medlake.engine.base import (
    DUCKDB,
    Engine,
    QueryRefused,
    UnknownTable,
    check_engine,
    duckdb_only,
    get_engine,
)

__all__ = ["DUCKDB", "Engine", "QueryRefused", "UnknownTable", "check_engine", "duckdb_only", "get_engine"]
