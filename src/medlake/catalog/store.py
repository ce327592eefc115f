"""The ``Catalog`` facade: every catalog read and write the platform makes goes through here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from medlake.catalog.models import Batch, Dataset, Institution, Job, Lineage, Source, SourceState
from medlake.catalog.statuses import BatchStatus, JobStatus
from medlake.lake.tables import checked_location, table_location
from medlake.secrets import check_no_literal_secret

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_SECONDS = 60


def schema_description(schema: pa.Schema) -> list[dict]:
    """An Arrow schema as plain data for the catalog."""
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LineageInput:
    """An input of a dataset version: ``kind`` is ``batch`` or ``dataset``."""

    kind: str
    name: str
    version: int | None = None


@dataclass(frozen=True)
class BuiltTable:
    """A table a build step has just committed: what the catalog records of its new version.

    ``inputs`` are ``(kind, name, version)`` triples, as :class:`LineageInput` takes them.
    ``uri`` is where it was just written; the catalog records its :attr:`location` instead.
    ``written`` is False for a table an incremental build checked and left as it was (its
    ``version`` is the one already in the lake; its ``inputs`` say what it now shows).
    """

    name: str
    layer: str
    uri: str
    version: int | None
    rows: int
    rows_by_institution: dict[str, int]
    schema: pa.Schema
    inputs: list[tuple[str, str, int | None]]
    written: bool = True

    @property
    def location(self) -> str:
        """Where the table lives, relative to the lake root (``name`` is ``layer.table``)."""
        return table_location(self.layer, self.name.split(".", 1)[1])


@dataclass
class JobRun:
    """A job while it runs: its id (for what it writes) and the summary its end records."""

    id: str
    summary: dict = field(default_factory=dict)


class Catalog:
    """Datasets, batches, jobs, institutions and lineage, in SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Concurrent writers (two ingests, their lease renewals) wait for SQLite's write lock
        # rather than fail after the driver's default five seconds.
        options = {"connect_args": {"timeout": SQLITE_BUSY_SECONDS}} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, **options)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the catalog's schema to the newest migration (safe to call every start)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    # institutions -----------------------------------------------------------------
    def ensure_institution(
        self, institution_id: str, name: str | None = None, kind: str | None = None
    ) -> None:
        try:
            self._ensure_institution(institution_id, name, kind)
        except IntegrityError:  # another process added it between our read and our insert
            self._ensure_institution(institution_id, name, kind)

    def _ensure_institution(self, institution_id: str, name: str | None, kind: str | None) -> None:
        with self.session() as s:
            row = s.get(Institution, institution_id)
            if row is None:
                s.add(Institution(id=institution_id, name=name, kind=kind, created_at=utcnow()))
            else:
                row.name = name or row.name
                row.kind = kind or row.kind

    def institutions(self) -> list[Institution]:
        with self.session() as s:
            return list(s.scalars(select(Institution).order_by(Institution.id)))

    # jobs -------------------------------------------------------------------------
    def start_job(self, kind: str, details: dict | None = None) -> str:
        job_id = str(uuid.uuid4())
        with self.session() as s:
            s.add(Job(id=job_id, kind=kind, status=JobStatus.RUNNING, started_at=utcnow(), details=details))
        return job_id

    @contextmanager
    def job(self, kind: str, details: dict | None = None) -> Iterator[JobRun]:
        """One job around a block: running inside it, ``failed`` if it raises (even a kill signal's
        KeyboardInterrupt), ``succeeded`` with the block's ``summary`` otherwise."""
        run = JobRun(self.start_job(kind, details))
        try:
            yield run
        except BaseException:
            self.finish_job(run.id, JobStatus.FAILED)
            raise
        self.finish_job(run.id, JobStatus.SUCCEEDED, run.summary)

    def finish_job(self, job_id: str, status: JobStatus, details: dict | None = None) -> None:
        with self.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise KeyError(f"no job {job_id}")
            job.status = status
            job.finished_at = utcnow()
            if details is not None:
                job.details = {**(job.details or {}), **details}

    def latest_job(self, kind: str) -> str | None:
        """The id of the most recently started job of ``kind`` (whatever its status)."""
        query = select(Job.id).where(Job.kind == kind).order_by(Job.started_at.desc()).limit(1)
        with self.session() as s:
            return s.scalars(query).first()

    def jobs(self, limit: int = 50) -> list[Job]:
        with self.session() as s:
            return list(s.scalars(select(Job).order_by(Job.started_at.desc()).limit(limit)))

    # batches ----------------------------------------------------------------------
    def batch(self, batch_id: str) -> Batch | None:
        with self.session() as s:
            return s.get(Batch, batch_id)

    def open_batch(
        self,
        batch_id: str,
        institution: str,
        source_kind: str,
        source_uri: str,
        content_sha256: str,
        job_id: str,
    ) -> Batch:
        """Register a batch before any of it is written, or return the one a crashed run left open.

        Keeping the first attempt's ``started_at`` makes a re-run write the same
        ``received_at`` into the lake as the interrupted run would have. Another process
        opening the same batch at the same moment gets the same row.
        """
        arguments = (batch_id, institution, source_kind, source_uri, content_sha256, job_id)
        try:
            return self._open_batch(*arguments)
        except IntegrityError:  # another process inserted it between our read and our insert
            return self._open_batch(*arguments)

    def _open_batch(
        self,
        batch_id: str,
        institution: str,
        source_kind: str,
        source_uri: str,
        content_sha256: str,
        job_id: str,
    ) -> Batch:
        with self.session() as s:
            row = s.get(Batch, batch_id)
            if row is None:
                row = Batch(
                    id=batch_id,
                    institution_id=institution,
                    source_kind=source_kind,
                    source_uri=source_uri,
                    content_sha256=content_sha256,
                    status=BatchStatus.RUNNING,
                    received=0,
                    stored=0,
                    quarantined=0,
                    duplicates=0,
                    unresolved_references=0,
                    started_at=utcnow(),
                    job_id=job_id,
                )
                s.add(row)
            elif row.status != BatchStatus.COMMITTED:  # a committed batch keeps the job that made it
                row.job_id = job_id
            return row

    def close_batch(
        self,
        batch_id: str,
        *,
        received: int,
        stored: int,
        quarantined: int,
        duplicates: int,
        unresolved_references: int,
        unresolved_sample: list[str],
    ) -> Batch:
        if received != stored + quarantined + duplicates:
            raise ValueError(
                f"batch {batch_id} does not reconcile: received {received} != stored {stored} "
                f"+ quarantined {quarantined} + duplicates {duplicates}"
            )
        with self.session() as s:
            row = s.get(Batch, batch_id)
            if row is None:
                raise KeyError(f"no batch {batch_id}")
            row.status = BatchStatus.COMMITTED
            row.received, row.stored, row.quarantined, row.duplicates = (
                received,
                stored,
                quarantined,
                duplicates,
            )
            row.unresolved_references = unresolved_references
            row.unresolved_sample = unresolved_sample
            row.finished_at = utcnow()
            return row

    def batches(self, institution: str | None = None) -> list[Batch]:
        with self.session() as s:
            query = select(Batch).order_by(Batch.started_at, Batch.id)
            if institution:
                query = query.where(Batch.institution_id == institution)
            return list(s.scalars(query))

    # datasets ---------------------------------------------------------------------
    def record_built(self, table: BuiltTable, job_id: str) -> None:
        """Record a built table's committed version with its schema and lineage."""
        self.record_dataset(
            name=table.name,
            layer=str(table.layer),
            location=table.location,
            version=table.version if table.version is not None else -1,
            rows=table.rows,
            rows_by_institution=table.rows_by_institution,
            schema=schema_description(table.schema),
            job_id=job_id,
            inputs=[LineageInput(kind, name, version) for kind, name, version in table.inputs],
        )

    def record_dataset(
        self,
        *,
        name: str,
        layer: str,
        location: str,
        version: int,
        rows: int,
        rows_by_institution: dict[str, int],
        schema: list[dict],
        job_id: str | None,
        inputs: Sequence[LineageInput],
        description: str | None = None,
        append_lineage: bool = False,
    ) -> None:
        """Record a dataset's new version and its inputs.

        A rebuilt table's lineage is replaced by this version's inputs; an appended-to table
        (the raw layer) passes ``append_lineage`` and only this version's new inputs, so a
        stream of many small batches does not rewrite an ever longer list. ``location`` is
        relative to the lake root (:func:`medlake.lake.tables.table_location`); an absolute
        URI is refused, since it would tie the catalog to one folder.
        """
        checked_location(location)
        with self.session() as s:
            row = s.get(Dataset, name)
            if row is None:
                row = Dataset(name=name)
                s.add(row)
            row.layer, row.location, row.version, row.rows = layer, location, version, rows
            row.rows_by_institution = rows_by_institution
            row.schema_json = schema
            row.description = description
            row.last_build_at = utcnow()
            row.job_id = job_id
            s.flush()
            if not append_lineage:
                s.execute(delete(Lineage).where(Lineage.dataset == name))
            for item in inputs:
                s.add(
                    Lineage(
                        dataset=name,
                        dataset_version=version,
                        input_kind=item.kind,
                        input_name=item.name,
                        input_version=item.version,
                        job_id=job_id,
                    )
                )

    def dataset(self, name: str) -> Dataset | None:
        with self.session() as s:
            return s.get(Dataset, name)

    def datasets(self, layer: str | None = None) -> list[Dataset]:
        with self.session() as s:
            query = select(Dataset).order_by(Dataset.layer, Dataset.name)
            if layer:
                query = query.where(Dataset.layer == layer)
            return list(s.scalars(query))

    def lineage(self, name: str) -> list[Lineage]:
        with self.session() as s:
            return list(s.scalars(select(Lineage).where(Lineage.dataset == name).order_by(Lineage.id)))

    def stale_inputs(self, name: str) -> list[tuple[str, int, int]]:
        """The dataset inputs of ``name`` that moved on since it was built: ``(input, version it
        shows, version now)`` each. Derived data is never silently stale: this is how it shows."""
        moved = []
        with self.session() as s:
            lineage = s.scalars(
                select(Lineage).where(Lineage.dataset == name, Lineage.input_kind == "dataset")
            )
            for item in lineage:
                current = s.get(Dataset, item.input_name)
                if (
                    current is not None
                    and item.input_version is not None
                    and current.version > item.input_version
                ):
                    moved.append((item.input_name, item.input_version, current.version))
        return sorted(moved)

    def advance_lineage(self, input_name: str, old_version: int, new_version: int) -> int:
        """Point lineage that names ``input_name`` at ``old_version`` at ``new_version`` instead.

        For a new version with the same rows (a compaction): what was built from the old one
        shows the new one as well. Returns how many lineage rows moved.
        """
        with self.session() as s:
            rows = list(
                s.scalars(
                    select(Lineage).where(
                        Lineage.input_name == input_name, Lineage.input_version == old_version
                    )
                )
            )
            for row in rows:
                row.input_version = new_version
            return len(rows)

    def set_version(self, name: str, version: int) -> None:
        """Record a new version of a dataset whose rows did not change (a compaction or vacuum)."""
        with self.session() as s:
            row = s.get(Dataset, name)
            if row is not None:
                row.version = version

    # sources and their incremental state ---------------------------------------------
    def add_source(
        self,
        source_id: str,
        institution: str,
        kind: str,
        location: str,
        mapping: str | None = None,
        schedule: str | None = None,
        options: dict | None = None,
    ) -> Source:
        """Register (or replace) a source; ``location`` and ``options`` must hold no literal secret
        (:class:`~medlake.secrets.LiteralSecret` otherwise: the catalog is no place for one)."""
        check_no_literal_secret("the location", location)
        for key, value in (options or {}).items():
            check_no_literal_secret(f"option {key}", f"{key}={value}")
        self.ensure_institution(institution)
        with self.session() as s:
            row = s.get(Source, source_id) or Source(id=source_id, created_at=utcnow())
            row.institution_id, row.kind, row.location = institution, kind, location
            row.mapping, row.schedule, row.options, row.enabled = mapping, schedule, options, True
            s.add(row)
            return row

    def remove_source(self, source_id: str) -> bool:
        with self.session() as s:
            row = s.get(Source, source_id)
            if row is None:
                return False
            s.delete(row)
            s.execute(delete(SourceState).where(SourceState.source_id == source_id))
            return True

    def source(self, source_id: str) -> Source | None:
        with self.session() as s:
            return s.get(Source, source_id)

    def sources(self, institution: str | None = None) -> list[Source]:
        with self.session() as s:
            query = select(Source).order_by(Source.institution_id, Source.id)
            if institution:
                query = query.where(Source.institution_id == institution)
            return list(s.scalars(query))

    def get_state(self, source_id: str, key: str) -> str | None:
        with self.session() as s:
            row = s.get(SourceState, (source_id, key))
            return None if row is None else row.value

    def set_state(self, source_id: str, key: str, value: str | None) -> None:
        with self.session() as s:
            row = s.get(SourceState, (source_id, key)) or SourceState(source_id=source_id, key=key)
            row.value, row.updated_at = value, utcnow()
            s.add(row)
