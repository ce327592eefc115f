"""A delivery: one unit an institution sends, whatever the source kind.

A file of FHIR, a file of HL7 v2 messages, a chunk of rows from a hospital database, a
micro-batch of device readings: each becomes a :class:`Delivery` whose ``read`` yields
FHIR records. Its ``fingerprint`` identifies the content, so the same delivery received
twice is one batch, and ``read`` can be called again when a crashed run is resumed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from medlake.errors import MissingInput
from medlake.fhir.reading import (
    DEFAULT_LIMITS,
    SUFFIXES,
    Limits,
    NdjsonBlock,
    NdjsonSpan,
    Record,
    file_sha256,
    is_gzip,
    is_ndjson,
    ndjson_spans,
    read_records,
)
from medlake.landing import Landing, scan, suffix_test


@dataclass(frozen=True)
class Delivery:
    """``blocks``, when set, gives the same records as ``read`` as spans of raw lines (the
    argument is the lines per span), so that worker processes, not the process reading the
    file, read, split and judge them."""

    institution: str
    source_kind: str
    source_uri: str
    fingerprint: str
    read: Callable[[], Iterable[Record]]
    blocks: Callable[[int], Iterable[NdjsonSpan | NdjsonBlock | Record]] | None = None


def fhir_landing(path: Path, *, follow_links_outside: bool = False) -> Landing:
    """The FHIR files under ``path`` (names in any case), and those skipped with the reason."""
    expected = ", ".join(SUFFIXES) + " in any case"
    return scan(path, suffix_test(SUFFIXES), expected=expected, follow_links_outside=follow_links_outside)


def find_files(path: Path) -> list[Path]:
    """The FHIR files under ``path`` (or ``path`` itself), in a stable order (links out skipped)."""
    return fhir_landing(path).files


def file_delivery(
    path: Path, institution: str, span_lines: int | None = None, limits: Limits = DEFAULT_LIMITS
) -> Delivery:
    """A file of FHIR NDJSON or a Bundle, fingerprinted by its SHA-256.

    With ``span_lines``, an uncompressed NDJSON file is read once, for its fingerprint and its
    spans of that many lines together, rather than once for each.
    """
    fingerprint = None
    blocks = None
    if is_ndjson(path) and not is_gzip(path):
        blocks = partial(ndjson_spans, path, max_line=limits.line)
        if span_lines:
            digest = hashlib.sha256()
            spans = list(ndjson_spans(path, span_lines, digest=digest, max_line=limits.line))
            if not any(isinstance(span, NdjsonBlock) for span in spans):  # read to the end: the digest
                fingerprint = digest.hexdigest()
                blocks = partial(_split_once, spans, span_lines, path, limits.line)
    return Delivery(
        institution=institution,
        source_kind="fhir",
        source_uri=str(path),
        fingerprint=fingerprint or file_sha256(path),  # an unreadable file fails here, as it did
        read=lambda: read_records(path, limits),
        blocks=blocks,
    )


def _split_once(
    spans: list[NdjsonSpan | NdjsonBlock | Record], span_lines: int, path: Path, max_line: int, lines: int
) -> Iterable[NdjsonSpan | NdjsonBlock | Record]:
    return spans if lines == span_lines else ndjson_spans(path, lines, max_line=max_line)


def institution_folders(landing: Path) -> list[tuple[Path, str]]:
    """``(folder, institution)`` for each folder of ``landing`` that holds FHIR files, by name.

    A landing zone keeps each institution's export in a folder named by the institution's id
    (as ``medlake synth`` writes a region); folders without FHIR files (a ``truth`` folder of
    CSVs, say) are not exports and are left out.
    """
    if not landing.is_dir():
        raise MissingInput(f"no such folder: {landing}")
    # a linked folder is kept so that its ingest reports it (skipped, if it leads out of the zone)
    return sorted((f, f.name) for f in landing.iterdir() if f.is_dir() and (f.is_symlink() or find_files(f)))
