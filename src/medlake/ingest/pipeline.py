"""Ingest deliveries (files, message batches, table chunks) into the raw layer.

Each delivery is one batch, identified by its institution and content fingerprint, so
the same delivery received twice is recognised and adds nothing. Records are examined in
worker processes (parse → type → R4 validation → hash; an NDJSON file reaches them as spans
of lines, which they read themselves), which write the accepted rows of each chunk as a data
file of the raw layer themselves: only counts, the rows' keys and references, the rejects and the file's
description come back to the parent (and the rows of chunks too small to be worth a file).
Deliveries are grouped (up to ``ingest_group_records`` resources) into one Delta commit for
the raw layer and one for the quarantine: the parent finds, from the keys alone, the rows
whose content the institution sent before (rewriting the few files that hold any), and adds
the files in one transaction. Each commit carries a Delta application transaction per batch
it contains, so whether a batch's rows landed is recorded atomically with the rows themselves.

A crash anywhere leaves at most files no commit names behind (a failed job removes its own;
``Lake.vacuum`` any that a killed one left). The re-run finds the batch still open in the
catalog, asks the lake which of its two commits landed, rebuilds the rest from the same
delivery and then closes the batch, so the tables end up exactly as a clean run leaves them.
Every closed batch reconciles: received = stored + quarantined + duplicates.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from medlake.catalog.leases import held, lease_owner
from medlake.catalog.models import Batch
from medlake.catalog.statuses import BatchStatus
from medlake.catalog.store import LineageInput, schema_description
from medlake.fhir.reading import Limits
from medlake.ingest.batches import (
    BatchOutcome,
    BatchReport,
    ProgressCallback,
    batch_id_for,
    skipped_report,
    unchanged_report,
)
from medlake.ingest.delivery import Delivery, fhir_landing, file_delivery
from medlake.ingest.examine import ChunkResult, Destination
from medlake.ingest.groups import Group, IngestJob, gather
from medlake.ingest.institutions import check_institution
from medlake.ingest.workers import FILE_ROWS, Examiner, work_of
from medlake.ingest.written import WrittenFiles
from medlake.lake.tables import RAW_RESOURCES, RAW_TABLES, Layer, table_location
from medlake.landing import Skipped
from medlake.workspace import Workspace


def ingest_path(
    workspace: Workspace, path: Path, institution: str, *, progress: ProgressCallback | None = None
) -> list[BatchReport]:
    """Ingest every FHIR file under ``path`` for ``institution``; one report per file."""
    return ingest_paths(workspace, [(path, institution)], progress=progress)


def ingest_paths(
    workspace: Workspace,
    sources: Sequence[tuple[Path, str]],
    *,
    progress: ProgressCallback | None = None,
) -> list[BatchReport]:
    """Ingest every FHIR file under each ``(path, institution)``, in order, as one job.

    A landing zone with every institution's export (``medlake ingest fhir DIR --per-folder``)
    goes in as one job rather than one per institution: the workers start once, and they
    examine the next institution's files while the previous institution's last rows commit.
    """
    for _path, institution in sources:
        check_institution(institution)
    settings = workspace.settings
    lines, limits = settings.ingest_chunk_size, read_limits(workspace)
    follow = settings.ingest_follow_links_outside

    def deliveries() -> Iterator[Delivery | tuple[str, Skipped]]:
        for path, institution in sources:
            landing = fhir_landing(Path(path), follow_links_outside=follow)
            yield from ((institution, skipped) for skipped in landing.skipped)
            yield from (file_delivery(file, institution, lines, limits) for file in landing.files)

    details = {"sources": [{"path": str(path), "institution": institution} for path, institution in sources]}
    return ingest_deliveries(workspace, deliveries(), details=details, progress=progress)


def read_limits(workspace: Workspace) -> Limits:
    """The workspace's size limits for reading files (settings ``ingest_max_*``)."""
    settings = workspace.settings
    return Limits(
        line=settings.ingest_max_line_bytes,
        file=settings.ingest_max_file_bytes,
        document=settings.ingest_max_document_bytes,
    )


def ingest_deliveries(
    workspace: Workspace,
    deliveries: Iterable[Delivery | tuple[str, Skipped]],
    *,
    details: dict | None = None,
    progress: ProgressCallback | None = None,
) -> list[BatchReport]:
    """Ingest deliveries as one job; one report per delivery, in order, then one per skipped file.

    Every source kind ends here, so all of them share validation, de-duplication,
    quarantine, reconciliation and crash safety. A source passes the files of its landing
    folder it did not read as ``(institution, Skipped)``: they are reported (status
    ``skipped`` with the reason) and noted in the job's summary, never silently left out.
    """
    catalog = workspace.catalog
    reports: list[BatchReport] = []
    skipped: list[BatchReport] = []
    with catalog.job("ingest", details) as run:
        job_id = run.id
        settings = workspace.settings
        file_rows = min(FILE_ROWS, settings.ingest_chunk_size)
        raw_uri = workspace.lake.uri(Layer.RAW, RAW_RESOURCES)
        institutions: set[str] = set()
        # the pool is ended before the job's unclaimed files go, so no worker still writes one
        with (
            WrittenFiles() as written,
            Examiner(
                settings.ingest_workers, file_rows, written, settings.ingest_max_resource_bytes
            ) as examiner,
            tempfile.TemporaryDirectory(prefix="medlake-ingest-") as spill,
            workspace.engine() as engine,
        ):
            job = IngestJob(workspace, job_id, Path(spill), written, engine, reports)
            group: Group | None = None
            # The deliveries are examined one ahead of gathering: while the parent gathers (and
            # perhaps commits) one, the workers already have the next, whose file the parent read
            # and fingerprinted meanwhile, so they never wait for it at a delivery's end.
            ahead: tuple[Delivery, Batch, Iterator[ChunkResult]] | None = None
            for delivery in deliveries:
                if isinstance(delivery, tuple):
                    institution, file = delivery
                    skipped.append(skipped_report(institution, file.path, file.reason))
                    continue
                check_institution(delivery.institution)
                batch_id = batch_id_for(delivery.institution, delivery.fingerprint)
                previous = catalog.batch(batch_id)
                if previous is not None and previous.status == BatchStatus.COMMITTED:
                    reports.append(unchanged_report(previous, delivery.source_uri))
                    continue
                if delivery.institution not in institutions:
                    catalog.ensure_institution(delivery.institution)
                    institutions.add(delivery.institution)
                batch = catalog.open_batch(
                    batch_id,
                    delivery.institution,
                    delivery.source_kind,
                    delivery.source_uri,
                    delivery.fingerprint,
                    job_id,
                )
                target = workspace.lake.file_target(raw_uri, {"institution": delivery.institution})
                destination = Destination(batch_id, batch.started_at, target)
                # Judging records has no side effects the lake can see, so the pool starts on this
                # delivery now: if the group must commit first, the workers examine while it commits.
                results = examiner.run(work_of(delivery, settings.ingest_chunk_size), destination)
                if ahead is not None:
                    group = gather(job, group, ahead, progress)
                ahead = (delivery, batch, results)
            if ahead is not None:
                group = gather(job, group, ahead, progress)
            if group is not None:
                reports.extend(group.commit())
        committed = [r.batch_id for r in reports if r.status == BatchOutcome.COMMITTED]
        record_raw_datasets(workspace, job_id, committed)
        run.summary["batches"] = [r.batch_id for r in reports]
        if skipped:
            run.summary["skipped"] = [{"file": r.source, "reason": r.reason} for r in skipped]
    return reports + skipped


def record_raw_datasets(
    workspace: Workspace, job_id: str, new_batches: list[str], tables: Iterable[str] = tuple(RAW_TABLES)
) -> None:
    """Catalog the raw layer's ``tables`` as they stand after this job (an ingest, or a build that
    quarantined rows); its new batches join their lineage.

    Under a lock, so that of two jobs ending at once the one that records last also read the
    tables last: the catalog never goes back to an older version's counts.
    """
    settings = workspace.settings
    owner = lease_owner("ingest")
    with held(
        workspace.catalog, "datasets:raw", owner, ttl=settings.ingest_lock_ttl, wait=settings.ingest_lock_wait
    ):
        _record_raw_datasets(workspace, job_id, new_batches, tables)


def _record_raw_datasets(
    workspace: Workspace, job_id: str, new_batches: list[str], tables: Iterable[str]
) -> None:
    batches = [LineageInput("batch", batch_id) for batch_id in new_batches]
    for name in tables:
        description = RAW_TABLES[name]
        stats = workspace.lake.stats(workspace.lake.uri(Layer.RAW, name))
        if stats is None:
            continue
        workspace.catalog.record_dataset(
            name=f"raw.{name}",
            layer=Layer.RAW.value,
            location=table_location(Layer.RAW, name),
            version=stats.version,
            rows=stats.rows,
            rows_by_institution=stats.rows_by_institution,
            schema=schema_description(stats.schema),
            job_id=job_id,
            inputs=batches,
            description=description,
            append_lineage=True,
        )
