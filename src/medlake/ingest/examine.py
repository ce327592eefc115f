"""Judging one received record: parse, check, validate, fingerprint.

This runs in worker processes, so it takes and returns plain picklable values and keeps
no state (beyond caches of pure functions). A record either becomes a raw-layer row
(:class:`Accepted`) or a quarantine entry (:class:`Rejected`) with the stage and a reason
a data engineer can act on.

Workers judge a chunk at a time (:func:`examine_work`): an NDJSON file reaches them as
blocks of raw lines, other records as plain tuples, and the accepted rows come back as
one Arrow record batch, because making, pickling and unpickling thousands of small Python
objects each way, and turning them into columns, would otherwise keep the parent process
busier than the workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

import orjson
import pyarrow as pa

from medlake.fhir.reading import NdjsonBlock, Record, block_lines, block_records
from medlake.fhir.references import identifier_keys, reference_key
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
        last_updated=_instant(meta.get("lastUpdated")),
        content_hash=hashlib.sha256(canonical).hexdigest(),
        refs=refs,
        identifiers=identifier_keys(resource),
        resource=orjson.dumps(_type_and_id_first(resource)).decode(),
    )


#: Columns of an accepted row as a worker returns them: :class:`Accepted`'s fields, typed as
#: the raw layer stores them (the batch's constants are added by the parent).
ACCEPTED = pa.schema([RAW_RESOURCES.field(name) for name in Accepted._fields])

#: A record as it travels to a worker: ``Record``'s fields in order (a tuple pickles in C).
PackedRecord = tuple[str, int, bytes, str | None, str]


class ChunkResult(NamedTuple):
    """What a worker returns for one chunk: the accepted rows as columns, the rejects as rows."""

    received: int
    accepted: pa.RecordBatch | None
    rejected: list[Rejected]


def pack(records: list[Record]) -> list[PackedRecord]:
    return [(r.source_file, r.line, r.text, r.error, r.error_stage) for r in records]


#: What a worker is handed: a packed chunk of records, or a block of NDJSON lines to split itself.
Work = list[PackedRecord] | NdjsonBlock


def examine_work(work: Work) -> ChunkResult:
    """:func:`examine` over a chunk, in order, with the accepted rows as one record batch."""
    make = tuple.__new__
    if isinstance(work, NdjsonBlock):
        if work.first_line == -1:  # the file became unreadable: one error record
            return _judge(block_records(work))
        source = work.source_file
        return _judge(make(_Received, (source, line, text, None, "read")) for line, text in block_lines(work))
    return _judge(make(_Received, fields) for fields in work)


def _judge(records: Iterable[Record | _Received]) -> ChunkResult:
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
    batch = None
    if accepted:
        columns = zip(*accepted, strict=True)
        batch = pa.RecordBatch.from_arrays(
            [pa.array(values, type=f.type) for values, f in zip(columns, ACCEPTED, strict=True)],
            schema=ACCEPTED,
        )
    return ChunkResult(received, batch, rejected)


def _instant(value: object) -> datetime | None:
    """``meta.lastUpdated`` as an aware UTC datetime (validation already checked its format)."""
    if not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
