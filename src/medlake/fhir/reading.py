"""Turning files into records: one record per received resource.

NDJSON files (``.ndjson`` or ``.jsonl``, optionally gzip-compressed; names in any case) give
one record per non-blank line; a JSON file holds either one resource or a Bundle.
Transaction, batch, collection and searchset Bundles are unpacked entry by entry, the way
a FHIR server processes a transaction:
``urn:uuid:`` references between entries are resolved to ``Type/id``, and an entry with no
``id`` takes the one its ``fullUrl`` names. Document and message Bundles are kept whole.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import orjson

from medlake.fhir.json_keys import describe as describe_repeats
from medlake.fhir.json_keys import may_repeat_keys, repeated_keys
from medlake.fhir.references import rewrite_references

UNPACKED_BUNDLE_TYPES = {
    "transaction",
    "batch",
    "collection",
    "searchset",
    "transaction-response",
    "batch-response",
}
#: The FHIR file names taken, compared in lower case (``B.NDJSON`` is an NDJSON file).
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz", ".json", ".json.gz")
MIB = 1024 * 1024


class Limits(NamedTuple):
    """How much one file may hold, enforced while reading (settings ``ingest_max_*``).

    ``line``: bytes of one NDJSON line; a longer line is quarantined by its first bytes
    and never held whole. ``file``: bytes a gzip file may expand to; what lies beyond is one
    quarantined record. ``document``: bytes of a file read whole (a JSON Bundle).
    """

    line: int = 16 * MIB
    file: int = 4 * 1024 * MIB
    document: int = 256 * MIB


DEFAULT_LIMITS = Limits()
#: Bytes of an oversized line or document kept in the quarantine (enough to tell what it was).
KEPT_PREFIX = 4096


def is_ndjson(path: Path) -> bool:
    """Whether ``path`` names an NDJSON file (compressed or not), whatever the case of its name."""
    return path.name.lower().removesuffix(".gz").endswith(NDJSON_SUFFIXES)


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def too_long(what: str, size: int | str, limit: int, setting: str) -> str:
    """The quarantine reason for input over a size limit (the record keeps its first bytes)."""
    return (
        f"{what} of {size} bytes exceeds the limit of {limit} bytes ({setting}): not read further; "
        f"the quarantine keeps its first {KEPT_PREFIX} bytes"
    )


@dataclass(frozen=True, slots=True)
class Record:
    """One received item: where it came from and its bytes, before any judgement.

    ``source_file`` names where it came from (a file path, or a source URI for messages and
    tables) and ``line`` its position there. Sources that convert other formats to FHIR
    set ``error`` (and ``error_stage``, e.g. ``convert``) for items they could not convert,
    with ``text`` holding the original item so the quarantine keeps it.
    """

    source_file: str
    line: int
    text: bytes
    error: str | None = None
    error_stage: str = "read"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")  # type: ignore[return-value]


def read_records(path: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[Record]:
    """Records of one file; streamed for NDJSON, whole-file for JSON (a Bundle is one document)."""
    if is_ndjson(path):
        yield from _read_ndjson(path, limits)
    else:
        yield from _read_json(path, limits)


class NdjsonBlock(NamedTuple):
    """Whole lines of an NDJSON file, the first of them numbered ``first_line``, still as bytes.

    Splitting them into records (:func:`block_records`) is left to whoever judges them, so a
    process handing files to workers only reads bytes and counts newlines.
    """

    source_file: str
    first_line: int
    data: bytes
    max_line: int = DEFAULT_LIMITS.line


class NdjsonSpan(NamedTuple):
    """Whole lines of an uncompressed NDJSON file by position: ``length`` bytes from ``offset``.

    A worker reads its span itself (:func:`read_span`), so the file's bytes never cross a pipe:
    the process that hands out the work only finds where blocks of lines begin and end.
    """

    source_file: str
    first_line: int
    offset: int
    length: int
    max_line: int = DEFAULT_LIMITS.line


def ndjson_spans(
    path: Path,
    lines: int,
    read_size: int = 1 << 22,
    digest: hashlib._Hash | None = None,
    max_line: int = DEFAULT_LIMITS.line,
) -> Iterator[NdjsonSpan | NdjsonBlock | Record]:
    """An uncompressed NDJSON file as spans of ``lines`` lines (some may hold fewer).

    ``block_records(read_span(…))`` over them (and the records among them) gives exactly the
    records :func:`read_records` gives. A line longer than ``max_line`` is never held whole: once
    the part read exceeds the limit, the lines before it go as a span, the line itself as an
    error :class:`Record` with its first bytes, and the rest of it is skipped. Lines waiting for a
    span are handed over early when they add up to more than :data:`PENDING_BYTES`, so memory
    stays bounded whatever the lines' lengths. If the file cannot be read to its end, the lines
    read so far come as a block with their bytes, then an error block (``first_line`` -1), as
    reading line by line reports it. ``digest``, if given, is fed every byte read, so one pass
    also fingerprints the file.
    """
    source, number, pending, offset = str(path), 1, b"", 0  # offset: where ``pending`` starts
    skipped, prefix = 0, b""  # inside an oversized line: its bytes so far, and the first of them
    try:
        with path.open("rb") as handle:
            while data := handle.read(read_size):
                if digest is not None:
                    digest.update(data)
                if skipped:  # the rest of an oversized line: skip to its end
                    end = data.find(b"\n") + 1
                    if not end:
                        skipped, offset = skipped + len(data), offset + len(data)
                        continue
                    yield oversized_line(source, number, prefix, skipped + end - 1, max_line)
                    number, skipped, offset, data = number + 1, 0, offset + end, data[end:]
                buffer, start = pending + data, 0
                while True:
                    end = start
                    for _ in range(lines):
                        end = buffer.find(b"\n", end) + 1
                        if not end:
                            break
                    if not end:
                        break
                    yield NdjsonSpan(source, number, offset + start, end - start, max_line)
                    number, start = number + lines, end
                pending, offset = buffer[start:], offset + start
                whole = pending.rfind(b"\n") + 1  # the whole lines waiting, then a partial one
                if len(pending) - whole > max_line or len(pending) > PENDING_BYTES:
                    if whole:
                        yield NdjsonSpan(source, number, offset, whole, max_line)
                        number += pending.count(b"\n", 0, whole)
                    if len(pending) - whole > max_line:
                        skipped, prefix = len(pending) - whole, pending[whole : whole + KEPT_PREFIX]
                        pending, offset = b"", offset + len(pending)
                    else:
                        pending, offset = pending[whole:], offset + whole
    except OSError as exc:  # what was read stands, as when reading line by line
        if pending:
            yield NdjsonBlock(source, number, pending, max_line)
        yield NdjsonBlock(source, -1, f"unreadable file after the last good line: {exc}".encode(), max_line)
        return
    if skipped:
        yield oversized_line(source, number, prefix, skipped, max_line)
    elif pending:
        yield NdjsonSpan(source, number, offset, len(pending), max_line)


#: Bytes of whole lines the splitter keeps before handing them over as a (shorter) span.
PENDING_BYTES = 64 * MIB


def oversized_line(source: str, number: int, prefix: bytes, size: int, max_line: int) -> Record:
    """The error record for line ``number``, of ``size`` bytes, over the limit: its first bytes kept."""
    reason = too_long(f"line {number}", size, max_line, "ingest_max_line_bytes")
    return Record(source, number, prefix[:KEPT_PREFIX], error=reason)


def read_span(work: NdjsonSpan | NdjsonBlock) -> NdjsonBlock:
    """The span's lines as a block (a block is returned as it is); an error block if the
    file can no longer be read there, or was cut short since it was split."""
    if isinstance(work, NdjsonBlock):
        return work
    source = work.source_file
    try:
        with open(source, "rb") as handle:
            handle.seek(work.offset)
            data = handle.read(work.length)
    except OSError as exc:
        return NdjsonBlock(source, -1, f"unreadable file from line {work.first_line}: {exc}".encode())
    if len(data) != work.length:
        return NdjsonBlock(
            source, -1, f"the file was cut short while read, at line {work.first_line}".encode()
        )
    return NdjsonBlock(source, work.first_line, data, work.max_line)


def block_records(block: NdjsonBlock) -> Iterator[Record]:
    """The records of one block: one per non-blank line, as :func:`read_records` makes them."""
    if block.first_line == -1:
        yield Record(block.source_file, -1, b"", error=block.data.decode())
        return
    for line, text in block_lines(block):
        if len(text) > block.max_line:
            yield oversized_line(block.source_file, line, text, len(text), block.max_line)
        else:
            yield Record(block.source_file, line, text)


def block_lines(block: NdjsonBlock) -> Iterator[tuple[int, bytes]]:
    """(line number, text) of each non-blank line of a block (not of an error block).

    A line longer than the block's ``max_line`` comes unstripped, whole: the caller sees its
    length is over the limit (a stripped line never is) and quarantines it.
    """
    first, limit = block.first_line, block.max_line
    lines = block.data.split(b"\n")
    if lines[-1] == b"":  # the block ends with a newline: nothing follows it
        lines.pop()
    for offset, line in enumerate(lines):
        if len(line) > limit:
            yield first + offset, line
            continue
        text = line.strip()
        if text:
            yield first + offset, text.lstrip(b"\xef\xbb\xbf")


def _read_ndjson(path: Path, limits: Limits) -> Iterator[Record]:
    """Line by line, each line read up to the limit only (an oversized one is skipped to its end),
    and a gzip file no further than it may expand."""
    source, number, expanded, compressed = str(path), 0, 0, is_gzip(path)
    try:
        with _open(path) as handle:
            while line := handle.readline(limits.line + 1):
                number += 1
                expanded += len(line)
                if len(line) > limits.line and not line.endswith(b"\n"):
                    size = len(line) + _skip_line(handle, limits.file - expanded if compressed else None)
                    expanded += size - len(line)
                    record = oversized_line(source, number, line, size, limits.line)
                else:
                    text = line.strip()
                    record = Record(source, number, text.lstrip(b"\xef\xbb\xbf")) if text else None
                if compressed and expanded > limits.file:
                    reason = (
                        f"the file expands to more than {limits.file} bytes (ingest_max_file_bytes): "
                        f"lines from {number} on are not read"
                    )
                    yield Record(source, number, b"", error=reason)
                    return
                if record is not None:
                    yield record
    except (OSError, EOFError) as exc:  # e.g. a truncated gzip stream: what was read stands
        yield Record(source, -1, b"", error=f"unreadable file after the last good line: {exc}")


def _skip_line(handle: io.BufferedIOBase, budget: int | None) -> int:
    """Read past the rest of a line (at most ``budget`` bytes more, if given); the bytes skipped."""
    skipped = 0
    while budget is None or skipped <= budget:
        piece = handle.readline(MIB)
        skipped += len(piece)
        if not piece or piece.endswith(b"\n"):
            return skipped - (1 if piece.endswith(b"\n") else 0)
    return skipped


def _read_json(path: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[Record]:
    source = str(path)
    try:
        with _open(path) as handle:
            text = handle.read(limits.document + 1)  # a gzip bomb expands no further than this
    except (OSError, EOFError) as exc:
        yield Record(source, 1, b"", error=f"unreadable file: {exc}")
        return
    if len(text) > limits.document:
        size = f"more than {limits.document}"
        reason = too_long("the JSON document", size, limits.document, "ingest_max_document_bytes")
        yield Record(source, 1, text[:KEPT_PREFIX], error=reason)
        return
    text = text.lstrip(b"\xef\xbb\xbf")
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield Record(source, 1, text, error=f"malformed JSON: {exc}")
        return
    if not (isinstance(document, dict) and document.get("resourceType") == "Bundle"):
        yield Record(source, 1, text)
        return
    if document.get("type") not in UNPACKED_BUNDLE_TYPES:
        yield Record(source, 1, text)
        return
    # entries are written out again from the parsed Bundle, where a repeated key has lost a value
    repeated = repeated_keys(text) if may_repeat_keys(text, orjson.dumps(document)) else []
    yield from unpack_bundle(document, source, repeated)


def unpack_bundle(bundle: dict, source: str, repeated: list[str] | None = None) -> Iterator[Record]:
    """One record per Bundle entry (numbered from 1), with ``urn:uuid`` references resolved.

    ``repeated`` holds the paths of keys the Bundle's text repeats (``json_keys``): an entry with
    one is refused, and a repeat outside the entries refuses the whole Bundle.
    """
    by_entry: dict[int, list[str]] = {}
    for path in repeated or []:
        parts = path.split(".", 2)
        if len(parts) < 3 or parts[0] != "entry" or not parts[1].isdigit():
            yield Record(source, 1, orjson.dumps(bundle), error=describe_repeats([path]), error_stage="parse")
            return
        by_entry.setdefault(int(parts[1]) + 1, []).append(parts[2])
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        yield Record(source, 1, orjson.dumps(bundle), error="Bundle.entry is not a list")
        return
    full_urls: dict[str, str] = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(full_url, str):
            if "id" not in resource and full_url.startswith("urn:uuid:"):
                resource["id"] = full_url.removeprefix("urn:uuid:")
            if isinstance(resource.get("resourceType"), str) and isinstance(resource.get("id"), str):
                full_urls[full_url] = f"{resource['resourceType']}/{resource['id']}"

    def resolve(reference: str) -> str:
        return full_urls.get(reference, reference)

    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            method = (entry.get("request") or {}).get("method") if isinstance(entry, dict) else None
            yield Record(
                source,
                number,
                orjson.dumps(entry),
                error=f"Bundle entry has no resource (request {method or 'none'}): nothing to store",
            )
            continue
        if number in by_entry:
            reason = describe_repeats(by_entry[number])
            yield Record(source, number, orjson.dumps(entry), error=reason, error_stage="parse")
            continue
        if full_urls:
            rewrite_references(resource, resolve)
        yield Record(source, number, orjson.dumps(resource))
