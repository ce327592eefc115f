"""Catalog tables.

Schema changes go through a new Alembic revision in ``migrations/versions``; the test
``test_migrations_match_models`` fails when the models and migrations drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from medlake.catalog.statuses import BatchStatus, EventKind, JobStatus, PersonStatus, ReviewStatus


class UTCDateTime(TypeDecorator):
    """Timestamps stored and returned as aware UTC datetimes on every backend.

    SQLite keeps no time zone, so without this a value read back would be naive and
    compare unequal to the one written (and land in the lake as a different instant).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("catalog timestamps must be timezone-aware")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Status(TypeDecorator):
    """A :class:`~enum.StrEnum` stored as its text (a VARCHAR, as the migrations made it) and read back
    as the enum."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else str(self.enum(value))  # refuses a state the enum lacks

    def process_result_value(self, value: str | None, dialect: object) -> StrEnum | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict] = {datetime: UTCDateTime}


class Institution(Base):
    """A data-providing node of the region (hospital, health centre, agency): a tenant."""

    __tablename__ = "institutions"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Job(Base):
    """One run of ingest or build; datasets and batches point at the job that made them."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[JobStatus] = mapped_column(Status(JobStatus, 20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    details: Mapped[dict | None] = mapped_column(JSON)


class Batch(Base):
    """One received unit (a file) and how it reconciled: received = stored + quarantined + duplicates.

    The id is derived from the institution and the file's content hash, so receiving the
    same file again finds the same batch and adds nothing.
    """

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    source_kind: Mapped[str] = mapped_column(String(40))
    source_uri: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[BatchStatus] = mapped_column(Status(BatchStatus, 20))
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    stored: Mapped[int] = mapped_column(BigInteger, default=0)
    quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    unresolved_references: Mapped[int] = mapped_column(BigInteger, default=0)
    unresolved_sample: Mapped[list | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))


class Dataset(Base):
    """A Delta table of the lake and its current state.

    ``location`` is relative to the lake root (``warehouse/patient``): the workspace resolves
    it against the lake it is configured with, so a copied or moved workspace reads itself.
    """

    __tablename__ = "datasets"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    layer: Mapped[str] = mapped_column(String(20), index=True)
    location: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    rows_by_institution: Mapped[dict | None] = mapped_column(JSON)
    schema_json: Mapped[list | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    last_build_at: Mapped[datetime] = mapped_column(UTCDateTime())
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))


class Lineage(Base):
    """One input of one dataset version: a batch or another dataset's version."""

    __tablename__ = "lineage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = mapped_column(ForeignKey("datasets.name"), index=True)
    dataset_version: Mapped[int] = mapped_column(BigInteger)
    input_kind: Mapped[str] = mapped_column(String(20))
    input_name: Mapped[str] = mapped_column(Text)
    input_version: Mapped[int | None] = mapped_column(BigInteger)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))


class Source(Base):
    """A registered source of an institution, run by ``medlake sync``.

    ``location`` may name secrets only as ``${ENV_VAR}`` placeholders (or keys of the
    secrets file); the catalog never holds a password.
    """

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(Text)
    mapping: Mapped[str | None] = mapped_column(Text)
    schedule: Mapped[str | None] = mapped_column(String(100))
    options: Mapped[dict | None] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SourceState(Base):
    """Where a source's incremental reading stands (e.g. Sqoop's ``--last-value``)."""

    __tablename__ = "source_state"

    source_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# ----------------------------------------------------------------------------- master patient index
# The MPI's state lives in the catalog, not the lake: it is small, changes row by row (a clerk's
# decision, one merge) and every change must commit together with its audit event. A relational
# transaction gives exactly that; a Delta table would rewrite files for every decision.


class MpiPerson(Base):
    """A global person id. Never deleted: a merged-away id keeps pointing at its survivor."""

    __tablename__ = "mpi_persons"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    status: Mapped[PersonStatus] = mapped_column(Status(PersonStatus, 12), index=True)
    merged_into: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    job_id: Mapped[str | None] = mapped_column(String(36))


class MpiMember(Base):
    """The global <-> node map: one institution's patient record and the person it belongs to.

    ``fingerprint`` hashes the record's identifying fields when it was linked, so that a later
    run can tell a changed record (to link again) from an unchanged one (to leave alone).
    """

    __tablename__ = "mpi_members"

    patient_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    institution: Mapped[str] = mapped_column(String(24), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("mpi_persons.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(32))
    basis: Mapped[str] = mapped_column(String(40))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    job_id: Mapped[str | None] = mapped_column(String(36))


class MpiEvent(Base):
    """One change to the mapping (append-only): who, when, which job, what and why."""

    __tablename__ = "mpi_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[EventKind] = mapped_column(Status(EventKind, 20), index=True)
    person_id: Mapped[str | None] = mapped_column(String(24), index=True)
    other_person_id: Mapped[str | None] = mapped_column(String(24), index=True)
    patient_id: Mapped[str | None] = mapped_column(String(200), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    job_id: Mapped[str | None] = mapped_column(String(36))
    details: Mapped[dict | None] = mapped_column(JSON)


class MpiReview(Base):
    """A pair of patient records for a clerk, and the clerk's decision once made.

    Decisions are kept forever and honoured by every later run: ``accepted`` links the two
    records whatever the model says, ``rejected`` keeps them apart.
    """

    __tablename__ = "mpi_review"
    __table_args__ = (UniqueConstraint("patient_l", "patient_r", name="uq_mpi_review_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_l: Mapped[str] = mapped_column(String(200), index=True)
    patient_r: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[ReviewStatus] = mapped_column(Status(ReviewStatus, 12), index=True)
    match_probability: Mapped[float | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(36))


class MpiModel(Base):
    """A trained linkage model (Splink parameters + medlake settings), newest used for incremental runs."""

    __tablename__ = "mpi_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    records: Mapped[int] = mapped_column(BigInteger)
    model: Mapped[str] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(36))


# Access control (medlake.access): who may sign in, the residents' consents, and the audit
# outbox. Secrets are never kept here in clear: passwords as argon2 hashes, refresh tokens as
# SHA-256 digests, clients by their public keys only.


class AccessUser(Base):
    """A person who signs in: their roles and what they are bound to (an institution, a person)."""

    __tablename__ = "access_users"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list] = mapped_column(JSON)
    tenant: Mapped[str | None] = mapped_column(String(24), index=True)
    patient: Mapped[str | None] = mapped_column(String(24), index=True)
    scopes: Mapped[list] = mapped_column(JSON)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessClient(Base):
    """A system client (SMART Backend Services): authenticates with a JWT signed by a key in ``jwks``."""

    __tablename__ = "access_clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    roles: Mapped[list] = mapped_column(JSON)
    tenant: Mapped[str | None] = mapped_column(String(24), index=True)
    scopes: Mapped[list] = mapped_column(JSON)
    jwks: Mapped[dict] = mapped_column(JSON)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessSeenAssertion(Base):
    """A client assertion's ``jti`` already used, kept until the assertion expires (replay protection)."""

    __tablename__ = "access_seen_assertions"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AccessRevocation(Base):
    """A token id (``jti``) revoked before it expires: access tokens and refresh tokens alike."""

    __tablename__ = "access_revocations"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(100), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessRefreshToken(Base):
    """A refresh token, by the SHA-256 of its value (the value itself is only ever in the response)."""

    __tablename__ = "access_refresh_tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(100), index=True)
    scopes: Mapped[list] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessConsent(Base):
    """One resident's choice (FHIR Consent-like); a newer one supersedes, the old one stays as history.

    ``decision`` is ``permit`` or ``deny``; ``purpose`` is ``treatment``, ``research`` or
    ``public-health``; ``institution`` narrows it to sharing with one institution (None: any).
    """

    __tablename__ = "access_consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person: Mapped[str] = mapped_column(String(24), index=True)
    decision: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(20))
    institution: Mapped[str | None] = mapped_column(String(24))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class AccessBreakGlass(Base):
    """An emergency access: who opened which person's record, why, and until when."""

    __tablename__ = "access_break_glass"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject: Mapped[str] = mapped_column(String(100), index=True)
    tenant: Mapped[str | None] = mapped_column(String(24))
    person: Mapped[str] = mapped_column(String(24), index=True)
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditOutbox(Base):
    """An audit event written in the request's own transaction, before the answer; flushed to the lake.

    ``flush_batch`` is set when a flush claims the row, before it writes the lake, so a flush
    killed part-way is finished (not repeated) by a later one; a row is deleted once in the lake.
    """

    __tablename__ = "audit_outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    event: Mapped[dict] = mapped_column(JSON)
    flush_batch: Mapped[str | None] = mapped_column(String(36), index=True)
