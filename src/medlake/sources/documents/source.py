"""Folders of notes and of DICOM files as ``medlake sync`` sources, incremental by file fingerprint.

The catalog keeps, per source, each file's fingerprint as last ingested; a sync reads only
new and changed files. Notes are fingerprinted by content (file and sidecar SHA-256: they
are small). DICOM files by size and modification time: hashing gigabytes of pixels on
every sync to learn that nothing changed would cost more than the whole ingest. A DICOM
study touched by a new, changed or removed file is rebuilt from all its files, since one
ImagingStudy lists every series and instance of the study.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from medlake.errors import MissingInput
from medlake.ingest import BatchReport, ingest_deliveries
from medlake.sources.base import SourceConfig, SourceKind
from medlake.sources.documents.dicom import dicom_landing, read_instances, study_records, zone_named
from medlake.sources.documents.files import FolderState, records_delivery, relative_name
from medlake.sources.documents.notes import NoteRules, note_deliveries, note_fingerprint, note_landing
from medlake.workspace import Workspace


def _root(source: SourceConfig) -> Path:
    root = Path(source.location)
    if not root.exists():
        raise MissingInput(f"source {source.id}: no such file or folder: {root}")
    return root


class NotesFolder(SourceKind):
    """Clinical notes (text, Markdown, PDF, with JSON sidecars) in a folder."""

    kind = "notes"
    description = "clinical notes (text/PDF + JSON sidecar or PATIENT_DATE_TYPE names) → DocumentReference"

    def sync(
        self, workspace: Workspace, source: SourceConfig, progress: Callable[[int], None] | None = None
    ) -> list[BatchReport]:
        root = _root(source)
        follow = workspace.settings.ingest_follow_links_outside
        state = FolderState.load(workspace.catalog, source.id)
        landing = note_landing(root, follow_links_outside=follow)
        files = {relative_name(f, root): f for f in landing.files}
        current = {name: note_fingerprint(file) for name, file in files.items()}
        changed = sorted(state.changed(current))
        removed = state.removed(current)
        if not changed and not removed and not landing.skipped:
            return []
        rules = NoteRules(workspace.settings.ingest_max_resource_bytes, follow)
        deliveries = [
            *((source.institution, skipped) for skipped in landing.skipped),
            *note_deliveries(root, source.institution, [files[name] for name in changed], rules),
        ]
        details = {"source": source.id, "institution": source.institution, "kind": self.kind}
        reports = ingest_deliveries(workspace, deliveries, details=details, progress=progress)
        state.values = dict(current)
        state.save(workspace.catalog, source.id)
        return reports


class DicomFolder(SourceKind):
    """DICOM files in a folder (any names, any depth): ImagingStudy metadata, pixels left in place."""

    kind = "dicom"
    description = "DICOM files → ImagingStudy (metadata only; one per study; files referenced, not copied)"
    option_names = frozenset({"timezone"})

    def check(self, source: SourceConfig) -> None:
        zone_named(source.options.get("timezone"))

    def sync(
        self, workspace: Workspace, source: SourceConfig, progress: Callable[[int], None] | None = None
    ) -> list[BatchReport]:
        root = _root(source)
        zone = zone_named(source.options.get("timezone"))
        state = FolderState.load(workspace.catalog, source.id)
        landing = dicom_landing(root, follow_links_outside=workspace.settings.ingest_follow_links_outside)
        files = {relative_name(f, root): f for f in landing.files}
        current = {name: f"{f.stat().st_size}:{f.stat().st_mtime_ns}" for name, f in files.items()}
        known = {name: value for name, value in state.values.items() if isinstance(value, list)}
        changed = sorted(n for n in current if known.get(n, [None])[0] != current[n])
        removed = set(known) - set(current)
        if not changed and not removed and not landing.skipped:
            return []
        fresh, rejected = read_instances([files[n] for n in changed], zone)
        touched = {i.study_uid for i in fresh} | {known[n][1] for n in [*changed, *removed] if n in known}
        touched.discard(None)
        siblings = [
            n for n, (_, study) in known.items() if study in touched and n in current and n not in changed
        ]
        old, old_rejected = read_instances([files[n] for n in siblings], zone)
        instances = fresh + [i for i in old if i.study_uid in touched]
        deliveries = [
            records_delivery(source.institution, self.kind, record.source_file, [record])
            for _, record in study_records(instances)
        ]
        deliveries += [
            records_delivery(source.institution, self.kind, r.source_file, [r])
            for r in rejected + old_rejected
        ]
        deliveries += [(source.institution, skipped) for skipped in landing.skipped]  # type: ignore[misc]
        details = {"source": source.id, "institution": source.institution, "kind": self.kind}
        reports = ingest_deliveries(workspace, deliveries, details=details, progress=progress)
        study_of = {relative_name(i.path, root): i.study_uid for i in fresh + old}
        state.values = {
            name: [
                fingerprint,
                study_of.get(name, None if name in changed else known.get(name, [None, None])[1]),
            ]
            for name, fingerprint in current.items()
        }
        state.save(workspace.catalog, source.id)
        return reports
