"""Whether the person tables still show what the warehouse holds.

``warehouse.person_link`` (the index published), ``warehouse.person_golden`` and the serving
store are computed from warehouse tables that every ``medlake build`` may move on. Each
records what it was computed from: the two Delta tables in their catalog lineage, the store
in its metadata (``version.<table>``). A derived table is stale when an input has a newer
version than the one it shows; this module says which and why, so that ``medlake build``
and ``medlake catalog`` can say so instead of serving yesterday's person silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from medlake.mpi.publish import PERSON_LINK
from medlake.person.golden import GOLDEN_TABLE
from medlake.person.record import SOURCE_TABLES
from medlake.person.store import StoreError, open_store, store_url
from medlake.workspace import Workspace

SERVING_STORE = "person serving store"


@dataclass(frozen=True)
class Stale:
    """A derived person table and the inputs that moved on since it was computed."""

    name: str
    moved: list[tuple[str, int | None, int]]  # input, version it shows (None: none), version now
    remedy: str

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "moved": [{"input": i, "shows": shown, "now": now} for i, shown, now in self.moved],
            "remedy": self.remedy,
        }

    def __str__(self) -> str:
        moved = ", ".join(
            f"{i} v{shown} -> v{now}" if shown is not None else f"{i} (new, v{now})"
            for i, shown, now in self.moved
        )
        return f"{self.name} is stale ({moved}): run `{self.remedy}`"


def stale_person_tables(workspace: Workspace) -> list[Stale]:
    """The person tables (those that exist) whose inputs have moved on."""
    found = []
    catalog = workspace.catalog
    for name, remedy in ((PERSON_LINK, "medlake link run"), (GOLDEN_TABLE, "medlake person build")):
        if catalog.dataset(name) is None:
            continue
        moved = catalog.stale_inputs(name)
        if moved:
            found.append(Stale(name, list(moved), remedy))
    store = _store_moved(workspace)
    if store:
        found.append(Stale(SERVING_STORE, store, "medlake person build"))
    return found


def _store_moved(workspace: Workspace) -> list[tuple[str, int | None, int]]:
    """The warehouse tables newer than the serving store's copy (empty: no store, or current)."""
    try:
        store = open_store(store_url(workspace))
        if not store.exists():
            return []
        meta = store.meta()
    except StoreError:
        return []
    moved: list[tuple[str, int | None, int]] = []
    for name in SOURCE_TABLES:
        table = workspace.lake.table(workspace.table_uri(f"warehouse.{name}"))
        if table is None:
            continue
        shown = meta.get(f"version.{name}")
        if shown is None or int(shown) < table.version():
            moved.append((f"warehouse.{name}", None if shown is None else int(shown), table.version()))
    return moved
