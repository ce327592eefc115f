"""The serving index's tables: the resources, one table per search type, and the refresh state.

Every table is keyed by (type, id); each index table carries the parameter code, so one table
serves every parameter of its kind and a search is one ``id IN (…)`` per parameter, answered
from a covering index (type, param, value…, id). The same
SQLAlchemy schema runs on SQLite (the default, a file in the workspace) and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, Float, Index, MetaData, PrimaryKeyConstraint, String, Table, Text, event
from sqlalchemy.engine import Engine, create_engine, make_url

from medlake.errors import MedlakeError

#: Bumped when the layout changes: an index of another format is rebuilt, never misread.
INDEX_FORMAT = "1"

metadata = MetaData()


def _key() -> list[Column]:
    return [Column("type", String(64), nullable=False), Column("id", String(200), nullable=False)]


resources = Table(
    "fhir_resource",
    metadata,
    *_key(),
    Column("institution", String(64), nullable=False),
    Column("patient_id", String(200)),  # the integrated id of the Patient whose record this is
    Column("person_id", String(64)),  # that patient's global person id (warehouse.person_link)
    Column("last_updated", String(26)),  # UTC, values.MIN_INSTANT's format
    Column("content_hash", String(64), nullable=False),
    Column("resource", Text, nullable=False),
    PrimaryKeyConstraint("type", "id"),
    Index("fhir_resource_person", "type", "person_id"),
    Index("fhir_resource_institution", "type", "institution"),
    Index("fhir_resource_updated", "type", "last_updated"),
    Index("fhir_resource_patient", "patient_id"),
)

tokens = Table(
    "fhir_token",
    metadata,
    *_key(),
    Column("param", String(64), nullable=False),
    Column("system", String(300)),
    Column("code", String(300), nullable=False),
    Index("fhir_token_search", "type", "param", "code", "system", "id"),
    Index("fhir_token_resource", "type", "id"),
)

strings = Table(
    "fhir_string",
    metadata,
    *_key(),
    Column("param", String(64), nullable=False),
    Column("value", String(500), nullable=False),  # values.normalise(exact)
    Column("exact", String(500), nullable=False),
    Index("fhir_string_search", "type", "param", "value", "id"),
    Index("fhir_string_resource", "type", "id"),
)

dates = Table(
    "fhir_date",
    metadata,
    *_key(),
    Column("param", String(64), nullable=False),
    Column("low", String(26), nullable=False),
    Column("high", String(26), nullable=False),
    Index("fhir_date_search", "type", "param", "low", "high", "id"),
    Index("fhir_date_resource", "type", "id"),
)

references = Table(
    "fhir_reference",
    metadata,
    *_key(),
    Column("param", String(64), nullable=False),
    Column("target_type", String(64), nullable=False),
    Column("target_id", String(200), nullable=False),
    Index("fhir_reference_search", "type", "param", "target_id", "target_type", "id"),
    Index("fhir_reference_resource", "type", "id"),
)

quantities = Table(
    "fhir_quantity",
    metadata,
    *_key(),
    Column("param", String(64), nullable=False),
    Column("value", Float, nullable=False),
    Column("system", String(300)),
    Column("code", String(100)),
    Index("fhir_quantity_search", "type", "param", "value", "id"),
    Index("fhir_quantity_resource", "type", "id"),
)

#: The map from integrated Patient id to global person id, copied from warehouse.person_link.
person_links = Table(
    "fhir_person_link",
    metadata,
    Column("patient_id", String(200), primary_key=True),
    Column("person_id", String(64), nullable=False),
)

#: key -> value: the index format, and per source table the Delta version last indexed.
state = Table(
    "fhir_index_state",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", String(200), nullable=False),
)

#: search type -> its index table (uri parameters are matched exactly, like tokens without a system).
INDEX_TABLES = {
    "token": tokens,
    "uri": tokens,
    "string": strings,
    "date": dates,
    "reference": references,
    "quantity": quantities,
    "number": quantities,
}
ROW_TABLES = (tokens, strings, dates, references, quantities)


class ServingIndexError(MedlakeError):
    """The serving index cannot be opened where it is configured (a URL, a database)."""


def index_url(workspace_home: Path, configured: str | None) -> str:
    return configured or f"sqlite:///{workspace_home / 'serving.db'}"


def open_index(url: str) -> Engine:
    """An SQLAlchemy engine on the index, its tables created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ServingIndexError("the SQLite serving index needs a file (sqlite:///path/serving.db)")
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    elif parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True)
    else:
        raise ServingIndexError(
            f"the serving index runs on SQLite or PostgreSQL, not {parsed.get_backend_name()}"
        )
    metadata.create_all(engine)
    return engine


def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
    """WAL lets the server read while a refresh writes; NORMAL sync is durable at each commit in WAL."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()
