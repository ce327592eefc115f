"""Judging one received record: parse, check, validate, fingerprint.

This runs in worker processes, so it takes and returns plain picklable values and keeps
no state (beyond caches of pure functions); its one side effect is the file of accepted
rows it is told to write. A record either becomes a raw-layer row (:class:`Accepted`) or a
quarantine entry (:class:`Rejected`) with the stage and a reason a data engineer can act on.

Workers judge a chunk at a time (:func:`examine_work`): an NDJSON file reaches them as
blocks of raw lines, other records as plain tuples, and the worker writes the accepted rows
itself, as one local Parquet file per chunk; only counts, the rejects and the file's name go
back (a chunk with few accepted rows sends them as one Arrow record batch instead). Making,
pickling and unpickling thousands of small Python objects each way, or even sending every
row as Arrow batches for the parent to write, would otherwise keep the parent process about
as busy as the workers, on the same cores.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from medlake.fhir.instants import utc_instant
from medlake.fhir.reading import NdjsonBlock, Record, block_lines, block_records
from medlake.fhir.references import identifier_keys, reference_key
from medlake.fhir.structs import check
from medlake.fhir.validation import InvalidResource, validate_references
from medlake.ingest.schemas import RAW_RESOURCES


class Accepted(NamedTuple):
    source_file: str
    line: int
    resource_type: str
    resource_id: str
    version_id: str | None
    last_updated: datetime | None
    content_hash: str
    refs: list[str]
    identifiers: list[str]
    resource: str


class Rejected(NamedTuple):
    source_file: str
    line: int
    stage: str
    reason: str
    raw: str


Outcome = Accepted | Rejected


def _as_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class _Received(NamedTuple):
    """A packed record, unpacked in a worker: ``Record``'s fields, built far more cheaply than it."""

    source_file: str
    line: int
    text: bytes
    error: str | None
    error_stage: str


def examine(record: Record | _Received) -> Outcome:
    """Accept or reject one record; never raises for bad input."""
    if record.error is not None:
        return Rejected(
            record.source_file, record.line, record.error_stage, record.error, _as_text(record.text)
        )
    checked = check(record.text)  # the cheap path: decode and check in one pass, in C
    if checked is not None:
        return Accepted(record.source_file, record.line, *checked)
    return examine_parsed(record)


def examine_parsed(record: Record | _Received) -> Outcome:
    """The explaining path: orjson, then the fast check and the model classes, which decide
    what the msgspec check cannot vouch for and say why a record is rejected. Given the same
    line, it yields the same row as the check (``tests/fhir/test_structs.py``)."""
    try:
        resource = orjson.loads(record.text)
    except orjson.JSONDecodeError as exc:
        return Rejected(
            record.source_file, record.line, "parse", f"malformed JSON: {exc}", _as_text(record.text)
        )
    if not isinstance(resource, dict):
        kind = type(resource).__name__
        return Rejected(
            record.source_file, record.line, "parse", f"not a JSON object but {kind}", _as_text(record.text)
        )
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return Rejected(
            record.source_file, record.line, "structure", "no resourceType", _as_text(record.text)
        )
    try:
        references = validate_references(resource)  # validation collects them on its walk
    except InvalidResource as exc:
        return Rejected(record.source_file, record.line, "validation", str(exc), _as_text(record.text))
    resource_id = resource.get("id")
    if not isinstance(resource_id, str):
        reason = f"{resource_type} has no id, so it cannot be addressed or updated later"
        return Rejected(record.source_file, record.line, "structure", reason, _as_text(record.text))
    meta = resource.get("meta") or {}
    canonical = orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)
    refs = sorted({key for ref in set(references) if (key := reference_key(ref))})
    return Accepted(
        source_file=record.source_file,
        line=record.line,
        resource_type=resource_type,
        resource_id=resource_id,
        version_id=meta.get("versionId"),
        last_updated=utc_instant(updated) if isinstance(updated := meta.get("lastUpdated"), str) else None,
        content_hash=hashlib.sha256(canonical).hexdigest(),
        refs=refs,
        identifiers=identifier_keys(resource),
        resource=orjson.dumps(_type_and_id_first(resource)).decode(),
    )


CHUNK = "_chunk"  # the chunk's number in the job, in the order the chunks were handed out,
ROW = "_row"  # and the row's place in its chunk: a unique key, in the order the rows were received

#: Columns of a chunk's accepted rows as a worker gives them: :class:`Accepted`'s fields, typed
#: as the raw layer stores them, then where each row came from (the batch's constants are
#: joined to them when the group commits).
ACCEPTED = pa.schema(
    [
        *(RAW_RESOURCES.field(name) for name in Accepted._fields),
        pa.field(CHUNK, pa.int64(), nullable=False),
        pa.field(ROW, pa.int64(), nullable=False),
    ]
)

#: Columns worth a dictionary in a file of accepted rows: a handful of values each. The resource
#: text and hashes are unique per row, so trying dictionaries on them only costs CPU.
SPILL_DICTIONARY = ["source_file", "resource_type"]

#: A record as it travels to a worker: ``Record``'s fields in order (a tuple pickles in C).
PackedRecord = tuple[str, int, bytes, str | None, str]


class ChunkResult(NamedTuple):
    """What a worker returns for one chunk: counts, its accepted rows, the rejects as rows.

    The accepted rows are in the Parquet file ``spill`` when there are enough of them to be
    worth a file (see :class:`Task`), otherwise in ``rows``.
    """

    chunk: int
    received: int
    accepted: int
    spill: str | None
    rows: pa.RecordBatch | None
    rejected: list[Rejected]


def pack(records: list[Record]) -> list[PackedRecord]:
    return [(r.source_file, r.line, r.text, r.error, r.error_stage) for r in records]


#: What a worker is handed: a packed chunk of records, or a block of NDJSON lines to split itself.
Work = list[PackedRecord] | NdjsonBlock


class Task(NamedTuple):
    """One chunk of work, numbered, and where its accepted rows go.

    From ``file_rows`` accepted rows on, the worker writes them to ``spill`` itself, so the
    bulk of the data never crosses the pipe; fewer come back as a record batch, because a
    file costs more to write and read back than a few hundred rows cost to send. The caller
    picks the path, so it knows every file a worker may write and can remove them whatever
    happens.
    """

    chunk: int
    spill: str
    file_rows: int
    work: Work


def examine_work(task: Task) -> ChunkResult:
    """:func:`examine` over a chunk, in order, with the accepted rows in a file or a record batch."""
    make = tuple.__new__
    work = task.work
    if isinstance(work, NdjsonBlock):
        if work.first_line == -1:  # the file became unreadable: one error record
            return _judge(block_records(work), task)
        source = work.source_file
        records = (make(_Received, (source, line, text, None, "read")) for line, text in block_lines(work))
        return _judge(records, task)
    return _judge((make(_Received, fields) for fields in work), task)


def _judge(records: Iterable[Record | _Received], task: Task) -> ChunkResult:
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    received = 0
    for record in records:
        received += 1
        outcome = examine(record)
        if type(outcome) is Accepted:
            accepted.append(outcome)
        else:
            rejected.append(outcome)  # type: ignore[arg-type]
    count = len(accepted)
    if not count:
        return ChunkResult(task.chunk, received, 0, None, None, rejected)
    columns = zip(*accepted, strict=True)  # Accepted's fields: the first ones of ACCEPTED
    arrays = [pa.array(values, type=f.type) for values, f in zip(columns, ACCEPTED, strict=False)]
    arrays.append(pa.repeat(pa.scalar(task.chunk, pa.int64()), count))
    arrays.append(pa.array(range(count), pa.int64()))
    batch = pa.RecordBatch.from_arrays(arrays, schema=ACCEPTED)
    if count < task.file_rows:
        return ChunkResult(task.chunk, received, count, None, batch, rejected)
    # a local scratch file read once: not compressing it saves more CPU than the bigger file
    # costs; written under another name first, so a file under its own name is always whole
    partial = f"{task.spill}.part"
    pq.write_table(
        pa.Table.from_batches([batch]), partial, compression="none", use_dictionary=SPILL_DICTIONARY
    )
    os.replace(partial, task.spill)
    return ChunkResult(task.chunk, received, count, task.spill, None, rejected)


def _type_and_id_first(resource: dict) -> dict:
    """The same resource with ``resourceType`` and ``id`` as its first keys.

    Key order carries no meaning in JSON; putting these two first lets later layers find
    them at a fixed place in the text without parsing it (see ``layers.namespacing``).
    """
    keys = iter(resource)
    if next(keys) == "resourceType" and next(keys) == "id":
        return resource  # already so (as most senders write it): no copy
    head = {"resourceType": resource["resourceType"], "id": resource["id"]}
    return head | {k: v for k, v in resource.items() if k not in head}
