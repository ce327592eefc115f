"""Judging one received record: parse, check, validate, fingerprint.

This runs in worker processes, so it takes and returns plain picklable values and keeps
no state (beyond caches of pure functions); its one side effect is the data file of accepted
rows it is told to write. A record either becomes a raw-layer row (:class:`Accepted`) or a
quarantine entry (:class:`Rejected`) with the stage and a reason a data engineer can act on.

Workers judge a chunk at a time (:func:`examine_work`): an NDJSON file reaches them as
spans of lines they read from the file themselves (a gzip file or a Bundle as plain tuples of
records), and the worker writes the accepted rows itself, as a data file of the raw layer
(compressed, in the table's folder, committed later by the parent); only counts, the rows'
keys, their references, the rejects and the file's description go back (a chunk with few
accepted rows sends them as one Arrow record batch instead). Making, pickling and unpickling
thousands of small Python objects each way, or sending every row for the parent to
de-duplicate and write, would otherwise keep the parent process about as busy as the
workers, on the same cores.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from medlake.fhir.instants import utc_instant
from medlake.fhir.json_keys import describe as describe_repeats
from medlake.fhir.json_keys import may_repeat_keys, repeated_keys
from medlake.fhir.reading import (
    KEPT_PREFIX,
    NdjsonBlock,
    NdjsonSpan,
    Record,
    block_lines,
    block_records,
    oversized_line,
    read_span,
    too_long,
)
from medlake.fhir.references import identifier_keys, reference_key
from medlake.fhir.structs import Checked, check
from medlake.fhir.validation import InvalidResource, validate_references
from medlake.lake.files import DataFile, FileTarget, write_data_file
from medlake.lake.tables import RAW_RESOURCES_SCHEMA, TIMESTAMP

#: ``ingest_max_resource_bytes``'s default: a record larger than this is not parsed.
DEFAULT_MAX_RESOURCE = 16 * 1024 * 1024


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
    """A quarantine entry: ``raw`` is the record's text, or (``raw_encoding`` ``base64``) the
    base64 of its bytes when they are not UTF-8, so the original survives exactly."""

    source_file: str
    line: int
    stage: str
    reason: str
    raw: str
    raw_encoding: str | None = None


Outcome = Accepted | Rejected


def rejected(source_file: str, line: int, stage: str, reason: str, data: bytes) -> Rejected:
    """The quarantine entry for ``data``: as text if it is UTF-8, else its exact bytes in base64."""
    try:
        return Rejected(source_file, line, stage, reason, data.decode("utf-8"))
    except UnicodeDecodeError:
        return Rejected(source_file, line, stage, reason, base64.b64encode(data).decode(), "base64")


def not_utf8(data: bytes) -> str | None:
    """Why ``data`` is not UTF-8 (``not UTF-8 at byte N …``), or None if it is."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = ""
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:64]:
            hint = "; it looks like UTF-16: export as UTF-8"
        elif exc.reason in ("invalid start byte", "invalid continuation byte"):
            hint = "; perhaps Latin-1 or Windows-1252: export as UTF-8"
        return (
            f"not UTF-8 at byte {exc.start} (0x{data[exc.start]:02x}: {exc.reason}){hint}; "
            "FHIR JSON is UTF-8 (the quarantine keeps the original bytes, base64)"
        )
    return None


def too_large(record: Record | _Received, limit: int) -> Rejected:
    """A record over ``ingest_max_resource_bytes``: quarantined by its first bytes, never parsed."""
    reason = too_long("a record", len(record.text), limit, "ingest_max_resource_bytes")
    return rejected(record.source_file, record.line, "read", reason, record.text[:KEPT_PREFIX])


class _Received(NamedTuple):
    """A packed record, unpacked in a worker: ``Record``'s fields, built far more cheaply than it."""

    source_file: str
    line: int
    text: bytes
    error: str | None
    error_stage: str


def examine(record: Record | _Received, max_bytes: int = DEFAULT_MAX_RESOURCE) -> Outcome:
    """Accept or reject one record; never raises for bad input."""
    if record.error is not None:
        return rejected(record.source_file, record.line, record.error_stage, record.error, record.text)
    if len(record.text) > max_bytes:
        return too_large(record, max_bytes)
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
        reason = not_utf8(record.text) or f"malformed JSON: {exc}"
        return rejected(record.source_file, record.line, "parse", reason, record.text)
    if not isinstance(resource, dict):
        kind = type(resource).__name__
        return rejected(
            record.source_file, record.line, "parse", f"not a JSON object but {kind}", record.text
        )
    if may_repeat_keys(record.text, orjson.dumps(resource)) and (repeated := repeated_keys(record.text)):
        return rejected(record.source_file, record.line, "parse", describe_repeats(repeated), record.text)
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return rejected(record.source_file, record.line, "structure", "no resourceType", record.text)
    try:
        references = validate_references(resource)  # validation collects them on its walk
    except InvalidResource as exc:
        return rejected(record.source_file, record.line, "validation", str(exc), record.text)
    resource_id = resource.get("id")
    if not isinstance(resource_id, str):
        reason = f"{resource_type} has no id, so it cannot be addressed or updated later"
        return rejected(record.source_file, record.line, "structure", reason, record.text)
    meta = resource.get("meta") or {}
    updated = meta.get("lastUpdated")
    try:
        last_updated = utc_instant(updated) if isinstance(updated, str) else None
    except OverflowError:
        reason = (
            f"meta.lastUpdated {updated!r} falls outside the years 1 to 9999 once in UTC, "
            "so this version cannot be ordered against the others"
        )
        return rejected(record.source_file, record.line, "validation", reason, record.text)
    text = orjson.dumps(_type_and_id_first(resource))
    refs = sorted({key for ref in set(references) if (key := reference_key(ref))})
    return Accepted(
        source_file=record.source_file,
        line=record.line,
        resource_type=resource_type,
        resource_id=resource_id,
        version_id=meta.get("versionId"),
        last_updated=last_updated,
        content_hash=hashlib.sha256(text).hexdigest(),
        refs=refs,
        identifiers=identifier_keys(resource),
        resource=text.decode(),
    )


CHUNK = "_chunk"  # the chunk's number in the job, in the order the chunks were handed out,
ROW = "_row"  # and the row's place in its chunk: a unique key, in the order the rows were received

#: The raw layer's columns as its data files hold them (``institution`` is the partition's).
RAW_FILE = pa.schema([f for f in RAW_RESOURCES_SCHEMA if f.name != "institution"])
#: Columns worth a dictionary in a data file: a handful of values each. The resource text and
#: hashes are unique per row, so trying dictionaries on them only costs CPU.
FILE_DICTIONARY = ["batch_id", "source_file", "received_at", "resource_type", "version_id"]
#: Columns without file statistics: no query skips files on the text (nor could on a list).
NO_STATS = {"resource"}
#: What the parent needs of each accepted row to find repeated content and resolve references
#: to it: its key, in order.
KEYS = pa.schema(
    [
        RAW_RESOURCES_SCHEMA.field("resource_type"),
        RAW_RESOURCES_SCHEMA.field("resource_id"),
        RAW_RESOURCES_SCHEMA.field("content_hash"),
        RAW_RESOURCES_SCHEMA.field("line"),
    ]
)

#: A record as it travels to a worker: ``Record``'s fields in order (a tuple pickles in C).
PackedRecord = tuple[str, int, bytes, str | None, str]


class ChunkResult(NamedTuple):
    """What a worker returns for one chunk: counts, where its accepted rows are, and the rejects.

    The accepted rows are a data file of the raw layer (``file``, not committed yet) when
    there are enough of them to be worth a file (see :class:`Task`), otherwise they come
    back as ``rows``. ``keys`` holds :data:`KEYS` of every accepted row, in order, and
    ``refs`` the distinct reference keys they make, so the parent never reads the rows.
    """

    chunk: int
    received: int
    accepted: int
    file: DataFile | None
    rows: pa.RecordBatch | None
    keys: pa.RecordBatch | None
    refs: pa.Array | None
    rejected: list[Rejected]


def pack(records: list[Record]) -> list[PackedRecord]:
    return [(r.source_file, r.line, r.text, r.error, r.error_stage) for r in records]


#: What a worker is handed: a packed chunk of records, or a span (or block) of NDJSON lines to read
#: and split itself.
Work = list[PackedRecord] | NdjsonSpan | NdjsonBlock | Record


class Destination(NamedTuple):
    """The batch a chunk belongs to, and the raw layer's partition its rows go to."""

    batch_id: str
    received_at: datetime
    target: FileTarget


class Task(NamedTuple):
    """One chunk of work, numbered, and where its accepted rows go.

    From ``file_rows`` accepted rows on, the worker writes them as the data file ``file_name``
    of the destination's partition itself, so the bulk of the data never crosses the pipe;
    fewer come back as a record batch, because a file costs more to write and read back than
    a few hundred rows cost to send. The caller picks the name, so it knows every file a
    worker may write and can remove those no commit took, whatever happens.
    """

    chunk: int
    file_name: str
    file_rows: int
    destination: Destination
    work: Work
    max_resource: int = DEFAULT_MAX_RESOURCE


def examine_work(task: Task) -> ChunkResult:
    """:func:`examine` over a chunk, in order, with the accepted rows in a file or a record batch."""
    work = task.work
    if isinstance(work, Record):  # one record the reader made itself (an oversized line)
        return _judge([work], task)
    if isinstance(work, NdjsonSpan):
        work = read_span(work)
    if isinstance(work, NdjsonBlock):
        if work.first_line == -1:  # the file became unreadable: one error record
            return _judge(block_records(work), task)
        return _judge_lines(work, task)
    make = tuple.__new__
    return _judge((make(_Received, fields) for fields in work), task)


def _judge_lines(block: NdjsonBlock, task: Task) -> ChunkResult:
    """:func:`examine` over a block's lines, for the common case made lean: no record object per
    line, and the check's values go straight to the columns (every line has the block's file)."""
    source = block.source_file
    lines: list[int] = []
    rows: list[tuple] = []
    rejected: list[Rejected] = []
    max_line, max_resource = block.max_line, task.max_resource
    for line, text in block_lines(block):
        if len(text) > max_line or len(text) > max_resource:  # rare: two comparisons per line
            if len(text) > max_line:
                outcome = examine(oversized_line(source, line, text, len(text), max_line))
            else:
                outcome = too_large(_Received(source, line, text, None, "read"), max_resource)
            rejected.append(outcome)  # type: ignore[arg-type]
            continue
        checked = check(text)
        if checked is None:  # what the check cannot vouch for: the explaining path decides
            outcome = examine_parsed(_Received(source, line, text, None, "read"))
            if type(outcome) is Rejected:
                rejected.append(outcome)
                continue
            checked = outcome[2:]  # Accepted's fields after the source: Checked's
        lines.append(line)
        rows.append(checked)
    return _result(task, len(lines) + len(rejected), source, lines, rows, rejected)


def _judge(records: Iterable[Record | _Received], task: Task) -> ChunkResult:
    sources: list[str] = []
    lines: list[int] = []
    rows: list[tuple] = []
    rejected: list[Rejected] = []
    received = 0
    for record in records:
        received += 1
        outcome = examine(record, task.max_resource)
        if type(outcome) is Accepted:
            sources.append(outcome.source_file)
            lines.append(outcome.line)
            rows.append(outcome[2:])
        else:
            rejected.append(outcome)  # type: ignore[arg-type]
    return _result(task, received, sources, lines, rows, rejected)


def _result(
    task: Task,
    received: int,
    sources: str | list[str],
    lines: list[int],
    rows: list[tuple],
    rejected: list[Rejected],
) -> ChunkResult:
    """The chunk's accepted rows (``sources``: each row's file, or the one file of all) as columns,
    written as a data file or kept as a record batch, with their keys and references."""
    count = len(rows)
    if not count:
        return ChunkResult(task.chunk, received, 0, None, None, None, None, rejected)
    destination = task.destination
    arrays = {
        "batch_id": pa.repeat(pa.scalar(destination.batch_id, pa.string()), count),
        "received_at": pa.repeat(pa.scalar(destination.received_at, TIMESTAMP), count),
        "source_file": (
            pa.repeat(pa.scalar(sources, pa.string()), count)
            if isinstance(sources, str)
            else pa.array(sources, pa.string())
        ),
        "line": pa.array(lines, RAW_FILE.field("line").type),
    }
    for name, values in zip(Checked._fields, zip(*rows, strict=True), strict=True):
        if name == "last_updated":
            arrays[name] = _timestamps(values)
        else:
            arrays[name] = pa.array(values, type=RAW_FILE.field(name).type)
    batch = pa.RecordBatch.from_arrays([arrays[f.name] for f in RAW_FILE], schema=RAW_FILE)
    keys = pa.RecordBatch.from_arrays([arrays[f.name] for f in KEYS], schema=KEYS)
    refs = pc.unique(pc.list_flatten(arrays["refs"]))
    if count < task.file_rows:
        return ChunkResult(task.chunk, received, count, None, batch, keys, refs, rejected)
    file = write_data_file(
        destination.target, task.file_name, batch, dictionary=FILE_DICTIONARY, no_stats=NO_STATS
    )
    return ChunkResult(task.chunk, received, count, file, None, keys, refs, rejected)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@lru_cache(maxsize=1 << 14)  # as ``utc_instant``: an export stamps many resources alike
def _epoch_micros(instant: datetime) -> int:
    return (instant - _EPOCH) // _MICROSECOND


def _timestamps(values: Iterable[datetime | None]) -> pa.Array:
    """Aware datetimes as a TIMESTAMP column: Arrow asks each one for its UTC offset in Python,
    at about ten times the cost of a cached subtraction and a cast of plain integers."""
    micros = [None if value is None else _epoch_micros(value) for value in values]
    return pa.array(micros, pa.int64()).cast(TIMESTAMP)


def _type_and_id_first(resource: dict) -> dict:
    """The same resource with ``resourceType`` and ``id`` as its first keys.

    Key order carries no meaning in JSON; putting these two first lets later layers find
    them at a fixed place in the text without parsing it (see ``build.namespacing``).
    """
    keys = iter(resource)
    if next(keys) == "resourceType" and next(keys) == "id":
        return resource  # already so (as most senders write it): no copy
    head = {"resourceType": resource["resourceType"], "id": resource["id"]}
    return head | {k: v for k, v in resource.items() if k not in head}
