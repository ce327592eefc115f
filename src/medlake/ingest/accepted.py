"""A group's accepted rows: the workers' data files, the rows of small chunks, every row's key."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from medlake.ingest.examine import CHUNK, FILE_DICTIONARY, NO_STATS, ROW, ChunkResult
from medlake.ingest.key_queries import SEQ
from medlake.ingest.written import WrittenFiles
from medlake.lake.files import DataFile, FileTarget, read_data_file, write_data_file


class AcceptedRows:
    """The group's accepted rows: the data files the workers wrote, one per chunk, the rows of
    small chunks (written as one file here), and every row's key and references.

    Only the keys are looked at before the commit: files are read back only if some of their
    rows repeat content already sent, which is rare.
    """

    def __init__(self, target: FileTarget, written: WrittenFiles, serial: int) -> None:
        self.target, self.written, self.serial = target, written, serial
        self.files: dict[int, DataFile] = {}  # chunk → its file
        self.small: list[tuple[int, pa.RecordBatch]] = []  # chunk → its rows, for chunks without a file
        self.keys: list[pa.RecordBatch] = []  # KEYS + chunk, row, seq and batch of every row, in order
        self.refs: dict[str, list[pa.Array]] = {}  # batch → distinct reference keys per chunk
        self.count = 0

    def add(self, result: ChunkResult, batch_id: str, seq: int) -> None:
        if result.file is None:  # the worker wrote nothing under the name it was given
            self.written.settle([f"{self.target.directory}/{self.written.name(result.chunk, 'c000')}"])
        if not result.accepted:
            return
        self.count += result.accepted
        if result.file is not None:
            self.files[result.chunk] = result.file
        elif result.rows is not None:
            self.small.append((result.chunk, result.rows))
        keys, rows = result.keys, result.accepted
        assert keys is not None and result.refs is not None
        extra = {
            CHUNK: pa.repeat(pa.scalar(result.chunk, pa.int64()), rows),
            ROW: pa.array(range(rows), pa.int64()),
            SEQ: pa.repeat(pa.scalar(seq, pa.int64()), rows),
            "batch_id": pa.repeat(pa.scalar(batch_id, pa.string()), rows),
        }
        self.keys.append(
            pa.RecordBatch.from_arrays(
                [*keys.columns, *extra.values()], names=[*keys.schema.names, *extra.keys()]
            )
        )
        self.refs.setdefault(batch_id, []).append(result.refs)

    def key_table(self) -> pa.Table:
        return pa.Table.from_batches(self.keys)

    def references(self) -> pa.Table:
        """Distinct (batch id, reference key) over the group's accepted rows."""
        batches, refs = [], []
        for batch_id, arrays in self.refs.items():
            values = pc.unique(pa.chunked_array(arrays, pa.string()))
            refs.append(values)
            batches.append(pa.repeat(pa.scalar(batch_id, pa.string()), len(values)))
        if not refs:
            return pa.table({"batch_id": pa.array([], pa.string()), "ref": pa.array([], pa.string())})
        return pa.table({"batch_id": pa.concat_arrays(batches), "ref": pa.concat_arrays(refs)})

    def keep(self, repeated: dict[int, pa.Array]) -> list[DataFile]:
        """The files to commit, without the ``repeated`` rows (chunk → row numbers), in order.

        Files holding repeated rows are written again without them and the originals removed;
        the rows of small chunks become one file.
        """
        keep: list[DataFile] = []
        for chunk in sorted(self.files):
            file = self.files[chunk]
            if chunk not in repeated:
                keep.append(file)
                continue
            rows = read_data_file(self.target, file)
            left = rows.filter(_unmarked(rows.num_rows, repeated[chunk]))
            if left.num_rows:
                keep.append(self._write(left, self.written.name(chunk, "c001")))
            self.written.remove([file.path])
        tables = [
            pa.Table.from_batches([rows]).filter(_unmarked(rows.num_rows, repeated[chunk]))
            if chunk in repeated
            else pa.Table.from_batches([rows])
            for chunk, rows in self.small
        ]
        if tables and (left := pa.concat_tables(tables)).num_rows:
            keep.append(self._write(left, self.written.name(self.serial, "s000")))
        return keep

    def _write(self, rows: pa.Table, name: str) -> DataFile:
        self.written.expect(self.target, name)
        return write_data_file(self.target, name, rows, dictionary=FILE_DICTIONARY, no_stats=NO_STATS)

    def discard(self) -> None:
        """Remove the group's files that no commit took (all of them if none was needed)."""
        self.written.remove([file.path for file in self.files.values()])


def _unmarked(rows: int, marked: pa.Array) -> pa.Array:
    """A filter keeping the rows whose numbers are not in ``marked``."""
    return pc.invert(pc.is_in(pa.array(range(rows), pa.int64()), value_set=marked))
