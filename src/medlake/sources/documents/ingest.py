"""``medlake ingest notes`` and ``medlake ingest dicom`` as functions."""

from __future__ import annotations

from pathlib import Path

from medlake.ingest import BatchReport, ProgressCallback, check_institution, ingest_deliveries
from medlake.sources.documents.dicom import dicom_deliveries, dicom_landing, zone_named
from medlake.sources.documents.notes import NoteRules, note_deliveries, note_landing
from medlake.workspace import Workspace


def ingest_notes(
    workspace: Workspace, path: Path, institution: str, *, progress: ProgressCallback | None = None
) -> list[BatchReport]:
    """Every note (``.txt``, ``.text``, ``.md``, ``.pdf``) under ``path`` as a DocumentReference."""
    check_institution(institution)
    follow = workspace.settings.ingest_follow_links_outside
    landing = note_landing(Path(path), follow_links_outside=follow)
    rules = NoteRules(workspace.settings.ingest_max_resource_bytes, follow)
    return ingest_deliveries(
        workspace,
        [
            *((institution, skipped) for skipped in landing.skipped),
            *note_deliveries(Path(path), institution, landing.files, rules),
        ],
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
    landing = dicom_landing(Path(path), follow_links_outside=workspace.settings.ingest_follow_links_outside)
    deliveries, _ = dicom_deliveries(landing.files, institution, zone_named(timezone))
    return ingest_deliveries(
        workspace,
        [*((institution, skipped) for skipped in landing.skipped), *deliveries],
        details={"path": str(path), "institution": institution, "kind": "dicom"},
        progress=progress,
    )
