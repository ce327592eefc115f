"""The engine interface: register Arrow data under a name, run SQL, get Arrow back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from medlake.engine.dialect import Dialect


class QueryRefused(PermissionError):
    """A query a locked-down engine will not run: it writes, attaches, loads, changes settings,
    runs several statements, or reaches files, the network or the environment."""


class UnknownTable(LookupError):
    """A query names a table the engine does not have; ``name`` is the name as the engine saw it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class Engine(ABC):
    """A SQL engine that reads Arrow and answers in Arrow.

    Arrow is the exchange format because both DuckDB and Spark speak it without copies
    (DuckDB scans Arrow in place; Spark converts with ``createDataFrame`` from Arrow), and
    the Delta Lake reader hands out Arrow datasets.
    """

    dialect: Dialect
    #: What the engine raises when a row's value cannot be computed (a failed cast, a view's own
    #: error for a column with several values), as opposed to a wrong query or a failing
    #: machine: a build leaves such rows out, with the reason, instead of failing.
    data_errors: tuple[type[Exception], ...] = ()

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

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get_engine(name: str = "duckdb", **options: object) -> Engine:
    """Build the engine chosen by configuration; heavy backends are imported only when chosen."""
    if name == "duckdb":
        from medlake.engine.duckdb_engine import DuckDBEngine

        return DuckDBEngine(**options)  # type: ignore[arg-type]
    raise ValueError(f"unknown engine {name!r}: choose 'duckdb' (the Spark backend is not built yet)")
