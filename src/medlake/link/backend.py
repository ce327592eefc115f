"""The one place that decides which SQL engine Splink runs on.

Everything else in medlake.link speaks Splink's backend-neutral API and writes SQL in DuckDB's
dialect (Splink transpiles it with sqlglot), so moving the master patient index to Spark for a
region too big for one machine is a change of ``LinkSettings.backend``, not of the model code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from medlake.errors import EngineError
from medlake.link.settings import LinkSettings

#: The dialect our hand-written SQL conditions are written in; Splink transpiles from it.
SQL_DIALECT = "duckdb"


def make_database_api(settings: LinkSettings) -> Any:
    """A fresh Splink DatabaseAPI for one linkage job (its tables die with it)."""
    if settings.backend == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        connection = duckdb.connect(":memory:")
        if settings.threads is not None:
            connection.execute(f"SET threads = {int(settings.threads)}")
        if settings.memory_limit is not None:
            connection.execute("SET memory_limit = ?", [settings.memory_limit])
        # Splink's intermediate tables are large and short-lived; insertion order is irrelevant.
        connection.execute("SET preserve_insertion_order = false")
        return DuckDBAPI(connection)
    if settings.backend == "spark":
        try:
            from pyspark.sql import SparkSession
            from splink import SparkAPI
        except ImportError as exc:
            raise EngineError(
                "the spark linkage backend needs pyspark installed (pip install pyspark)"
            ) from exc
        session = SparkSession.builder.appName("medlake-link").getOrCreate()
        return SparkAPI(spark_session=session)
    raise EngineError(f"unknown linkage backend {settings.backend!r}")


@contextmanager
def quiet_splink(level: int = logging.ERROR) -> Iterator[None]:
    """Silence Splink's chatty logging for one job and restore it afterwards.

    Splink logs every SQL step and warns per untrained level; medlake reports the untrained
    levels itself (LinkageModel.untrained_levels) and CLI/JSON output must stay clean.
    """
    splink_logger = logging.getLogger("splink")
    previous = splink_logger.level
    splink_logger.setLevel(level)
    try:
        yield
    finally:
        splink_logger.setLevel(previous)
