"""The personal health record: one resident across every institution.

After linking (``warehouse.person_link``), call :func:`refresh_person` (what ``medlake person
build`` runs): it rebuilds ``warehouse.person_golden`` (survivorship) and then the serving
store. Then

>>> from medlake.person import person_record
>>> record = person_record(ws, "P5DQ3K2M7XJAB")   # a global id; an id merged away still works
>>> record.golden, record.sources(), record.timeline, record.observations

See docs/person.md for the rules and the serving layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from medlake.errors import InputError
from medlake.person.golden import GOLDEN_TABLE, GoldenReport, build_golden
from medlake.person.record import DirectReader, PersonRecord, UnknownPersonError
from medlake.person.store import (
    PersonStore,
    StoreError,
    StoreReport,
    open_store,
    refresh_serving_store,
    store_url,
)
from medlake.person.survivorship import FIELD_GROUPS, Rule, survive
from medlake.workspace import Workspace

__all__ = [
    "FIELD_GROUPS",
    "GOLDEN_TABLE",
    "DirectReader",
    "PersonRecord",
    "PersonRefreshReport",
    "PersonStore",
    "Rule",
    "StoreError",
    "UnknownPersonError",
    "build_golden",
    "person_record",
    "refresh_person",
    "refresh_serving_store",
    "survive",
]

Source = Literal["auto", "store", "direct"]


@dataclass(frozen=True)
class PersonRefreshReport:
    golden: GoldenReport
    store: StoreReport

    def as_dict(self) -> dict[str, Any]:
        return {
            "golden": {
                "table": self.golden.table,
                "version": self.golden.version,
                "persons": self.golden.persons,
            },
            "store": self.store.as_dict(),
        }


def refresh_person(
    workspace: Workspace, progress: Callable[[int], None] | None = None
) -> PersonRefreshReport:
    """Everything that follows linking: the golden table, then the serving store built from it."""
    golden = build_golden(workspace)
    store = refresh_serving_store(workspace, progress)
    return PersonRefreshReport(golden, store)


def _current_id(workspace: Workspace, global_id: str) -> str:
    """The id a merged-away person now lives under (cards and letters keep the old one)."""
    from medlake.mpi.store import MpiStore  # late: the index is optional for a bare warehouse

    try:
        return MpiStore(workspace.catalog).resolve(global_id)
    except KeyError:
        return global_id


def person_record(workspace: Workspace, global_id: str, source: Source = "auto") -> PersonRecord:
    """The record of the person with global id ``global_id`` (``warehouse.person_link.person_id``).

    ``source``: ``"store"`` reads the serving store (fast, as of its last build), ``"direct"``
    reads the Delta warehouse with DuckDB (always current, slow on a large region), ``"auto"``
    the store when one has been built, else the warehouse. Raises :class:`UnknownPersonError`
    (a ``KeyError``) for an id no person has.
    """
    if source not in ("auto", "store", "direct"):
        raise InputError(f"source must be auto, store or direct, not {source!r}")
    global_id = _current_id(workspace, global_id)
    if source != "direct":
        store = open_store(store_url(workspace))
        if source == "store" or store.exists():
            return store.record(global_id)
    with DirectReader(workspace) as reader:
        return reader.record(global_id)
