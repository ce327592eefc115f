"""Turning files into records: one record per received resource.

NDJSON files (optionally gzip-compressed) give one record per non-blank line; a JSON file
holds either one resource or a Bundle. Transaction, batch, collection and searchset
Bundles are unpacked entry by entry, the way a FHIR server processes a transaction:
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
SUFFIXES = (".ndjson", ".ndjson.gz", ".json", ".json.gz")


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


def find_files(path: Path) -> list[Path]:
    """The FHIR files under ``path`` (or ``path`` itself), in a stable order."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")  # type: ignore[return-value]


def read_records(path: Path) -> Iterator[Record]:
    """Records of one file; streamed for NDJSON, whole-file for JSON (a Bundle is one document)."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".ndjson"):
        yield from _read_ndjson(path)
    else:
        yield from _read_json(path)


class NdjsonBlock(NamedTuple):
    """Whole lines of an NDJSON file, the first of them numbered ``first_line``, still as bytes.

    Splitting them into records (:func:`block_records`) is left to whoever judges them, so a
    process handing files to workers only reads bytes and counts newlines.
    """

    source_file: str
    first_line: int
    data: bytes


class NdjsonSpan(NamedTuple):
    """Whole lines of an uncompressed NDJSON file by position: ``length`` bytes from ``offset``.

    A worker reads its span itself (:func:`read_span`), so the file's bytes never cross a pipe:
    the process that hands out the work only finds where blocks of lines begin and end.
    """

    source_file: str
    first_line: int
    offset: int
    length: int


def ndjson_spans(
    path: Path, lines: int, read_size: int = 1 << 22, digest: hashlib._Hash | None = None
) -> Iterator[NdjsonSpan | NdjsonBlock]:
    """An uncompressed NDJSON file as spans of ``lines`` lines (the last may hold fewer).

    ``block_records(read_span(…))`` over them gives exactly the records :func:`read_records`
    gives. If the file cannot be read to its end, the lines read so far come as a block with
    their bytes, then an error block (``first_line`` -1), as reading line by line reports it.
    ``digest``, if given, is fed every byte read, so one pass also fingerprints the file.
    """
    source, number, pending, offset = str(path), 1, b"", 0  # offset: where ``pending`` starts
    try:
        with path.open("rb") as handle:
            while data := handle.read(read_size):
                if digest is not None:
                    digest.update(data)
                buffer, start = pending + data, 0
                while True:
                    end = start
                    for _ in range(lines):
                        end = buffer.find(b"\n", end) + 1
                        if not end:
                            break
                    if not end:
                        break
                    yield NdjsonSpan(source, number, offset + start, end - start)
                    number, start = number + lines, end
                pending, offset = buffer[start:], offset + start
    except OSError as exc:  # what was read stands, as when reading line by line
        if pending:
            yield NdjsonBlock(source, number, pending)
        yield NdjsonBlock(source, -1, f"unreadable file after the last good line: {exc}".encode())
        return
    if pending:
        yield NdjsonSpan(source, number, offset, len(pending))


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
    return NdjsonBlock(source, work.first_line, data)


def block_records(block: NdjsonBlock) -> Iterator[Record]:
    """The records of one block: one per non-blank line, as :func:`read_records` makes them."""
    if block.first_line == -1:
        yield Record(block.source_file, -1, b"", error=block.data.decode())
        return
    for line, text in block_lines(block):
        yield Record(block.source_file, line, text)


def block_lines(block: NdjsonBlock) -> Iterator[tuple[int, bytes]]:
    """(line number, text) of each non-blank line of a block (not of an error block)."""
    first = block.first_line
    lines = block.data.split(b"\n")
    if lines[-1] == b"":  # the block ends with a newline: nothing follows it
        lines.pop()
    for offset, line in enumerate(lines):
        text = line.strip()
        if text:
            yield first + offset, text.lstrip(b"\xef\xbb\xbf")


def _read_ndjson(path: Path) -> Iterator[Record]:
    source = str(path)
    try:
        with _open(path) as handle:
            for number, line in enumerate(handle, start=1):
                text = line.strip()
                if text:
                    yield Record(source, number, text.lstrip(b"\xef\xbb\xbf"))
    except (OSError, EOFError) as exc:  # e.g. a truncated gzip stream: what was read stands
        yield Record(source, -1, b"", error=f"unreadable file after the last good line: {exc}")


def _read_json(path: Path) -> Iterator[Record]:
    source = str(path)
    try:
        with _open(path) as handle:
            text = handle.read().lstrip(b"\xef\xbb\xbf")
    except (OSError, EOFError) as exc:
        yield Record(source, 1, b"", error=f"unreadable file: {exc}")
        return
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
