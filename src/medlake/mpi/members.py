"""The global <-> node map as columns, so that a run over a million members touches only a few.

An incremental run needs, of a region's million members, the fingerprints of all (to find what
changed) but the persons of only the records it relinks and of the persons those reach. Holding
the map as one Arrow table and asking it for the rows in question keeps that cost in the engine,
instead of a Python object per member on every run.

Each run leaves the map it produced as a Parquet snapshot in the workspace, stamped with the
index state (newest event id) and the run's job; the next run uses it only if neither changed
since (no clerk decision, no other link run, not even a failed one), and otherwise reads the
catalog. So the snapshot can save the reading time but never change a result.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from medlake.engine import Engine
from medlake.mpi.store import MEMBER_SCHEMA, Member, MpiStore
from medlake.workspace import Workspace

#: The job kind of an index run (the catalog's jobs table).
RUN_JOB = "link"
_STAMP = b"medlake.mpi_members"


@dataclass(frozen=True)
class Changes:
    """How the current records differ from the members: what a run must link again."""

    new: set[str]
    changed: set[str]
    removed: dict[str, str]  # record no longer in the source -> the person it belonged to


class MemberMap:
    """Members (``Member``'s fields) of one index state; lookups return only the rows asked for."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table.cast(MEMBER_SCHEMA)

    def __len__(self) -> int:
        return self.table.num_rows

    def rows(self, patient_ids: Collection[str]) -> dict[str, Member]:
        """patient id -> its member row, for those of ``patient_ids`` that are members."""
        if not patient_ids or not len(self):
            return {}
        wanted = pa.array(list(patient_ids), pa.string())
        selected = self.table.filter(pc.is_in(self.table.column("patient_id"), value_set=wanted))
        return {row[0]: Member._make(row) for row in zip(*_columns(selected), strict=True)}

    def records_of(self, person_ids: Collection[str]) -> dict[str, list[str]]:
        """person id -> its member records (sorted), for the given persons."""
        if not person_ids or not len(self):
            return {}
        wanted = pa.array(list(person_ids), pa.string())
        selected = self.table.filter(pc.is_in(self.table.column("person_id"), value_set=wanted))
        out: dict[str, list[str]] = {}
        for patient, person in zip(
            selected.column("patient_id").to_pylist(), selected.column("person_id").to_pylist(), strict=True
        ):
            out.setdefault(person, []).append(patient)
        for records in out.values():
            records.sort()
        return out

    def compare(self, engine: Engine, record_ids: pa.Array, fingerprints: pa.Array) -> Changes:
        """New, changed (other fingerprint) and removed records, computed by ``engine``."""
        current = pa.table({"record_id": record_ids, "fingerprint": fingerprints})
        members = self.table.select(["patient_id", "person_id", "fingerprint"])
        with engine.registered("members", members), engine.registered("current", current):
            found = engine.sql(
                f"""
                SELECT c.record_id AS id, m.patient_id IS NULL AS is_new, NULL AS person
                FROM current c LEFT JOIN members m ON m.patient_id = c.record_id
                WHERE m.patient_id IS NULL OR m.fingerprint IS DISTINCT FROM c.fingerprint
                UNION ALL
                SELECT m.patient_id, NULL, m.person_id
                FROM members m {engine.dialect.anti_join()} current c ON m.patient_id = c.record_id
                """
            )
        rows = zip(*(found.column(name).to_pylist() for name in ("id", "is_new", "person")), strict=True)
        changes = Changes(set(), set(), {})
        for record, is_new, person in rows:
            if person is not None:
                changes.removed[record] = person
            elif is_new:
                changes.new.add(record)
            else:
                changes.changed.add(record)
        return changes

    def replaced(self, drop: Iterable[str], rows: pa.Table) -> MemberMap:
        """The map after a run: ``drop`` records taken out, ``rows`` (new or updated) put in."""
        dropped = pa.array(list(drop), pa.string())
        kept = self.table
        if len(dropped) and len(kept):
            kept = kept.filter(pc.invert(pc.is_in(kept.column("patient_id"), value_set=dropped)))
        return MemberMap(pa.concat_tables([kept, rows.cast(MEMBER_SCHEMA)]))


def snapshot_path(workspace: Workspace) -> Path:
    return Path(workspace.home) / "mpi" / "members.parquet"


def load_members(workspace: Workspace, store: MpiStore) -> MemberMap:
    """The current members: from the last run's snapshot when it is still the catalog's state."""
    stamp = _stamp(store.state(), workspace.catalog.latest_job(RUN_JOB))
    path = snapshot_path(workspace)
    try:
        if path.exists() and (pq.read_schema(path).metadata or {}).get(_STAMP) == stamp:
            return MemberMap(pq.read_table(path))
    except (OSError, pa.ArrowInvalid):  # unreadable: the catalog has the truth
        pass
    return MemberMap(store.member_table())


def save_members(workspace: Workspace, members: MemberMap, state: int, job_id: str) -> None:
    """Leave ``members`` (the map as of ``state``, written by job ``job_id``) for the next run."""
    path = snapshot_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".parquet.tmp")
    table = members.table.replace_schema_metadata({_STAMP: _stamp(state, job_id)})
    pq.write_table(table, temporary, compression="none")
    os.replace(temporary, path)


def _stamp(state: int, job_id: str | None) -> bytes:
    return f"{state}:{job_id}".encode()


def _columns(table: pa.Table) -> list[list[str]]:
    return [table.column(name).to_pylist() for name in MEMBER_SCHEMA.names]
