"""Ingest deliveries (files, message batches, table chunks) into the raw layer.

Each delivery is one batch, identified by its institution and content fingerprint, so
the same delivery received twice is recognised and adds nothing. Records are examined in
worker processes (parse → type → R4 validation → hash; NDJSON files reach them as blocks of
raw lines), which write the accepted rows of each chunk to a local Parquet file themselves:
only counts, the rejects and the file's name come back to the parent (and the rows of
chunks too small to be worth a file), which joins the batch's constants to the rows when
it commits. Deliveries are grouped (up to ``ingest_group_records`` resources) into one
Delta commit for the raw layer and one for the quarantine. Each commit carries a Delta
application transaction per batch it contains, so whether a batch's rows landed is
recorded atomically with the rows themselves.

A crash anywhere leaves at most unreferenced files behind. The re-run finds the batch
still open in the catalog, asks the lake which of its two commits landed, rebuilds the
rest from the same delivery and then closes the batch, so the tables end up exactly as
a clean run leaves them. Every closed batch reconciles:
received = stored + quarantined + duplicates.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import multiprocessing.pool
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import count, islice
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from medlake.catalog.models import Batch
from medlake.catalog.store import LineageInput, schema_description
from medlake.engine import Engine
from medlake.fhir import structs
from medlake.fhir.reading import Record, find_files
from medlake.ingest import schemas
from medlake.ingest.delivery import Delivery, file_delivery
from medlake.ingest.examine import (
    ACCEPTED,
    CHUNK,
    ROW,
    SPILL_DICTIONARY,
    ChunkResult,
    Rejected,
    Task,
    Work,
    examine_work,
    pack,
)
from medlake.lake.layers import QUARANTINE, RAW_RESOURCES, Layer
from medlake.workspace import Workspace

INSTITUTION_PATTERN = r"^[a-z0-9][a-z0-9-]{0,23}$"
ProgressCallback = Callable[[int], None]
#: Deliveries per commit at most, so a folder of many tiny files does not pay one commit each
#: nor grow one commit without bound.
GROUP_DELIVERIES = 2_000
#: Accepted rows of a chunk from which a worker writes them to a file itself: a file costs one to
#: two milliseconds to write and read back, about what sending this many rows through the pipe
#: to the parent costs (many small deliveries were slower with a file each). A full chunk
#: (``ingest_chunk_size`` accepted rows) always gets a file, however small the setting.
FILE_ROWS = 500
SEQ = "_seq"  # a column the accepted rows get when the group commits: delivery order within the group


@dataclass
class BatchReport:
    """How one delivery reconciled."""

    batch_id: str
    institution: str
    source: str
    status: str  # committed | unchanged (the same content was ingested before)
    received: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    unresolved_references: int = 0
    unresolved_sample: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def batch_id_for(institution: str, fingerprint: str) -> str:
    return hashlib.sha256(f"{institution}\0{fingerprint}".encode()).hexdigest()[:32]


def check_institution(institution: str) -> None:
    if not re.match(INSTITUTION_PATTERN, institution):
        raise ValueError(
            f"institution ids are 1-24 of a-z, 0-9 and '-', starting alphanumeric: {institution!r}"
        )


def ingest_path(
    workspace: Workspace, path: Path, institution: str, *, progress: ProgressCallback | None = None
) -> list[BatchReport]:
    """Ingest every FHIR file under ``path`` for ``institution``; one report per file."""
    check_institution(institution)
    deliveries = (file_delivery(file, institution) for file in find_files(Path(path)))
    return ingest_deliveries(
        workspace, deliveries, details={"path": str(path), "institution": institution}, progress=progress
    )


def ingest_deliveries(
    workspace: Workspace,
    deliveries: Iterable[Delivery],
    *,
    details: dict | None = None,
    progress: ProgressCallback | None = None,
) -> list[BatchReport]:
    """Ingest deliveries as one job; one report per delivery, in order.

    Every source kind ends here, so all of them share validation, de-duplication,
    quarantine, reconciliation and crash safety.
    """
    catalog = workspace.catalog
    job_id = catalog.start_job("ingest", details)
    reports: list[BatchReport] = []
    try:
        settings = workspace.settings
        file_rows = min(FILE_ROWS, settings.ingest_chunk_size)
        # the pool is ended before the scratch folder goes, so no worker still writes into it
        with (
            tempfile.TemporaryDirectory(prefix="medlake-ingest-") as spill,
            _examiner(settings.ingest_workers, Path(spill), file_rows) as run,
        ):
            group: _Group | None = None
            for delivery in deliveries:
                check_institution(delivery.institution)
                batch_id = batch_id_for(delivery.institution, delivery.fingerprint)
                previous = catalog.batch(batch_id)
                if previous is not None and previous.status == "committed":
                    reports.append(_unchanged(previous, delivery.source_uri))
                    continue
                # Judging records has no side effects, so the pool starts on this delivery now:
                # if the group must commit first, the workers examine while the parent commits.
                results = run(_work(delivery, settings.ingest_chunk_size))
                if group is not None and (group.institution != delivery.institution or group.full):
                    reports.extend(group.commit())
                    group = None
                if group is None:
                    catalog.ensure_institution(delivery.institution)
                    group = _Group(workspace, delivery.institution, job_id, Path(spill), len(reports))
                group.add(delivery, batch_id, results, progress)
            if group is not None:
                reports.extend(group.commit())
    except BaseException:
        catalog.finish_job(job_id, "failed")
        raise
    record_raw_datasets(workspace, job_id, [r.batch_id for r in reports if r.status == "committed"])
    catalog.finish_job(job_id, "succeeded", {"batches": [r.batch_id for r in reports]})
    return reports


@dataclass
class _Pending:
    """A batch of the group: its catalog row, its counts so far, and which commits it still needs."""

    batch_id: str
    source: str
    received: int = 0
    quarantined: int = 0
    needs_raw: bool = True
    needs_quarantine: bool = True


class _Group:
    """Deliveries of one institution that go into the lake together, one commit per table."""

    def __init__(self, workspace: Workspace, institution: str, job_id: str, spill: Path, serial: int) -> None:
        self.workspace, self.institution, self.job_id = workspace, institution, job_id
        self.raw_uri = workspace.lake.uri(Layer.RAW, RAW_RESOURCES)
        self.quarantine_uri = workspace.lake.uri(Layer.RAW, QUARANTINE)
        self.accepted = _Accepted(spill / f"accepted-{serial}.parquet", institution)
        self.rejected = _Spill(spill / f"rejected-{serial}.parquet", schemas.QUARANTINE, institution)
        self.batches: list[_Pending] = []
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
        batch_id: str,
        results: Iterator[ChunkResult],
        progress: ProgressCallback | None,
    ) -> None:
        """Open the delivery's batch and gather its examined records (``results``, in order)."""
        row = self.workspace.catalog.open_batch(
            batch_id,
            self.institution,
            delivery.source_kind,
            delivery.source_uri,
            delivery.fingerprint,
            self.job_id,
        )
        pending = _Pending(
            batch_id,
            delivery.source_uri,
            needs_raw=self.raw_table is None or self.raw_table.transaction_version(batch_id) is None,
            needs_quarantine=self.quarantine_table is None
            or self.quarantine_table.transaction_version(batch_id) is None,
        )
        seq = len(self.batches)
        constants = {"batch_id": batch_id, "received_at": row.started_at}
        for result in results:
            pending.received += result.received
            pending.quarantined += len(result.rejected)
            if pending.needs_quarantine:
                for outcome in result.rejected:
                    self.rejected.add(outcome, constants)
            # accepted rows are kept even when already committed: their references are still reported
            if result.accepted:
                self.accepted.add(result, batch_id, row.started_at, seq)
            if progress:
                progress(result.received)
        self.batches.append(pending)

    def commit(self) -> list[BatchReport]:
        """Write the group's two commits (those still missing), then close its batches."""
        lake, catalog = self.workspace.lake, self.workspace.catalog
        self.accepted.close()
        self.rejected.close()
        tags = {"medlake.job": self.job_id}
        stored: Counter[str] = Counter()
        raw_ids = [b.batch_id for b in self.batches if b.needs_raw]
        if raw_ids and self.accepted.count:
            with self.workspace.engine() as engine:
                reader = _new_resources(engine, self.workspace, self.raw_uri, self.institution, self.accepted)
                lake.write(
                    self.raw_uri,
                    _counting(reader, stored),
                    partition_by=["institution"],
                    app_ids=raw_ids,
                    metadata=tags,
                )
        quarantine_ids = [b.batch_id for b in self.batches if b.needs_quarantine]
        if quarantine_ids and self.rejected.count:
            table = pq.read_table(self.rejected.path, schema=schemas.QUARANTINE)
            lake.write(
                self.quarantine_uri,
                table,
                partition_by=["institution"],
                app_ids=quarantine_ids,
                metadata=tags,
            )
        resumed = [b.batch_id for b in self.batches if not b.needs_raw]
        if resumed:  # a crashed run committed these batches' rows already: count them in the lake
            stored.update(_stored_counts(self.workspace, self.raw_uri, resumed))
        unresolved = unresolved_references(self.workspace, self.institution, self.accepted)
        # the job's later groups need no room for the scratch files
        for scratch in (*self.accepted.paths, self.rejected.path):
            Path(scratch).unlink(missing_ok=True)
        reports = []
        for pending in self.batches:
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
            reports.append(_report(closed, "committed"))
        return reports


def record_raw_datasets(workspace: Workspace, job_id: str, new_batches: list[str]) -> None:
    """Catalog the raw layer's tables as they stand after this job; its new batches join their lineage."""
    batches = [LineageInput("batch", batch_id) for batch_id in new_batches]
    for name, description in (
        (RAW_RESOURCES, "every received resource as sent, with batch, source file, line and content hash"),
        (QUARANTINE, "every rejected record with its stage, reason and raw text"),
    ):
        uri = workspace.lake.uri(Layer.RAW, name)
        stats = workspace.lake.stats(uri)
        if stats is None:
            continue
        workspace.catalog.record_dataset(
            name=f"raw.{name}",
            layer=Layer.RAW.value,
            uri=uri,
            version=stats.version,
            rows=stats.rows,
            rows_by_institution=stats.rows_by_institution,
            schema=schema_description(stats.schema),
            job_id=job_id,
            inputs=batches,
            description=description,
            append_lineage=True,
        )


Examiner = Callable[[Iterable[Work]], Iterator[ChunkResult]]


class _examiner:
    """Runs ``examine_work`` inline (1 worker) or in a process pool, preserving order.

    Chunks are numbered here, in the order they are handed out, and a chunk's accepted rows
    go to a file of their own under ``spill`` (from ``file_rows`` rows on) named by its
    number, so names never clash between workers or deliveries.
    """

    def __init__(self, workers: int, spill: Path, file_rows: int) -> None:
        self.workers, self.spill, self.file_rows = workers, spill, file_rows
        self.pool: multiprocessing.pool.Pool | None = None
        self.numbers = count()

    def _tasks(self, work: Iterable[Work]) -> Iterator[Task]:
        for item in work:
            number = next(self.numbers)
            yield Task(number, str(self.spill / f"chunk-{number}.parquet"), self.file_rows, item)

    def __enter__(self) -> Examiner:
        # Built once here, before the fork, so every worker of every job inherits the decoder
        # instead of generating its Structs again (a third of a second per worker).
        structs.decoder()
        if self.workers <= 1:
            return lambda work: map(examine_work, self._tasks(work))
        self.pool = multiprocessing.get_context("fork").Pool(self.workers, initializer=_worker_started)
        pool = self.pool
        return lambda work: pool.imap(examine_work, self._tasks(work))

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


def _worker_started() -> None:
    """Garbage-collector settings for an examining worker (about a tenth of its CPU otherwise).

    Everything inherited from the parent is frozen, so collections do not rescan it, and the
    young generation is collected less often: judging a chunk allocates many short-lived
    containers (the parsed JSON) and almost no cycles.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _work(delivery: Delivery, size: int) -> Iterator[Work]:
    """The delivery as work for the examiner: blocks of raw lines if it offers them, else packed
    chunks of its records; nothing is read before the first item is asked for."""
    if delivery.blocks is not None:
        yield from delivery.blocks(size)
    else:
        yield from (pack(chunk) for chunk in _chunks(delivery.read, size))


def _chunks(read: Callable[[], Iterable[Record]], size: int) -> Iterator[list[Record]]:
    """The records ``read()`` gives, ``size`` at a time; ``read`` is called at the first chunk, not before."""
    iterator = iter(read())
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Accepted:
    """The group's accepted rows: the files the workers wrote, one per chunk, plus one file of the
    chunks that came back as record batches, written here.

    The batch's constants (institution, batch id, received time, delivery order) are not in
    the files: a worker examines a delivery before the parent knows which group it joins (or
    has opened its batch), and the engine joins them per chunk at next to no cost.
    """

    FLUSH_ROWS = 10_000

    def __init__(self, path: Path, institution: str) -> None:
        self.path, self.institution = path, institution
        self.paths: list[str] = []
        self.chunks: list[int] = []
        self.batch_ids: list[str] = []
        self.received_at: list[datetime] = []
        self.seqs: list[int] = []
        self.writer: pq.ParquetWriter | None = None
        self.batches: list[pa.RecordBatch] = []
        self.buffered = 0
        self.count = 0

    def add(self, result: ChunkResult, batch_id: str, received_at: datetime, seq: int) -> None:
        self.chunks.append(result.chunk)
        self.batch_ids.append(batch_id)
        self.received_at.append(received_at)
        self.seqs.append(seq)
        self.count += result.accepted
        if result.spill is not None:
            self.paths.append(result.spill)
        elif result.rows is not None:
            self.batches.append(result.rows)
            self.buffered += result.accepted
            if self.buffered >= self.FLUSH_ROWS:
                self._flush()

    def _flush(self) -> None:
        if not self.batches:
            return
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.path, ACCEPTED, compression="none", use_dictionary=SPILL_DICTIONARY
            )
            self.paths.append(str(self.path))
        batches, self.batches, self.buffered = self.batches, [], 0
        self.writer.write_table(pa.Table.from_batches(batches, schema=ACCEPTED))

    def close(self) -> None:
        self._flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def files(self, engine: Engine) -> str:
        """The files as a ``read_parquet`` argument."""
        return "[" + ", ".join(engine.dialect.string_literal(path) for path in self.paths) + "]"

    def relation(self, engine: Engine) -> str:
        """SQL for the rows with the raw layer's columns plus ``_seq``, ``_chunk`` and ``_row``.

        Registers the constants per chunk in ``engine`` as ``accepted_chunks``; the engine
        reads only the columns a query uses.
        """
        engine.register(
            "accepted_chunks",
            pa.table(
                {
                    CHUNK: pa.array(self.chunks, pa.int64()),
                    "batch_id": pa.array(self.batch_ids, pa.string()),
                    "received_at": pa.array(self.received_at, schemas.TIMESTAMP),
                    SEQ: pa.array(self.seqs, pa.int64()),
                }
            ),
        )
        institution = engine.dialect.string_literal(self.institution)
        return f"""(
            SELECT rows.*, {institution} AS institution, c.batch_id, c.received_at, c.{SEQ}
            FROM read_parquet({self.files(engine)}) rows JOIN accepted_chunks c USING ({CHUNK})
        )"""


_SPILL_DICTIONARY = {"institution", "batch_id", "source_file", "stage"}


class _Spill:
    """Rejected rows written to a local Parquet file as they come, so memory stays flat.

    The batch's constants (institution, batch id, received time) become columns here.
    """

    FLUSH_ROWS = 10_000

    def __init__(self, path: Path, schema: pa.Schema, institution: str) -> None:
        self.path, self.schema, self.institution = path, schema, institution
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[tuple[Rejected, dict]] = []
        self.count = 0

    def add(self, outcome: Rejected, constants: dict) -> None:
        self.pending.append((outcome, constants))
        self.count += 1
        if len(self.pending) >= self.FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        rows, self.pending = self.pending, []
        fields = rows[0][0]._fields
        data: dict[str, list] = {name: [getattr(row, name) for row, _ in rows] for name in fields}
        data["institution"] = [self.institution] * len(rows)
        for name in rows[0][1]:
            data[name] = [constants[name] for _, constants in rows]
        table = pa.table({f.name: data[f.name] for f in self.schema}, schema=self.schema)
        if self.writer is None:
            # a local scratch file read once: not compressing it (nor trying dictionaries on the
            # raw text) saves more CPU than the bigger file costs
            small = [f.name for f in self.schema if f.name in _SPILL_DICTIONARY]
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="none", use_dictionary=small)
        self.writer.write_table(table)

    def close(self) -> None:
        self._flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _new_resources(
    engine: Engine, workspace: Workspace, raw_uri: str, institution: str, accepted: _Accepted
) -> pa.RecordBatchReader:
    """The accepted rows whose content the institution has not delivered before.

    An anti-join against the ``content_hash`` column of the institution's raw files, plus
    de-duplication inside the group (first delivery, first line wins), done by the engine
    over Parquet so the lake never has to fit in memory.
    """
    quote = engine.dialect.string_literal
    spill = accepted.relation(engine)
    existing = workspace.lake.files(raw_uri, f"institution = {quote(institution)}")
    known = ""
    if existing:
        # Only resources with an id in this group can repeat earlier content: read just their
        # hashes, so the cost is a scan of one column, not the lake's hashes in memory.
        ids = engine.sql(f"SELECT DISTINCT resource_id FROM read_parquet({accepted.files(engine)})").column(0)
        hashes = pads.dataset(existing, format="parquet").to_table(
            columns=["content_hash"], filter=pads.field("resource_id").isin(ids)
        )
        engine.register("existing", hashes)
        known = "WHERE content_hash NOT IN (SELECT content_hash FROM existing)"
    columns = ", ".join(engine.dialect.quote_identifier(f.name) for f in schemas.RAW_RESOURCES)
    # ranked on the key columns only; the text is joined to the winners, never sorted by the window
    # (the place in the delivery breaks ties, such as one line number twice in a delivery)
    order = f"{SEQ}, line, {CHUNK}, {ROW}"
    query = f"""
        WITH keep AS (
            SELECT {CHUNK}, {ROW} FROM {spill}
            {known}
            QUALIFY row_number() OVER (PARTITION BY content_hash ORDER BY {order}) = 1
        )
        SELECT {columns} FROM {spill} SEMI JOIN keep USING ({CHUNK}, {ROW})
        ORDER BY {order}
    """
    return engine.sql_batches(query)


def _counting(reader: pa.RecordBatchReader, counts: Counter[str]) -> pa.RecordBatchReader:
    """The same stream, counting rows per batch id as the writer consumes them."""

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            for entry in pc.value_counts(batch.column("batch_id")).to_pylist():
                counts[entry["values"]] += entry["counts"]
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _stored_counts(workspace: Workspace, raw_uri: str, batch_ids: list[str]) -> Counter[str]:
    dataset = workspace.lake.dataset(raw_uri)
    if dataset is None:
        return Counter()
    table = dataset.to_table(columns=["batch_id"], filter=pads.field("batch_id").isin(batch_ids))
    return Counter(table.column("batch_id").to_pylist())


def unresolved_references(
    workspace: Workspace, institution: str, accepted: _Accepted
) -> dict[str, list[str]]:
    """Per batch: references its resources make that nothing the institution sent resolves.

    Bulk data arrives in any order, so these are reported, never rejected; a later batch
    may bring the targets. Literal references are checked against type/id, conditional
    ones (``Type?identifier=system|value``) against the identifiers received.
    """
    if not accepted.paths:
        return {}
    raw_files = workspace.lake.files(
        workspace.lake.uri(Layer.RAW, RAW_RESOURCES), f"institution = '{institution}'"
    )
    with workspace.engine() as engine:
        if raw_files:
            # registered lazily: the engine scans only the columns it needs, streaming
            engine.register("known_rows", pads.dataset(raw_files, format="parquet"))
        else:
            empty = "resource_type VARCHAR, resource_id VARCHAR, identifiers VARCHAR[]"
            engine.sql(f"CREATE TEMP TABLE known_rows ({empty})")
        rows = engine.sql(
            f"""
            WITH made AS (
                SELECT DISTINCT batch_id, unnest(refs) AS ref FROM {accepted.relation(engine)}
            ), known AS (
                SELECT resource_type || '/' || resource_id AS key FROM known_rows
                UNION ALL
                SELECT unnest(identifiers) AS key FROM known_rows
            )
            SELECT batch_id, ref FROM made ANTI JOIN known ON made.ref = known.key ORDER BY batch_id, ref
            """
        ).to_pylist()
    missing: dict[str, list[str]] = {}
    for row in rows:
        missing.setdefault(row["batch_id"], []).append(row["ref"])
    return missing


def _report(batch: Batch, status: str) -> BatchReport:
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


def _unchanged(previous: Batch, source: str) -> BatchReport:
    """The same content was ingested before: the whole delivery counts as duplicates."""
    report = _report(previous, "unchanged")
    report.source = source
    report.stored = report.quarantined = 0
    report.duplicates = report.received
    report.unresolved_references, report.unresolved_sample = 0, []
    return report
