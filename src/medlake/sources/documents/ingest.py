"""``medlake ingest notes`` and ``medlake ingest dicom`` as functions."""

from __future__ import annotations

from pathlib import Path

from medlake.ingest import BatchReport, ProgressCallback, check_institution, ingest_deliveries
from medlake.sources.documents.dicom import dicom_deliveries, dicom_files, zone_named
from medlake.sources.documents.notes import note_deliveries
from medlake.workspace import Workspace


def ingest_notes(
    workspace: Workspace, path: Path, institution: str, *, progress: ProgressCallback | None = None
) -> list[BatchReport]:
    """Every note (``.txt``, ``.text``, ``.md``, ``.pdf``) under ``path`` as a DocumentReference."""
    check_institution(institution)
    return ingest_deliveries(
        workspace,
        note_deliveries(Path(path), institution),
        details={"path": str(path), "institution": institution, "kind": "notes"},
        progress=progress,
    )


def ingest_dicom(
    workspace: Workspace,
    path: Path,
    institution: str,
    *,
    timezone: str | None = None,
    progress: ProgressCallback | None = None,
) -> list[BatchReport]:
    """Every DICOM file under ``path``, one ImagingStudy per study; other files are quarantined.

    ``timezone`` (IANA) dates the studies whose files carry no ``TimezoneOffsetFromUTC``;
    without either, only their dates are kept.
    """
    check_institution(institution)
    deliveries, _ = dicom_deliveries(dicom_files(Path(path)), institution, zone_named(timezone))
    return ingest_deliveries(
        workspace,
        deliveries,
        details={"path": str(path), "institution": institution, "kind": "dicom"},
        progress=progress,
    )
