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

import gc
import hashlib
import multiprocessing
import multiprocessing.pool
import re
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from itertools import count, islice
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from deltalake import DeltaTable

from medlake.catalog.models import Batch
from medlake.catalog.store import LineageInput, schema_description
from medlake.engine import Engine
from medlake.errors import InstitutionError
from medlake.fhir import structs
from medlake.fhir.reading import Record, find_files
from medlake.ingest.delivery import Delivery, file_delivery
from medlake.ingest.examine import (
    CHUNK,
    FILE_DICTIONARY,
    NO_STATS,
    ROW,
    ChunkResult,
    Destination,
    Rejected,
    Task,
    Work,
    examine_work,
    pack,
)
from medlake.lake.files import (
    COMPRESSION,
    DataFile,
    FileTarget,
    delete_data_file,
    read_data_file,
    write_data_file,
)
from medlake.lake.scan import scanned
from medlake.lake.tables import (
    QUARANTINE,
    QUARANTINE_SCHEMA,
    RAW_RESOURCES,
    RAW_RESOURCES_SCHEMA,
    RAW_TABLES,
    Layer,
)
from medlake.workspace import Workspace

INSTITUTION_PATTERN = r"^[a-z0-9][a-z0-9-]{0,23}$"
ProgressCallback = Callable[[int], None]
#: Deliveries per commit at most, so a folder of many tiny files does not pay one commit each
#: nor grow one commit without bound.
GROUP_DELIVERIES = 2_000
#: Accepted rows of a chunk from which a worker writes them as a data file itself: a file costs
#: one to two milliseconds to write, an entry in the Delta log and a read for every later scan,
#: about what sending this many rows through the pipe costs; fewer come back to the parent,
#: which writes a group's small chunks as one file (a folder of many small deliveries would
#: otherwise leave a tiny file each). A full chunk (``ingest_chunk_size`` accepted rows) always
#: gets a file, however small the setting.
FILE_ROWS = 500
REMEMBERED = ["resource_type", "resource_id", "content_hash"]
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
        raise InstitutionError(
            f"institution ids are 1-24 of a-z, 0-9 and '-', starting alphanumeric: {institution!r}"
        )


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
    lines = workspace.settings.ingest_chunk_size
    deliveries = (
        file_delivery(file, institution, lines)
        for path, institution in sources
        for file in find_files(Path(path))
    )
    details = {"sources": [{"path": str(path), "institution": institution} for path, institution in sources]}
    return ingest_deliveries(workspace, deliveries, details=details, progress=progress)


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
    reports: list[BatchReport] = []
    with catalog.job("ingest", details) as run:
        job_id = run.id
        settings = workspace.settings
        file_rows = min(FILE_ROWS, settings.ingest_chunk_size)
        raw_uri = workspace.lake.uri(Layer.RAW, RAW_RESOURCES)
        institutions: set[str] = set()
        # the pool is ended before the job's unclaimed files go, so no worker still writes one
        with (
            _Written() as written,
            _examiner(settings.ingest_workers, file_rows, written) as examiner,
            tempfile.TemporaryDirectory(prefix="medlake-ingest-") as spill,
            workspace.engine() as engine,
        ):
            job = _Job(workspace, job_id, Path(spill), written, engine, reports)
            group: _Group | None = None
            # The deliveries are examined one ahead of gathering: while the parent gathers (and
            # perhaps commits) one, the workers already have the next, whose file the parent read
            # and fingerprinted meanwhile, so they never wait for it at a delivery's end.
            ahead: tuple[Delivery, Batch, Iterator[ChunkResult]] | None = None
            for delivery in deliveries:
                check_institution(delivery.institution)
                batch_id = batch_id_for(delivery.institution, delivery.fingerprint)
                previous = catalog.batch(batch_id)
                if previous is not None and previous.status == "committed":
                    reports.append(_unchanged(previous, delivery.source_uri))
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
                results = examiner.run(_work(delivery, settings.ingest_chunk_size), destination)
                if ahead is not None:
                    group = _gather(job, group, ahead, progress)
                ahead = (delivery, batch, results)
            if ahead is not None:
                group = _gather(job, group, ahead, progress)
            if group is not None:
                reports.extend(group.commit())
        record_raw_datasets(workspace, job_id, [r.batch_id for r in reports if r.status == "committed"])
        run.summary["batches"] = [r.batch_id for r in reports]
    return reports


#: Keys of rows a job remembers committing (per institution, about 100 bytes each); beyond
#: this, its groups ask the lake instead, so a job's memory stays bounded however large it is.
REMEMBERED_ROWS = 4_000_000


@dataclass
class _Job:
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
    written: _Written
    engine: Engine
    reports: list[BatchReport]
    in_lake: dict[str, bool] = field(default_factory=dict)  # institution → read the lake for it?
    committed: dict[str, list[pa.Table]] = field(default_factory=dict)  # institution → rows' keys
    remembered: int = 0

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


def _gather(
    job: _Job,
    group: _Group | None,
    examined: tuple[Delivery, Batch, Iterator[ChunkResult]],
    progress: ProgressCallback | None,
) -> _Group:
    """Add an examined delivery to its group, committing the group before if it cannot take it."""
    delivery, batch, results = examined
    if group is not None and (group.institution != delivery.institution or group.full):
        job.reports.extend(group.commit())
        group = None
    if group is None:
        group = _Group(job, delivery.institution)
    group.add(delivery, batch, results, progress)
    return group


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

    def __init__(self, job: _Job, institution: str) -> None:
        workspace, serial = job.workspace, len(job.reports)
        self.workspace, self.institution, self.job_id = workspace, institution, job.id
        self.job, self.engine = job, job.engine
        self.raw_uri = workspace.lake.uri(Layer.RAW, RAW_RESOURCES)
        self.quarantine_uri = workspace.lake.uri(Layer.RAW, QUARANTINE)
        target = workspace.lake.file_target(self.raw_uri, {"institution": institution})
        self.accepted = _Accepted(target, job.written, serial)
        self.rejected = _Spill(job.spill / f"rejected-{serial}.parquet", QUARANTINE_SCHEMA, institution)
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
        batch: Batch,
        results: Iterator[ChunkResult],
        progress: ProgressCallback | None,
    ) -> None:
        """Gather the examined records (``results``, in order) of the delivery's open batch."""
        pending = _Pending(
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
        """Write the group's two commits (those still missing), then close its batches."""
        lake, catalog = self.workspace.lake, self.workspace.catalog
        self.rejected.close()
        tags = {"medlake.job": self.job_id}
        stored: Counter[str] = Counter()
        raw_ids = [b.batch_id for b in self.batches if b.needs_raw]
        job, institution = self.job, self.institution
        in_lake = job.reads_lake(institution, self.raw_table)
        if raw_ids and self.accepted.count:
            keys = self.accepted.key_table()
            lake_rows = self.raw_table if in_lake else None
            repeated = _repeated_rows(self.engine, lake_rows, institution, keys, job.known(institution))
            files = self.accepted.keep(_rows_by_chunk(repeated))
            if files:
                lake.commit_files(
                    self.raw_uri,
                    files,
                    schema=RAW_RESOURCES_SCHEMA,
                    partition_by=["institution"],
                    app_ids=raw_ids,
                    metadata=tags,
                )
                self.accepted.written.settle(file.path for file in files)
                job.remember(institution, _unrepeated(keys, repeated))
            for batch_id, rows in _count(keys.column("batch_id")).items():
                stored[batch_id] += rows
            for batch_id, rows in _count(repeated.column("batch_id")).items():
                stored[batch_id] -= rows
        self.accepted.discard()
        quarantine_ids = [b.batch_id for b in self.batches if b.needs_quarantine]
        if quarantine_ids and self.rejected.count:
            table = pq.read_table(self.rejected.path, schema=QUARANTINE_SCHEMA)
            lake.write(
                self.quarantine_uri,
                table,
                partition_by=["institution"],
                app_ids=quarantine_ids,
                metadata=tags,
                long_text=["raw", "reason"],
            )
        resumed = [b.batch_id for b in self.batches if not b.needs_raw]
        if resumed:  # a crashed run committed these batches' rows already: count them in the lake
            stored.update(_stored_counts(self.workspace, self.raw_uri, resumed))
        made = self.accepted.references()
        in_lake = job.reads_lake(institution, self.raw_table)  # the job may have stopped remembering
        raw = lake.table(self.raw_uri) if in_lake or pc.any(_conditional(made)).as_py() else None
        unresolved = unresolved_references(self.engine, raw, institution, made, job.known(institution))
        # the job's later groups need no room for the scratch file
        Path(self.rejected.path).unlink(missing_ok=True)
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
    for name, description in RAW_TABLES.items():
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


class _Written:
    """The data files this job's workers and groups may have written that no commit has taken yet.

    Whatever ends the job, these are removed on the way out (after the pool has stopped), so a
    failed job leaves no file behind; only a killed one can, for ``Lake.vacuum`` to remove.
    """

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex  # names never clash with another job's, even a killed one's
        self.unclaimed: dict[str, FileTarget] = {}

    def name(self, number: int, kind: str) -> str:
        return f"part-{number:05d}-{self.token}-{kind}.{COMPRESSION}.parquet"

    def expect(self, target: FileTarget, name: str) -> None:
        self.unclaimed[f"{target.directory}/{name}"] = target

    def settle(self, paths: Iterable[str]) -> None:
        """These files are committed or gone: no longer the job's to remove."""
        for path in paths:
            self.unclaimed.pop(path, None)

    def remove(self, paths: Iterable[str]) -> None:
        for path in paths:
            target = self.unclaimed.pop(path, None)
            if target is not None:
                delete_data_file(target, path)

    def __enter__(self) -> _Written:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove(list(self.unclaimed))


class _examiner:
    """Runs ``examine_work`` inline (1 worker) or in a process pool, preserving order.

    Chunks are numbered here, in the order they are handed out, and a chunk's accepted rows
    go to a data file (from ``file_rows`` rows on) named by its number, noted in ``written``.
    """

    def __init__(self, workers: int, file_rows: int, written: _Written) -> None:
        self.workers, self.file_rows, self.written = workers, file_rows, written
        self.pool: multiprocessing.pool.Pool | None = None
        self.numbers = count()

    def _tasks(self, work: Iterable[Work], destination: Destination) -> Iterator[Task]:
        for item in work:
            number = next(self.numbers)
            name = self.written.name(number, "c000")
            self.written.expect(destination.target, name)
            yield Task(number, name, self.file_rows, destination, item)

    def run(self, work: Iterable[Work], destination: Destination) -> Iterator[ChunkResult]:
        """The chunks' results, in order; the work is handed out as the results are asked for."""
        tasks = self._tasks(work, destination)
        if self.pool is None:
            return map(examine_work, tasks)
        return self.pool.imap(examine_work, tasks)

    def __enter__(self) -> _examiner:
        # Built once here, before the fork, so every worker of every job inherits the decoder
        # instead of generating its Structs again (a third of a second per worker).
        structs.decoder()
        if self.workers > 1:
            self.pool = multiprocessing.get_context("fork").Pool(self.workers, initializer=_worker_started)
        return self

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
    """The delivery as work for the examiner: spans of raw lines if it offers them, else packed
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
    """The group's accepted rows: the data files the workers wrote, one per chunk, the rows of
    small chunks (written as one file here), and every row's key and references.

    Only the keys are looked at before the commit: files are read back only if some of their
    rows repeat content already sent, which is rare.
    """

    def __init__(self, target: FileTarget, written: _Written, serial: int) -> None:
        self.target, self.written, self.serial = target, written, serial
        self.files: dict[int, DataFile] = {}  # chunk → its file
        self.small: list[tuple[int, pa.RecordBatch]] = []  # chunk → its rows, for chunks without a file
        self.keys: list[pa.RecordBatch] = []  # KEYS + chunk, row, seq and batch of every row, in order
        self.refs: dict[str, list[pa.Array]] = {}  # batch → distinct reference keys per chunk
        self.count = 0

    def add(self, result: ChunkResult, batch_id: str, seq: int) -> None:
        if result.file is None:  # the worker wrote nothing under the name it was given
            self.written.settle([f"{self.target.directory}/{self.written.name(result.chunk, 'c000')}"])
        if not result.accepted:
            return
        self.count += result.accepted
        if result.file is not None:
            self.files[result.chunk] = result.file
        elif result.rows is not None:
            self.small.append((result.chunk, result.rows))
        keys, rows = result.keys, result.accepted
        assert keys is not None and result.refs is not None
        extra = {
            CHUNK: pa.repeat(pa.scalar(result.chunk, pa.int64()), rows),
            ROW: pa.array(range(rows), pa.int64()),
            SEQ: pa.repeat(pa.scalar(seq, pa.int64()), rows),
            "batch_id": pa.repeat(pa.scalar(batch_id, pa.string()), rows),
        }
        self.keys.append(
            pa.RecordBatch.from_arrays(
                [*keys.columns, *extra.values()], names=[*keys.schema.names, *extra.keys()]
            )
        )
        self.refs.setdefault(batch_id, []).append(result.refs)

    def key_table(self) -> pa.Table:
        return pa.Table.from_batches(self.keys)

    def references(self) -> pa.Table:
        """Distinct (batch id, reference key) over the group's accepted rows."""
        batches, refs = [], []
        for batch_id, arrays in self.refs.items():
            values = pc.unique(pa.chunked_array(arrays, pa.string()))
            refs.append(values)
            batches.append(pa.repeat(pa.scalar(batch_id, pa.string()), len(values)))
        if not refs:
            return pa.table({"batch_id": pa.array([], pa.string()), "ref": pa.array([], pa.string())})
        return pa.table({"batch_id": pa.concat_arrays(batches), "ref": pa.concat_arrays(refs)})

    def keep(self, repeated: dict[int, pa.Array]) -> list[DataFile]:
        """The files to commit, without the ``repeated`` rows (chunk → row numbers), in order.

        Files holding repeated rows are written again without them and the originals removed;
        the rows of small chunks become one file.
        """
        keep: list[DataFile] = []
        for chunk in sorted(self.files):
            file = self.files[chunk]
            if chunk not in repeated:
                keep.append(file)
                continue
            rows = read_data_file(self.target, file)
            left = rows.filter(_unmarked(rows.num_rows, repeated[chunk]))
            if left.num_rows:
                keep.append(self._write(left, self.written.name(chunk, "c001")))
            self.written.remove([file.path])
        tables = [
            pa.Table.from_batches([rows]).filter(_unmarked(rows.num_rows, repeated[chunk]))
            if chunk in repeated
            else pa.Table.from_batches([rows])
            for chunk, rows in self.small
        ]
        if tables and (left := pa.concat_tables(tables)).num_rows:
            keep.append(self._write(left, self.written.name(self.serial, "s000")))
        return keep

    def _write(self, rows: pa.Table, name: str) -> DataFile:
        self.written.expect(self.target, name)
        return write_data_file(self.target, name, rows, dictionary=FILE_DICTIONARY, no_stats=NO_STATS)

    def discard(self) -> None:
        """Remove the group's files that no commit took (all of them if none was needed)."""
        self.written.remove([file.path for file in self.files.values()])


def _unmarked(rows: int, marked: pa.Array) -> pa.Array:
    """A filter keeping the rows whose numbers are not in ``marked``."""
    return pc.invert(pc.is_in(pa.array(range(rows), pa.int64()), value_set=marked))


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


def _repeated_rows(
    engine: Engine, raw: DeltaTable | None, institution: str, keys: pa.Table, job_rows: pa.Table | None
) -> pa.Table:
    """(chunk, row, batch id) of the accepted rows whose content the institution sent before.

    That is content already in the institution's rows of ``raw`` (the raw layer before this
    commit; None when the job remembers all of them), in ``job_rows`` (what the job committed
    for it), or a copy earlier in the group (first delivery, first line wins; the place in the
    delivery breaks ties, such as one line number twice in a delivery). Only keys are read,
    never the rows' text.
    """
    with ExitStack() as scope:
        scope.enter_context(engine.registered("group_keys", keys))
        known = "FALSE"
        with ExitStack() as inputs:
            sources = []
            if raw is not None:
                # Only resources with an id in this group can repeat earlier content: the engine reads
                # the hashes of just those, from the institution's files alone.
                inputs.enter_context(scanned(engine, "lake_rows", raw.table_uri, raw))
                owner = engine.dialect.string_literal(institution)
                sources.append(f"SELECT resource_id, content_hash FROM lake_rows WHERE institution = {owner}")
            if job_rows is not None:
                inputs.enter_context(engine.registered("job_rows", job_rows))
                sources.append("SELECT resource_id, content_hash FROM job_rows")
            if sources:
                existing = (
                    f"SELECT content_hash FROM ({' UNION ALL '.join(sources)}) "
                    "WHERE resource_id IN (SELECT resource_id FROM group_keys)"
                )
                scope.enter_context(engine.temporary("existing", existing))
                known = "content_hash IN (SELECT content_hash FROM existing)"
        # the engine serves the whole job: every name above is gone when this returns
        later_copy = f"row_number() OVER (PARTITION BY content_hash ORDER BY {SEQ}, line, {CHUNK}, {ROW}) > 1"
        repeated = engine.dialect.qualify([CHUNK, ROW, "batch_id"], "group_keys", f"{known} OR {later_copy}")
        return engine.sql(f"{repeated} ORDER BY {CHUNK}, {ROW}")


def _unrepeated(keys: pa.Table, repeated: pa.Table) -> pa.Table:
    """The group's keys without the ``repeated`` rows: those of the rows it commits."""
    if not repeated.num_rows:
        return keys
    place = pc.add(pc.multiply(keys.column(CHUNK), 1 << 32), keys.column(ROW))
    dropped = pc.add(pc.multiply(repeated.column(CHUNK), 1 << 32), repeated.column(ROW))
    return keys.filter(pc.invert(pc.is_in(place, value_set=pa.chunked_array(dropped).combine_chunks())))


def _conditional(made: pa.Table) -> pa.Array:
    """Which references made are conditional (``Type?identifier``): only the lake has identifiers."""
    return pc.greater(pc.find_substring(made.column("ref"), "?"), -1)


def _rows_by_chunk(rows: pa.Table) -> dict[int, pa.Array]:
    """Chunk → its row numbers among ``rows`` (which are in chunk order)."""
    chunks = rows.column(CHUNK).to_numpy()
    numbers = rows.column(ROW).combine_chunks()
    found: dict[int, pa.Array] = {}
    start = 0
    for end in [*(i + 1 for i in range(len(chunks) - 1) if chunks[i] != chunks[i + 1]), len(chunks)]:
        if end > start:
            found[int(chunks[start])] = numbers.slice(start, end - start)
        start = end
    return found


def _count(values: pa.ChunkedArray) -> dict[str, int]:
    return {entry["values"]: entry["counts"] for entry in pc.value_counts(values).to_pylist()}


def _stored_counts(workspace: Workspace, raw_uri: str, batch_ids: list[str]) -> Counter[str]:
    dataset = workspace.lake.dataset(raw_uri)
    if dataset is None:
        return Counter()
    table = dataset.to_table(columns=["batch_id"], filter=pads.field("batch_id").isin(batch_ids))
    return Counter(table.column("batch_id").to_pylist())


def unresolved_references(
    engine: Engine,
    raw: DeltaTable | None,
    institution: str,
    made: pa.Table,
    job_rows: pa.Table | None = None,
) -> dict[str, list[str]]:
    """Per batch: references its resources make (``made``: batch id, reference key) that nothing
    the institution sent resolves.

    What it sent is its rows in ``raw`` (None when the job remembers all of them: then
    ``made`` has no conditional reference) and in ``job_rows`` (type, id and content hash of
    the rows the job committed for it). Bulk data arrives in any order, so these are
    reported, never rejected; a later batch may bring the targets. Literal references are
    checked against type/id, conditional ones (``Type?identifier=system|value``) against the
    identifiers received.
    """
    if not made.num_rows:
        return {}
    is_conditional = _conditional(made)
    literal, conditional = made.filter(pc.invert(is_conditional)), made.filter(is_conditional)
    sent = []  # relations of (resource_type, resource_id) the institution sent
    with ExitStack() as scope:
        if raw is not None:
            scope.enter_context(scanned(engine, "lake_rows", raw.table_uri, raw))
            institution_rows = (
                f"(SELECT * FROM lake_rows WHERE institution = {engine.dialect.string_literal(institution)})"
            )
            sent.append(f"SELECT resource_type, resource_id FROM {institution_rows}")
        if job_rows is not None:
            scope.enter_context(engine.registered("job_rows", job_rows))
            sent.append("SELECT resource_type, resource_id FROM job_rows")
        rows = literal.to_pylist()
        if sent:
            with engine.registered("made", literal):
                rows = engine.sql(
                    f"""
                    SELECT batch_id, ref FROM made
                    {engine.dialect.anti_join()} ({" UNION ALL ".join(sent)}) known
                    ON made.ref = known.resource_type || '/' || known.resource_id
                    """
                ).to_pylist()
        if conditional.num_rows and raw is None:
            rows += conditional.to_pylist()
        elif conditional.num_rows:  # only then are identifiers unnested (bulk exports have none)
            with engine.registered("made_conditional", conditional):
                rows += engine.sql(
                    f"""
                    SELECT batch_id, ref FROM made_conditional {engine.dialect.anti_join()}
                    (SELECT {engine.dialect.unnest("identifiers")} AS key FROM {institution_rows}) known
                    ON ref = known.key
                    """
                ).to_pylist()
    missing: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda row: (row["batch_id"], row["ref"])):
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
