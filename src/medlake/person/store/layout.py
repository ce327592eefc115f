"""Where the person serving store lives and how its tables are laid out (every key starts with person_id)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from medlake.errors import MedlakeError
from medlake.person.queries import LINK_COLUMNS, OBSERVATION_COLUMNS, TIMELINE_COLUMNS
from medlake.person.survivorship import golden_columns
from medlake.workspace import Workspace

SCHEMA = "person_serving"
BUILD_PREFIX = "person_serving_new_"
STORE_FORMAT = "1"

_TEXT, _INT, _REAL = "TEXT", "BIGINT", "DOUBLE PRECISION"
_TYPES = {"records": _INT, "value": _REAL, "component": _INT}

#: table -> (columns, primary key); every key starts with person_id, which is what clusters a person.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "person_golden": (tuple(golden_columns()), ("person_id",)),
    "person_patient": (LINK_COLUMNS, ("person_id", "patient_id")),
    "person_timeline": (TIMELINE_COLUMNS, ("person_id", "kind", "source_id")),
    "person_observation": (OBSERVATION_COLUMNS, ("person_id", "source_id", "component")),
}


class StoreError(MedlakeError):
    """The serving store is missing, of another format, or at a URL it cannot live at."""


def store_url(workspace: Workspace) -> str:
    return workspace.settings.person_store_url or f"sqlite:///{workspace.home / 'person.db'}"


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise StoreError("the SQLite person store needs a file (sqlite:///path/person.db), not memory")
    return Path(database).expanduser().resolve()


def create_table_sql(name: str, *, qualified: str, sqlite: bool) -> str:
    columns, key = TABLES[name]
    body = ", ".join(f"{c} {_TYPES.get(c, _TEXT)}" for c in columns)
    return f"CREATE TABLE {qualified} ({body}, PRIMARY KEY ({', '.join(key)}))" + (
        " WITHOUT ROWID" if sqlite else ""
    )
