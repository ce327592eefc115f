"""Exposing a committed Delta table to the engine under a name, read as fast as it can be.

Going through ``DeltaTable.to_pyarrow_dataset()`` makes the engine pull every byte through
pyarrow's scanner; DuckDB's own Parquet reader, over the same files, decodes the
resource text about ten times faster. It may be used only when the files *are* the table:
a local lake and a table whose protocol needs no reader features (reader version 1: no
deletion vectors, no column mapping), so the current version's file list plus the
partition values in the paths are exactly its rows. Anything else (an object store, a
newer protocol, an empty table) is registered as the Arrow dataset, as before.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager

import pyarrow as pa
from deltalake import DeltaTable

from medlake.engine import Engine
from medlake.lake.store import is_local


@contextmanager
def scanned(
    engine: Engine, name: str, uri: str, table: DeltaTable, institutions: Collection[str] | None = None
) -> Iterator[bool]:
    """``table`` (the committed version at ``uri``) queryable as ``name`` inside the block.

    ``institutions``: only those partitions of a table partitioned by ``institution`` (an
    incremental build reads only the institutions that changed). Yields True if ``name`` is a
    view over the Parquet files, False if it is the Arrow dataset.
    """
    only = _in_institutions(institutions) if institutions is not None else None
    relation = _parquet_relation(engine, uri, table, only)
    if relation is None:
        with engine.registered(name, table.to_pyarrow_dataset(file_pruning_predicate=only)):
            yield False
    else:
        with engine.temporary(name, relation, materialise=False):
            yield True


def _in_institutions(institutions: Collection[str]) -> str:
    """The partition predicate selecting ``institutions`` (none: a predicate no row meets)."""
    values = ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(institutions))
    return f"institution IN ({values})" if values else "institution IS NULL AND institution IS NOT NULL"


def _parquet_relation(engine: Engine, uri: str, table: DeltaTable, only: str | None = None) -> str | None:
    dialect = engine.dialect
    if not dialect.reads_parquet_files or not is_local(uri) or table.protocol().min_reader_version != 1:
        return None
    files = table.file_uris(file_pruning_predicate=only) if only else table.file_uris()
    if not files:
        return None
    schema = pa.schema(table.schema().to_arrow())
    partitions = table.metadata().partition_columns
    if any(not pa.types.is_string(schema.field(p).type) for p in partitions):
        return None
    columns = ", ".join(dialect.quote_identifier(f.name) for f in schema)  # the table's order, partitions too
    return f"SELECT {columns} FROM {dialect.parquet_files(files, partitions)}"
