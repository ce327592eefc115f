"""Catalog tables.

Schema changes go through a new Alembic revision in ``migrations/versions``; the test
``test_migrations_match_models`` fails when the models and migrations drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
    status: Mapped[str] = mapped_column(String(20))
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
    status: Mapped[str] = mapped_column(String(20))
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
    """A Delta table of the lake and its current state."""

    __tablename__ = "datasets"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    layer: Mapped[str] = mapped_column(String(20), index=True)
    uri: Mapped[str] = mapped_column(Text)
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
