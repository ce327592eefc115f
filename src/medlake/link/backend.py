"""The one place that decides which SQL engines linkage runs on.

Everything else in medlake.link speaks Splink's backend-neutral API and writes SQL in DuckDB's
dialect (Splink transpiles it with sqlglot), so moving the master patient index to Spark for a
region too big for one machine is a change of ``LinkSettings.backend``, not of the model code.

medlake's own linkage SQL (standardising fields, term frequencies, which existing records a
blocking rule reaches) is DuckDB-only (:func:`medlake.engine.duckdb_only`): it runs in-process on
:func:`local_engine`, whatever backend Splink uses, with the settings' threads and memory limit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from medlake.engine import DUCKDB, Engine, get_engine
from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.errors import EngineError
from medlake.link.settings import LinkSettings

#: The dialect our hand-written SQL conditions are written in; Splink transpiles from it.
SQL_DIALECT = "duckdb"


def local_engine(settings: LinkSettings) -> Engine:
    """The in-process engine of medlake's own linkage SQL, with the settings' threads and memory."""
    options: dict[str, object] = {"threads": settings.threads, "memory_limit": settings.memory_limit}
    return get_engine(DUCKDB, **{k: v for k, v in options.items() if v is not None})


@contextmanager
def database_api(settings: LinkSettings) -> Iterator[Any]:
    """A fresh Splink DatabaseAPI for one linkage job; its tables (and its DuckDB) end with the block."""
    if settings.backend == "duckdb":
        from splink import DuckDBAPI

        with local_engine(settings) as engine:
            assert isinstance(engine, DuckDBEngine)
            # Splink's intermediate tables are large and short-lived; insertion order is irrelevant.
            engine.connection.execute("SET preserve_insertion_order = false")
            api = DuckDBAPI(engine.connection)
            # Splink's base class also opens a DuckDB of its own, which the DuckDB backend never uses
            # (its duckdb_con is ours): closed here rather than left idle, with its threads, unbounded.
            idle = getattr(api, "_ddb_con", None)
            if idle is not None and idle is not engine.connection:
                idle.close()
            yield api
        return
    yield _spark_api(settings)


def _spark_api(settings: LinkSettings) -> Any:
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
