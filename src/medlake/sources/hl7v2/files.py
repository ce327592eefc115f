"""HL7 v2 files as deliveries: one file, one batch, through the common ingestion pipeline.

A file's records are: for each message, its Binary and converted resources, plus one
quarantine record per resource that could not be converted; for each message that could
not be taken at all, and for each piece of the file that is not a message, one quarantine
record carrying the original text. Every record's ``line`` is the message's position in
the file (1-based), so all that came from message 7 say 7.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from medlake.errors import InputError
from medlake.fhir.reading import DEFAULT_LIMITS, KEPT_PREFIX, Limits, Record, file_sha256, too_long
from medlake.ingest import BatchReport, Delivery, check_institution, ingest_deliveries
from medlake.ingest.pipeline import read_limits
from medlake.landing import Landing, scan, suffix_test
from medlake.sources.hl7v2.convert import DEFAULT_TIMEZONE, MessageConversion, convert_chunk
from medlake.sources.hl7v2.datatypes import zone
from medlake.sources.hl7v2.framing import split_messages
from medlake.workspace import Workspace

SOURCE_KIND = "hl7"
#: File names taken from a folder (an explicitly named file is read whatever its name).
SUFFIXES = (".hl7", ".hl7v2", ".er7", ".mllp")


def hl7_landing(path: Path, *, follow_links_outside: bool = False) -> Landing:
    """The HL7 files under ``path`` (names in any case), and those skipped with the reason."""
    expected = ", ".join(SUFFIXES) + " in any case"
    return scan(path, suffix_test(SUFFIXES), expected=expected, follow_links_outside=follow_links_outside)


def find_hl7_files(path: Path) -> list[Path]:
    """The HL7 files under ``path`` (or ``path`` itself), in a stable order (links out skipped)."""
    return hl7_landing(path).files


def check_timezone(tz: str) -> str:
    """``tz`` if it is an IANA time zone name; a clear error otherwise (before any data moves)."""
    try:
        zone(tz)
    except (KeyError, ValueError) as exc:
        raise InputError(f"unknown time zone {tz!r}: use an IANA name such as UTC or Europe/Paris") from exc
    return tz


def conversions(data: bytes, tz: str = DEFAULT_TIMEZONE) -> list[MessageConversion]:
    """Every message of ``data`` (a file's bytes) converted, in order."""
    return [convert_chunk(chunk, tz) for chunk in split_messages(data)]


def read_hl7_records(
    data: bytes, source: str, tz: str = DEFAULT_TIMEZONE, max_message: int = DEFAULT_LIMITS.line
) -> Iterator[Record]:
    """The pipeline records of a file's bytes; ``source`` names the file in every record.

    Messages are converted one at a time as the pipeline asks, so a large file's resources
    never all sit in memory (the pipeline spills them to disk in chunks). A message longer than
    ``max_message`` (``ingest_max_line_bytes``) is quarantined by its first bytes, unconverted."""
    for chunk in split_messages(data):
        if len(chunk.text) > max_message:
            reason = too_long(
                f"message {chunk.number}", len(chunk.text), max_message, "ingest_max_line_bytes"
            )
            yield Record(source, chunk.number, chunk.text[:KEPT_PREFIX], error=reason)
            continue
        yield from convert_chunk(chunk, tz).records(source, chunk.number)


def read_hl7_file(
    path: Path, tz: str = DEFAULT_TIMEZONE, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Record]:
    """:func:`read_hl7_records` of a file, which is read whole: one over ``limits.document`` is
    quarantined as one record (its first bytes) instead."""
    size = path.stat().st_size
    if size > limits.document:
        with path.open("rb") as handle:
            head = handle.read(KEPT_PREFIX)
        reason = too_long("the file", size, limits.document, "ingest_max_document_bytes")
        return iter([Record(str(path), 1, head, error=reason)])
    return read_hl7_records(path.read_bytes(), str(path), tz, limits.line)


def fingerprint(content_sha256: str, tz: str) -> str:
    """The delivery's identity: the bytes *and* the time zone they are read in, since the same
    file read in another zone gives other instants."""
    return hashlib.sha256(f"hl7v2\x1f{tz}\x1f{content_sha256}".encode()).hexdigest()


def hl7_file_delivery(
    path: Path,
    institution: str,
    tz: str = DEFAULT_TIMEZONE,
    content_sha256: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Delivery:
    """A file of HL7 v2 messages as one delivery (``content_sha256`` saves re-hashing a known file)."""
    digest = content_sha256 or file_sha256(path)
    return Delivery(
        institution=institution,
        source_kind=SOURCE_KIND,
        source_uri=str(path),
        fingerprint=fingerprint(digest, tz),
        read=lambda: read_hl7_file(path, tz, limits),
    )


def ingest_hl7_path(
    workspace: Workspace,
    path: Path,
    institution: str,
    *,
    tz: str = DEFAULT_TIMEZONE,
    progress: Callable[[int], None] | None = None,
) -> list[BatchReport]:
    """Ingest every HL7 v2 file under ``path`` for ``institution``; one report per file."""
    check_institution(institution)
    check_timezone(tz)
    landing = hl7_landing(Path(path), follow_links_outside=workspace.settings.ingest_follow_links_outside)
    limits = read_limits(workspace)
    deliveries = [
        *((institution, skipped) for skipped in landing.skipped),
        *(hl7_file_delivery(file, institution, tz, limits=limits) for file in landing.files),
    ]
    details = {"path": str(path), "institution": institution, "kind": SOURCE_KIND, "timezone": tz}
    return ingest_deliveries(workspace, deliveries, details=details, progress=progress)
