"""``medlake maintain``: compact small files, then vacuum files no version within retention needs.

Every ingest appends files and every incremental build merges a few more, so tables gather
small files (each one a request and a footer for every reader) and storage only grows: a file
a newer version replaced stays on disk for time travel. Maintenance fixes both, the way Delta
Lake does (``OPTIMIZE``, ``VACUUM``):

* compaction rewrites a partition's small files into files of up to ``maintain_target_file_mb``,
  in one commit that changes no row (``dataChange: false``): readers of any version see the same
  rows, and an incremental build knows such a commit moved nothing (``build.changes``);
* vacuum deletes the files that only versions older than ``vacuum_retention_hours`` need (and
  files no commit ever named, left by a killed writer): time travel to a version within the
  retention still works, older versions can no longer be read.

A compaction gives a table a new version with the same rows, so the catalog records it, and
lineage that named the old version names the new one (the rows it was computed from are the
same): nothing looks stale that is not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from deltalake import CommitProperties

from medlake.lake.tables import Layer
from medlake.workspace import Workspace


@dataclass(frozen=True)
class TableMaintenance:
    """What maintenance did to one table."""

    name: str
    version_before: int
    version_after: int
    files_before: int
    files_after: int
    files_vacuumed: int

    def as_dict(self) -> dict:
        return asdict(self)


def lake_tables(workspace: Workspace) -> dict[str, str]:
    """Every Delta table of the workspace: ``layer.name`` -> location (the catalog's, and on a local
    lake also those on disk the catalog does not know yet)."""
    tables = {d.name: d.location for d in workspace.catalog.datasets()}
    if "://" not in workspace.lake.root_uri:
        for layer in Layer:
            for name in workspace.lake.tables(layer):
                tables.setdefault(f"{layer.value}.{name}", f"{layer.value}/{name}")
    return dict(sorted(tables.items()))


def maintain(
    workspace: Workspace,
    *,
    retention_hours: int | None = None,
    target_file_mb: int | None = None,
    only: list[str] | None = None,
) -> list[TableMaintenance]:
    """Compact and vacuum every table (or those named in ``only``), as one catalog job."""
    settings = workspace.settings
    retention = settings.vacuum_retention_hours if retention_hours is None else retention_hours
    target = (settings.maintain_target_file_mb if target_file_mb is None else target_file_mb) * 1024 * 1024
    done = []
    with workspace.catalog.job("maintain", {"retention_hours": retention}) as job:
        for name, location in lake_tables(workspace).items():
            if only and name not in only:
                continue
            outcome = _maintain_table(workspace, name, location, retention, target, job.id)
            if outcome is not None:
                done.append(outcome)
        job.summary["tables"] = [t.as_dict() for t in done if t.version_after != t.version_before]
    return done


def _maintain_table(
    workspace: Workspace, name: str, location: str, retention: int, target: int, job_id: str
) -> TableMaintenance | None:
    lake, catalog = workspace.lake, workspace.catalog
    uri = lake.resolve(location)
    table = lake.table(uri)
    if table is None:
        return None
    before = table.version()
    files_before = len(table.file_uris())
    table.optimize.compact(
        target_size=target, commit_properties=CommitProperties(custom_metadata={"medlake.job": job_id})
    )
    table = lake.table(uri)
    assert table is not None
    vacuumed = table.vacuum(
        retention_hours=retention, dry_run=False, enforce_retention_duration=False, full=_is_local(uri)
    )
    table = lake.table(uri)
    assert table is not None
    after = table.version()
    recorded = catalog.dataset(name)
    if after != before and recorded is not None and recorded.version == before:
        # the same rows at a new version: the catalog and what was built from it follow
        catalog.set_version(name, after)
        catalog.advance_lineage(name, before, after)
    return TableMaintenance(name, before, after, files_before, len(table.file_uris()), len(vacuumed))


def _is_local(uri: str) -> bool:
    """A full vacuum (files no commit named, too) lists the whole table folder: on a local lake only."""
    return "://" not in uri or Path(uri.removeprefix("file://")).is_dir()
