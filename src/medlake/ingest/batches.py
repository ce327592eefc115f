"""A delivery's batch: its id (institution + content fingerprint) and the report of how it reconciled."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from medlake.catalog.models import Batch


class BatchOutcome(StrEnum):
    """What became of a delivery: committed now, unchanged (the same content came before), or
    skipped (a file of the landing folder not read at all: ``reason`` says why; no batch)."""

    COMMITTED = "committed"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


#: Called with how many records were received since the last call.
ProgressCallback = Callable[[int], None]


@dataclass
class BatchReport:
    """How one delivery reconciled."""

    batch_id: str
    institution: str
    source: str
    status: BatchOutcome
    received: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    unresolved_references: int = 0
    unresolved_sample: list[str] = field(default_factory=list)
    reason: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def batch_id_for(institution: str, fingerprint: str) -> str:
    return hashlib.sha256(f"{institution}\0{fingerprint}".encode()).hexdigest()[:32]


def batch_report(batch: Batch, status: BatchOutcome) -> BatchReport:
    return BatchReport(
        batch_id=batch.id,
        institution=batch.institution_id,
        source=batch.source_uri,
        status=status,
        received=batch.received,
        stored=batch.stored,
        quarantined=batch.quarantined,
        duplicates=batch.duplicates,
        unresolved_references=batch.unresolved_references,
        unresolved_sample=list(batch.unresolved_sample or []),
    )


def unchanged_report(previous: Batch, source: str) -> BatchReport:
    """The same content was ingested before: the whole delivery counts as duplicates."""
    report = batch_report(previous, BatchOutcome.UNCHANGED)
    report.source = source
    report.stored = report.quarantined = 0
    report.duplicates = report.received
    report.unresolved_references, report.unresolved_sample = 0, []
    return report


def skipped_report(institution: str, source: str, reason: str) -> BatchReport:
    """A file the landing folder held but the source did not read, and why: nothing received."""
    return BatchReport("", institution, source, BatchOutcome.SKIPPED, reason=reason)
