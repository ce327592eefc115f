"""Data files written beside deltalake's writer, then added to their table by one commit.

Ingest's workers write the raw layer's Parquet files themselves, in parallel, where the
table keeps its data; the parent process only decides which of them to keep and adds them
in one Delta transaction (:meth:`medlake.lake.Lake.commit_files`), the way Spark's
executors write files that its driver commits. So the bulk of the data is encoded and
compressed once, by the processes that made it, and never passes through the parent.

A file no commit names is not part of the table: a crash leaves at most such files, which
``Lake.vacuum`` removes.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake.fs import DeltaStorageHandler

#: What deltalake's writer uses: fast to write and to read, and every reader has it.
COMPRESSION = "snappy"


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def local_path(uri: str) -> str:
    return uri.removeprefix("file://") if is_local(uri) else uri


@dataclass(frozen=True)
class DataFile:
    """A Parquet file of a table's rows that a commit may add (Delta's ``add`` action, in short)."""

    path: str  # relative to the table root: ``<column>=<value>/…/part-….parquet``
    partition: tuple[tuple[str, str], ...]
    size: int
    rows: int
    stats: str  # Delta's per-file statistics, as JSON


@dataclass(frozen=True)
class FileTarget:
    """Where the files of one partition of a table go: enough to write them in another process."""

    table_uri: str
    storage_options: tuple[tuple[str, str], ...]
    partition: tuple[tuple[str, str], ...]

    @property
    def directory(self) -> str:
        return "/".join(f"{column}={value}" for column, value in self.partition)


@cache
def _filesystem(table_uri: str, storage_options: tuple[tuple[str, str], ...]) -> tuple[pafs.FileSystem, str]:
    """A filesystem and the table root's path in it; once per process and table.

    Local tables get pyarrow's own filesystem (no detour through Python); object stores get
    deltalake's handler, so the files reach the store the table's log is on with the same
    options.
    """
    if is_local(table_uri):
        return pafs.LocalFileSystem(), local_path(table_uri).rstrip("/")
    handler = DeltaStorageHandler(table_uri, dict(storage_options) or None)
    return pafs.PyFileSystem(handler), ""


def _full_path(target: FileTarget, relative: str) -> tuple[pafs.FileSystem, str]:
    filesystem, root = _filesystem(target.table_uri, target.storage_options)
    return filesystem, f"{root}/{relative}" if root else relative


def write_data_file(
    target: FileTarget,
    name: str,
    table: pa.Table | pa.RecordBatch,
    *,
    dictionary: list[str],
    no_stats: set[str],
) -> DataFile:
    """Write ``table`` (the table's columns less the partition ones) as file ``name`` of the partition.

    ``dictionary`` names the columns worth a dictionary (a handful of values each); the
    columns in ``no_stats`` (long texts) get no statistics, as nothing is ever skipped on them.
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    relative = f"{target.directory}/{name}"
    filesystem, path = _full_path(target, relative)
    if is_local(target.table_uri):
        filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    pq.write_table(
        table,
        path,
        filesystem=filesystem,
        compression=COMPRESSION,
        use_dictionary=dictionary,
        write_statistics=[name for name in table.column_names if name not in no_stats],
    )
    size = filesystem.get_file_info(path).size
    return DataFile(relative, target.partition, size, table.num_rows, file_stats(table, no_stats))


def read_data_file(target: FileTarget, file: DataFile) -> pa.Table:
    filesystem, path = _full_path(target, file.path)
    return pq.read_table(path, filesystem=filesystem)


def delete_data_file(target: FileTarget, relative: str) -> None:
    """Remove a file no commit names (missing is fine: it may never have been written)."""
    filesystem, path = _full_path(target, relative)
    with contextlib.suppress(FileNotFoundError):
        filesystem.delete_file(path)


def file_stats(table: pa.Table, no_stats: set[str]) -> str:
    """Delta's statistics of a file: rows, and per scalar column its minimum, maximum and nulls.

    Timestamps are kept to milliseconds, as Delta's readers expect: the minimum rounded
    down and the maximum up, so both still bound every value.
    """
    minimum: dict[str, object] = {}
    maximum: dict[str, object] = {}
    nulls: dict[str, int] = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        scalar = pa.types.is_string(kind) or pa.types.is_integer(kind) or pa.types.is_timestamp(kind)
        if field.name in no_stats or not scalar:
            continue
        nulls[field.name] = column.null_count
        if column.null_count == len(column):
            continue
        low, high = pc.min_max(column).values()
        if pa.types.is_timestamp(kind):
            minimum[field.name] = _milliseconds(low.value, kind.unit, round_up=False)
            maximum[field.name] = _milliseconds(high.value, kind.unit, round_up=True)
        else:
            minimum[field.name], maximum[field.name] = low.as_py(), high.as_py()
    stats = {"numRecords": table.num_rows, "minValues": minimum, "maxValues": maximum, "nullCount": nulls}
    return json.dumps(stats, separators=(",", ":"))


_PER_MILLISECOND = {"s": (1_000, 1), "ms": (1, 1), "us": (1, 1_000), "ns": (1, 1_000_000)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _milliseconds(value: int, unit: str, round_up: bool) -> str:
    times, per = _PER_MILLISECOND[unit]
    millis = value * times // per if not round_up else -(-value * times // per)
    instant = _EPOCH + timedelta(milliseconds=millis)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1_000:03d}Z"
