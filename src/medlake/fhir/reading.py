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

import orjson

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
    yield from unpack_bundle(document, source)


def unpack_bundle(bundle: dict, source: str) -> Iterator[Record]:
    """One record per Bundle entry (numbered from 1), with ``urn:uuid`` references resolved."""
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
        if full_urls:
            rewrite_references(resource, resolve)
        yield Record(source, number, orjson.dumps(resource))
