"""The member map as columns: what changed, lookups of a few rows, the map after a run, the snapshot."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from medlake.engine import get_engine
from medlake.mpi.members import MemberMap, load_members, save_members, snapshot_path
from medlake.mpi.store import MEMBER_SCHEMA, Member, MpiStore

ROWS = [
    Member("a.1", "a", "P1", "f1", "single record"),
    Member("a.2", "a", "P2", "f2", "model"),
    Member("b.1", "b", "P2", "f3", "model"),
    Member("b.2", "b", "P3", "f4", "single record"),
]


def member_map(rows: list[Member] = ROWS) -> MemberMap:
    return MemberMap(
        pa.table([pa.array(c, pa.string()) for c in zip(*rows, strict=True)], schema=MEMBER_SCHEMA)
    )


def test_compare_finds_new_changed_and_removed_records() -> None:
    ids = pa.array(["a.1", "a.2", "b.1", "c.9"])
    prints = pa.array(["f1", "f2-edited", "f3", "f9"])
    with get_engine() as engine:
        changes = member_map().compare(engine, ids, prints)
    assert changes.new == {"c.9"}
    assert changes.changed == {"a.2"}
    assert changes.removed == {"b.2": "P3"}


def test_lookups_return_only_the_rows_asked_for() -> None:
    members = member_map()
    assert members.rows({"a.2", "zz"}) == {"a.2": ROWS[1]}
    assert members.records_of({"P2", "P9"}) == {"P2": ["a.2", "b.1"]}
    assert members.rows(set()) == {} and members.records_of(set()) == {}


def test_replaced_drops_and_adds_rows() -> None:
    moved = Member("b.1", "b", "P3", "f3", "model")
    added = Member("c.9", "c", "P3", "f9", "model")
    after = member_map().replaced({"b.1", "a.1"}, member_map([moved, added]).table)
    assert len(after) == 4
    assert after.rows({"a.1"}) == {}
    assert after.records_of({"P3"}) == {"P3": ["b.1", "b.2", "c.9"]}


def test_a_snapshot_is_used_only_for_the_state_and_run_it_was_written_for(workspace) -> None:
    store = MpiStore(workspace.catalog)
    forged = member_map()
    job = workspace.catalog.start_job("link")
    save_members(workspace, forged, store.state(), job)
    assert snapshot_path(workspace).exists()
    # written for this state and the latest run: trusted (the catalog itself has no members)
    assert len(load_members(workspace, store)) == len(ROWS)
    workspace.catalog.start_job("link")  # another run started since (and may have crashed)
    assert len(load_members(workspace, store)) == 0, "the catalog is read instead"
    save_members(workspace, forged, store.state() + 1, job)  # a state the catalog is not in
    assert len(load_members(workspace, store)) == 0
    pq.write_table(pa.table({"x": [1]}), snapshot_path(workspace))  # unstamped file
    assert len(load_members(workspace, store)) == 0
