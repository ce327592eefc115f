"""The engine interface: register Arrow data under a name, run SQL, get Arrow back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pyarrow as pa

from medlake.errors import EngineError, QueryError

if TYPE_CHECKING:
    from medlake.engine.dialect import Dialect

#: The in-process engine, which the code declared DuckDB-only runs on (see :func:`duckdb_only`).
DUCKDB = "duckdb"
#: The engines medlake has a backend for; ``engine`` in settings names one of them.
ENGINES = (DUCKDB,)


class QueryRefused(QueryError, PermissionError):
    """A query a locked-down engine will not run: it writes, attaches, loads, changes settings,
    runs several statements, or reaches files, the network or the environment."""


class UnknownTable(QueryError, LookupError):
    """A query names a table the engine does not have; ``name`` is the name as the engine saw it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class Engine(ABC):
    """A SQL engine that reads Arrow and answers in Arrow.

    Arrow is the exchange format because both DuckDB and Spark speak it without copies
    (DuckDB scans Arrow in place; Spark converts with ``createDataFrame`` from Arrow), and
    the Delta Lake reader hands out Arrow datasets.

    Names an engine is given live until they are dropped; callers use the context managers
    :meth:`registered` and :meth:`temporary`, so an engine that serves a whole job (ingest's
    groups, a build's tables) is left clean whatever happens in between.
    """

    dialect: Dialect
    #: What the engine raises when a row's value cannot be computed (a failed cast, a view's own
    #: error for a column with several values), as opposed to a wrong query or a failing
    #: machine: a build leaves such rows out, with the reason, instead of failing.
    data_errors: tuple[type[Exception], ...] = ()
    #: The exceptions by which the engine refuses a query (syntax, an unknown name, a type error);
    #: a caller running a user's SQL turns them into :class:`~medlake.errors.QueryError`.
    query_errors: tuple[type[Exception], ...] = ()

    @abstractmethod
    def register(self, name: str, data: pa.Table | pa.RecordBatchReader | object) -> None:
        """Make ``data`` queryable as table ``name`` until :meth:`unregister`."""

    @abstractmethod
    def register_table(self, schema: str, name: str, data: object) -> None:
        """Make ``data`` queryable as ``schema.name`` (e.g. ``warehouse.patient``)."""

    @abstractmethod
    def unregister(self, name: str) -> None:
        """Forget a name registered with :meth:`register`."""

    @abstractmethod
    def create_temporary(self, name: str, query: str, *, materialise: bool = True) -> None:
        """Name the result of ``query`` for this engine's session: computed once (``materialise``),
        or a view evaluated by every query that reads it."""

    @abstractmethod
    def drop_temporary(self, name: str, *, materialise: bool = True) -> None:
        """Forget a name made by :meth:`create_temporary` (nothing if it is gone already)."""

    @abstractmethod
    def sql(self, query: str) -> pa.Table:
        """Run ``query`` and return the whole result."""

    @abstractmethod
    def sql_batches(self, query: str, batch_size: int = 65_536) -> pa.RecordBatchReader:
        """Run ``query`` and stream the result, so large results need not fit in memory."""

    @abstractmethod
    def lock_down(self) -> None:
        """From now on, run only single read-only queries over the data registered so far.

        No statement may write (``COPY``, ``EXPORT``, ``CREATE``, ``INSERT``…), attach, install
        or load extensions, change settings, or read files, the network or the environment:
        what an analyst types is a query, not a shell. It cannot be undone for this engine.
        Refusals raise :class:`QueryRefused`.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the engine's resources."""

    @contextmanager
    def registered(self, name: str, data: pa.Table | pa.RecordBatchReader | object) -> Iterator[str]:
        """``data`` queryable as ``name`` inside the block, forgotten after it."""
        self.register(name, data)
        try:
            yield name
        finally:
            self.unregister(name)

    @contextmanager
    def temporary(self, name: str, query: str, *, materialise: bool = True) -> Iterator[str]:
        """The result of ``query`` named ``name`` inside the block (see :meth:`create_temporary`)."""
        self.create_temporary(name, query, materialise=materialise)
        try:
            yield name
        finally:
            self.drop_temporary(name, materialise=materialise)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get_engine(name: str = DUCKDB, **options: object) -> Engine:
    """Build the engine chosen by configuration; heavy backends are imported only when chosen.

    ``options`` are the settings every backend takes: ``threads`` and ``memory_limit``.
    """
    check_engine(name)
    from medlake.engine.duckdb_engine import DuckDBEngine

    return DuckDBEngine(**options)  # type: ignore[arg-type]


def check_engine(name: str) -> None:
    """Refuse an engine medlake has no backend for, before any work starts."""
    if name not in ENGINES:
        known = ", ".join(map(repr, ENGINES))
        raise EngineError(f"unknown engine {name!r}: choose {known} (the Spark backend is not built yet)")


def duckdb_only(engine: Engine, what: str) -> None:
    """Declare that ``what`` is written in DuckDB's SQL and runs only there.

    Most of medlake's SQL goes through the engine's :class:`~medlake.engine.dialect.Dialect`; a
    few small jobs over local data are DuckDB-only on purpose (their SQL is DuckDB's, and their
    results must not depend on the region's engine): linkage's standardisation and helper
    queries, the person index's fingerprints and caches. They run on the workspace's
    ``local_engine()``; this call names them, for the day another engine is chosen.
    """
    if engine.dialect.name != DUCKDB:
        raise NotImplementedError(f"{what} is written for DuckDB, not the {engine.dialect.name} engine")
