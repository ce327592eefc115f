"""Rejected rows of a group, spilled to a local Parquet file as they come, for the quarantine's commit."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from medlake.ingest.examine import Rejected

_SPILL_DICTIONARY = {"institution", "batch_id", "source_file", "stage"}


class QuarantineSpill:
    """Rejected rows written to a local Parquet file as they come, so memory stays flat.

    The batch's constants (institution, batch id, received time) become columns here.
    """

    FLUSH_ROWS = 10_000

    def __init__(self, path: Path, schema: pa.Schema, institution: str) -> None:
        self.path, self.schema, self.institution = path, schema, institution
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[tuple[Rejected, dict]] = []
        self.count = 0

    def add(self, outcome: Rejected, constants: dict) -> None:
        self.pending.append((outcome, constants))
        self.count += 1
        if len(self.pending) >= self.FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        rows, self.pending = self.pending, []
        fields = rows[0][0]._fields
        data: dict[str, list] = {name: [getattr(row, name) for row, _ in rows] for name in fields}
        data["institution"] = [self.institution] * len(rows)
        for name in rows[0][1]:
            data[name] = [constants[name] for _, constants in rows]
        table = pa.table({f.name: data[f.name] for f in self.schema}, schema=self.schema)
        if self.writer is None:
            # a local scratch file read once: not compressing it (nor trying dictionaries on the
            # raw text) saves more CPU than the bigger file costs
            small = [f.name for f in self.schema if f.name in _SPILL_DICTIONARY]
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="none", use_dictionary=small)
        self.writer.write_table(table)

    def close(self) -> None:
        self._flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
