"""The engine interface: register Arrow data under a name, run SQL, get Arrow back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import pyarrow as pa

from medlake.errors import EngineError

if TYPE_CHECKING:
    from medlake.engine.dialect import Dialect


class Engine(ABC):
    """A SQL engine that reads Arrow and answers in Arrow.

    Arrow is the exchange format because both DuckDB and Spark speak it without copies
    (DuckDB scans Arrow in place; Spark converts with ``createDataFrame`` from Arrow), and
    the Delta Lake reader hands out Arrow datasets.
    """

    dialect: Dialect
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
    def sql(self, query: str) -> pa.Table:
        """Run ``query`` and return the whole result."""

    @abstractmethod
    def sql_batches(self, query: str, batch_size: int = 65_536) -> pa.RecordBatchReader:
        """Run ``query`` and stream the result, so large results need not fit in memory."""

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
    raise EngineError(f"unknown engine {name!r}: choose 'duckdb' (the Spark backend is not built yet)")
