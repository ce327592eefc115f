"""A delivery: one unit an institution sends, whatever the source kind.

A file of FHIR, a file of HL7 v2 messages, a chunk of rows from a hospital database, a
micro-batch of device readings: each becomes a :class:`Delivery` whose ``read`` yields
FHIR records. Its ``fingerprint`` identifies the content, so the same delivery received
twice is one batch, and ``read`` can be called again when a crashed run is resumed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from medlake.fhir.reading import NdjsonBlock, Record, file_sha256, ndjson_blocks, read_records


@dataclass(frozen=True)
class Delivery:
    """``blocks``, when set, gives the same records as ``read`` as blocks of raw lines (the
    argument is the lines per block), so that worker processes, not the process reading the
    file, split and judge them."""

    institution: str
    source_kind: str
    source_uri: str
    fingerprint: str
    read: Callable[[], Iterable[Record]]
    blocks: Callable[[int], Iterable[NdjsonBlock]] | None = None


def file_delivery(path: Path, institution: str) -> Delivery:
    """A file of FHIR NDJSON or a Bundle, fingerprinted by its SHA-256."""
    return Delivery(
        institution=institution,
        source_kind="fhir",
        source_uri=str(path),
        fingerprint=file_sha256(path),
        read=lambda: read_records(path),
        blocks=(lambda lines: ndjson_blocks(path, lines)) if path.name.endswith(".ndjson") else None,
    )
