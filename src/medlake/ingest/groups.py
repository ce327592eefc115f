"""Group commit: deliveries of one institution gathered into one Delta commit per table, and what
the groups of one job share (spill folder, written files, engine, the keys it committed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

from medlake.catalog.leases import HeldLease, held, lease_owner
from medlake.catalog.models import Batch
from medlake.catalog.statuses import BatchStatus
from medlake.engine import Engine
from medlake.ingest import key_queries
from medlake.ingest.accepted import AcceptedRows
from medlake.ingest.batches import BatchOutcome, BatchReport, ProgressCallback, batch_report, unchanged_report
from medlake.ingest.delivery import Delivery
from medlake.ingest.examine import CHUNK, ROW, ChunkResult
from medlake.ingest.key_queries import (
    conditional_refs,
    count_values,
    rows_by_chunk,
    stored_counts,
    unrepeated,
    unresolved_references,
)
from medlake.ingest.spill import QuarantineSpill
from medlake.ingest.written import WrittenFiles
from medlake.lake.tables import QUARANTINE, QUARANTINE_SCHEMA, RAW_RESOURCES, RAW_RESOURCES_SCHEMA, Layer
from medlake.workspace import Workspace

#: Deliveries per commit at most, so a folder of many tiny files does not pay one commit each
#: nor grow one commit without bound.
GROUP_DELIVERIES = 2_000

REMEMBERED = ["resource_type", "resource_id", "content_hash"]

#: Keys of rows a job remembers committing (per institution, about 100 bytes each); beyond
#: this, its groups ask the lake instead, so a job's memory stays bounded however large it is.
REMEMBERED_ROWS = 4_000_000


@dataclass
class IngestJob:
    """What the groups of one ingest job share: where they spill, the files the job's workers
    wrote, one engine for the job's queries, the reports so far, and what it committed.

    A group's commit must know what the institution sent before: which content repeats, which
    references resolve. What came before the job is in the lake; what the job itself committed
    it remembers (type, id and content hash of each row), so an institution the lake held
    nothing of before the job (every first load) is never read back while the job runs.
    """

    workspace: Workspace
    id: str
    spill: Path
    written: WrittenFiles
    engine: Engine
    reports: list[BatchReport]
    owner: str = field(default_factory=lambda: lease_owner("ingest"))  # of the commit locks
    in_lake: dict[str, bool] = field(default_factory=dict)  # institution → read the lake for it?
    committed: dict[str, list[pa.Table]] = field(default_factory=dict)  # institution → rows' keys
    remembered: int = 0
    generations: dict[str, int] = field(default_factory=dict)  # institution → its lock's, after our commit

    def reads_lake(self, institution: str, raw: DeltaTable | None) -> bool:
        """Whether the lake holds rows of ``institution`` that the job does not remember."""
        if institution not in self.in_lake:  # asked first before the institution's first commit
            self.in_lake[institution] = raw is not None and bool(
                raw.file_uris(file_pruning_predicate=f"institution = '{institution}'")  # a checked id
            )
        return self.in_lake[institution]

    def known(self, institution: str) -> pa.Table | None:
        """Keys of the rows the job committed for ``institution`` (None if none)."""
        tables = self.committed.get(institution)
        return pa.concat_tables(tables) if tables else None

    def remember(self, institution: str, keys: pa.Table) -> None:
        if self.in_lake.get(institution):
            return  # read from the lake anyway
        self.remembered += keys.num_rows
        if self.remembered > REMEMBERED_ROWS:  # too many: from now on the lake answers for all
            self.committed.clear()
            self.in_lake = dict.fromkeys(self.in_lake, True)
            return
        self.committed.setdefault(institution, []).append(keys.select(REMEMBERED))


def gather(
    job: IngestJob,
    group: Group | None,
    examined: tuple[Delivery, Batch, Iterator[ChunkResult]],
    progress: ProgressCallback | None,
) -> Group:
    """Add an examined delivery to its group, committing the group before if it cannot take it."""
    delivery, batch, results = examined
    if group is not None and (group.institution != delivery.institution or group.full):
        job.reports.extend(group.commit())
        group = None
    if group is None:
        group = Group(job, delivery.institution)
    group.add(delivery, batch, results, progress)
    return group


@dataclass
class Pending:
    """A batch of the group: its catalog row, its counts so far, and which commits it still needs."""

    batch_id: str
    source: str
    received: int = 0
    quarantined: int = 0
    needs_raw: bool = True
    needs_quarantine: bool = True
    closed_elsewhere: Batch | None = None  # the batch as another writer closed it, if one did


class Group:
    """Deliveries of one institution that go into the lake together, one commit per table."""

    def __init__(self, job: IngestJob, institution: str) -> None:
        workspace, serial = job.workspace, len(job.reports)
        self.workspace, self.institution, self.job_id = workspace, institution, job.id
        self.job, self.engine = job, job.engine
        self.raw_uri = workspace.lake.uri(Layer.RAW, RAW_RESOURCES)
        self.quarantine_uri = workspace.lake.uri(Layer.RAW, QUARANTINE)
        target = workspace.lake.file_target(self.raw_uri, {"institution": institution})
        self.accepted = AcceptedRows(target, job.written, serial)
        self.rejected = QuarantineSpill(
            job.spill / f"rejected-{serial}.parquet", QUARANTINE_SCHEMA, institution
        )
        self.batches: list[Pending] = []
        # loaded once per group: asking the log about each batch must not replay it each time
        self.raw_table = workspace.lake.table(self.raw_uri)
        self.quarantine_table = workspace.lake.table(self.quarantine_uri)

    @property
    def full(self) -> bool:
        limit = self.workspace.settings.ingest_group_records
        return self.accepted.count >= limit or len(self.batches) >= GROUP_DELIVERIES

    def add(
        self,
        delivery: Delivery,
        batch: Batch,
        results: Iterator[ChunkResult],
        progress: ProgressCallback | None,
    ) -> None:
        """Gather the examined records (``results``, in order) of the delivery's open batch."""
        pending = Pending(
            batch.id,
            delivery.source_uri,
            needs_raw=self.raw_table is None or self.raw_table.transaction_version(batch.id) is None,
            needs_quarantine=self.quarantine_table is None
            or self.quarantine_table.transaction_version(batch.id) is None,
        )
        seq = len(self.batches)
        constants = {"batch_id": batch.id, "received_at": batch.started_at}
        for result in results:
            pending.received += result.received
            pending.quarantined += len(result.rejected)
            if pending.needs_quarantine:
                for outcome in result.rejected:
                    self.rejected.add(outcome, constants)
            # accepted rows are kept even when already committed: their references are still reported
            self.accepted.add(result, batch.id, seq)
            if progress:
                progress(result.received)
        self.batches.append(pending)

    def commit(self) -> list[BatchReport]:
        """Under the institution's commit lock: look again at what is committed, write the group's
        two commits (those still missing), then close its batches.

        Another process (a second ``medlake ingest`` of the same delivery, a server worker on
        another host) may have committed any of this group's batches, or other rows of the
        institution, since the group was gathered: everything the commit decides is decided
        again under the lock, from the lake and the catalog as they are now.
        """
        self.rejected.close()
        settings, job = self.workspace.settings, self.job
        with held(
            self.workspace.catalog,
            f"ingest:{self.institution}",
            job.owner,
            ttl=settings.ingest_lock_ttl,
            wait=settings.ingest_lock_wait,
        ) as lease:
            self._look_again(lease)
            reports = self._commit(lease)
            job.generations[self.institution] = lease.generation
        return reports

    def _look_again(self, lease: HeldLease) -> None:
        """Reload the tables and each batch's state; forget what the job remembers of the
        institution if another writer committed for it since the job last did."""
        lake, catalog = self.workspace.lake, self.workspace.catalog
        self.raw_table = lake.table(self.raw_uri)
        self.quarantine_table = lake.table(self.quarantine_uri)
        if self.job.generations.get(self.institution) != lease.generation:
            self.job.in_lake.pop(self.institution, None)  # asked again, of the lake as it is now
        for pending in self.batches:
            row = catalog.batch(pending.batch_id)
            pending.closed_elsewhere = (
                row if row is not None and row.status == BatchStatus.COMMITTED else None
            )
            pending.needs_raw = (
                self.raw_table is None or self.raw_table.transaction_version(pending.batch_id) is None
            )
            pending.needs_quarantine = (
                self.quarantine_table is None
                or self.quarantine_table.transaction_version(pending.batch_id) is None
            )

    def _commit(self, lease: HeldLease) -> list[BatchReport]:
        lake, catalog = self.workspace.lake, self.workspace.catalog
        tags = {"medlake.job": self.job_id}
        stored: Counter[str] = Counter()
        open_batches = [b for b in self.batches if b.closed_elsewhere is None]
        raw_ids = [b.batch_id for b in open_batches if b.needs_raw]
        job, institution = self.job, self.institution
        in_lake = job.reads_lake(institution, self.raw_table)
        if raw_ids and self.accepted.count:
            keys = self.accepted.key_table()
            lake_rows = self.raw_table if in_lake else None
            repeated = key_queries.repeated_rows(
                self.engine, lake_rows, institution, keys, job.known(institution)
            )
            elsewhere = [b.batch_id for b in self.batches if b.closed_elsewhere is not None]
            repeated = with_batches(repeated, keys, elsewhere)
            files = self.accepted.keep(rows_by_chunk(repeated))
            if files:
                lease.bump()
                lake.commit_files(
                    self.raw_uri,
                    files,
                    schema=RAW_RESOURCES_SCHEMA,
                    partition_by=["institution"],
                    app_ids=raw_ids,
                    metadata=tags,
                )
                self.accepted.written.settle(file.path for file in files)
                job.remember(institution, unrepeated(keys, repeated))
            for batch_id, rows in count_values(keys.column("batch_id")).items():
                stored[batch_id] += rows
            for batch_id, rows in count_values(repeated.column("batch_id")).items():
                stored[batch_id] -= rows
        self.accepted.discard()
        quarantine_ids = [b.batch_id for b in open_batches if b.needs_quarantine]
        if quarantine_ids and self.rejected.count:
            table = pq.read_table(self.rejected.path, schema=QUARANTINE_SCHEMA)
            table = table.filter(pc.is_in(table.column("batch_id"), value_set=pa.array(quarantine_ids)))
            if table.num_rows:
                lease.bump()
                lake.write(
                    self.quarantine_uri,
                    table,
                    partition_by=["institution"],
                    app_ids=quarantine_ids,
                    metadata=tags,
                    long_text=["raw", "reason"],
                )
        resumed = [b.batch_id for b in open_batches if not b.needs_raw]
        if resumed:  # a crashed run committed these batches' rows already: count them in the lake
            stored.update(stored_counts(self.workspace, self.raw_uri, resumed))
        made = self.accepted.references()
        in_lake = job.reads_lake(institution, self.raw_table)  # the job may have stopped remembering
        raw = lake.table(self.raw_uri) if in_lake or pc.any(conditional_refs(made)).as_py() else None
        unresolved = unresolved_references(self.engine, raw, institution, made, job.known(institution))
        # the job's later groups need no room for the scratch file
        Path(self.rejected.path).unlink(missing_ok=True)
        reports = []
        for pending in self.batches:
            if pending.closed_elsewhere is not None:  # another writer took this delivery first
                reports.append(unchanged_report(pending.closed_elsewhere, pending.source))
                continue
            missing = unresolved.get(pending.batch_id, [])
            closed = catalog.close_batch(
                pending.batch_id,
                received=pending.received,
                stored=stored[pending.batch_id],
                quarantined=pending.quarantined,
                duplicates=pending.received - stored[pending.batch_id] - pending.quarantined,
                unresolved_references=len(missing),
                unresolved_sample=missing[:20],
            )
            reports.append(batch_report(closed, BatchOutcome.COMMITTED))
        return reports


def with_batches(repeated: pa.Table, keys: pa.Table, batch_ids: list[str]) -> pa.Table:
    """``repeated`` (chunk, row, batch id; in chunk and row order) and every row of ``batch_ids``:
    rows another writer committed already, whatever the lake's content says."""
    if not batch_ids:
        return repeated
    theirs = keys.filter(pc.is_in(keys.column("batch_id"), value_set=pa.array(batch_ids, pa.string())))
    both = pa.concat_tables([repeated, theirs.select(repeated.column_names).cast(repeated.schema)])
    distinct = both.group_by(both.column_names, use_threads=False).aggregate([])
    return distinct.sort_by([(CHUNK, "ascending"), (ROW, "ascending")])
