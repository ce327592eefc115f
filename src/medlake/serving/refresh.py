"""Building the serving index from the integrated layer, incrementally.

Per served type, the index remembers the Delta version of ``integrated.<Type>`` it last read.
A refresh reads only the key columns (id, content hash) of a table whose version moved, and
re-evaluates only the resources whose content hash changed; resources gone from the table
leave the index. Each type is replaced in one transaction together with its remembered
version, so a crash mid-refresh leaves every type either as it was or as it should be — never
half-written, never duplicated — and the next refresh carries on.

The global person of each resource comes from ``warehouse.person_link`` (built by ``medlake
link run``): the index keeps a copy of the map and, when the link table's version moves,
re-resolves every resource's person in one statement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.engine import Engine

from medlake.serving.definitions import served_types
from medlake.serving.evaluate import IndexRows, index_rows
from medlake.serving.schema import (
    INDEX_FORMAT,
    ROW_TABLES,
    dates,
    person_links,
    quantities,
    references,
    resources,
    state,
    strings,
    tokens,
)
from medlake.workspace import Workspace

BATCH = 2_000
PERSON_LINK = "warehouse.person_link"
_STAMP = "%Y-%m-%dT%H:%M:%S.%f"


@dataclass
class RefreshReport:
    """What one refresh did, per type: resources (re)indexed, removed, or the type left as it was."""

    indexed: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    persons_relinked: bool = False
    failures: dict[str, int] = field(default_factory=dict)  # "Type.param" -> resources it failed on
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "indexed": self.indexed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "persons_relinked": self.persons_relinked,
            "failures": self.failures,
            "seconds": round(self.seconds, 3),
        }


def refresh_index(
    workspace: Workspace, engine: Engine, *, full: bool = False, progress: Callable[[int], None] | None = None
) -> RefreshReport:
    """Bring the index at ``engine`` up to the integrated layer and person_link; ``full`` re-reads all."""
    started = time.perf_counter()
    report = RefreshReport()
    with engine.begin() as con:
        known = dict(con.execute(select(state.c.key, state.c.value)).all())
    if known.get("format") != INDEX_FORMAT:
        full = True
    if full:
        with engine.begin() as con:
            for table in (*ROW_TABLES, resources, person_links, state):
                con.execute(delete(table))
            _set_state(con, "format", INDEX_FORMAT)
        known = {"format": INDEX_FORMAT}
    link_version, link_map = _person_link(workspace, known.get(f"version:{PERSON_LINK}"))
    if link_map is not None:
        with engine.begin() as con:
            con.execute(delete(person_links))
            _insert_many(con, person_links, [{"patient_id": p, "person_id": g} for p, g in link_map.items()])
            _set_state(con, f"version:{PERSON_LINK}", str(link_version))
        report.persons_relinked = True
    with engine.connect() as con:
        persons = dict(con.execute(select(person_links.c.patient_id, person_links.c.person_id)).all())
    arrivals = {b.id: b.finished_at or b.started_at for b in workspace.catalog.batches()}
    for resource_type in served_types():
        _refresh_type(workspace, engine, resource_type, known, (persons, arrivals), report, progress)
    if report.persons_relinked:
        with engine.begin() as con:
            looked_up = (
                select(person_links.c.person_id)
                .where(person_links.c.patient_id == resources.c.patient_id)
                .scalar_subquery()
            )
            con.execute(update(resources).values(person_id=looked_up))
    report.seconds = time.perf_counter() - started
    return report


def _person_link(
    workspace: Workspace, indexed_version: str | None
) -> tuple[int | None, dict[str, str] | None]:
    """The link table's version and, if it moved since ``indexed_version``, its patient → person map."""
    delta = workspace.lake.table(workspace.table_uri(PERSON_LINK))
    if delta is None:
        return None, ({} if indexed_version is not None else None)
    version = delta.version()
    if indexed_version == str(version):
        return version, None
    table = delta.to_pyarrow_table(columns=["institution", "patient_id", "person_id"])
    return version, {
        _integrated_patient_id(row["institution"], row["patient_id"]): row["person_id"]
        for row in table.to_pylist()
    }


def _integrated_patient_id(institution: str, patient_id: str) -> str:
    """The integrated id ``<institution>.<local id>`` of a person_link row (a bare local id is accepted)."""
    return patient_id if patient_id.startswith(f"{institution}.") else f"{institution}.{patient_id}"


def _refresh_type(
    workspace: Workspace,
    engine: Engine,
    resource_type: str,
    known: dict[str, str],
    lookups: tuple[dict[str, str], dict[str, datetime]],
    report: RefreshReport,
    progress: Callable[[int], None] | None,
) -> None:
    key = f"version:integrated.{resource_type}"
    delta = workspace.lake.table(workspace.table_uri(f"integrated.{resource_type}"))
    if delta is None:
        if key in known:  # the table went away: so do its resources
            with engine.begin() as con:
                report.removed[resource_type] = _remove(con, resource_type, None)
                con.execute(delete(state).where(state.c.key == key))
        return
    version = str(delta.version())
    if known.get(key) == version:
        report.unchanged.append(resource_type)
        return
    dataset = delta.to_pyarrow_dataset()
    current = dataset.to_table(columns=["id", "content_hash"])
    with engine.connect() as con:
        indexed = dict(
            con.execute(
                select(resources.c.id, resources.c.content_hash).where(resources.c.type == resource_type)
            ).all()
        )
    wanted = dict(zip(current["id"].to_pylist(), current["content_hash"].to_pylist(), strict=True))
    changed = [i for i, h in wanted.items() if indexed.get(i) != h]
    gone = [i for i in indexed if i not in wanted]
    with engine.begin() as con:
        removed = _remove(con, resource_type, gone) if gone else 0
        if changed:
            _remove(con, resource_type, [i for i in changed if i in indexed])
        count = 0
        for batch in _changed_batches(dataset, changed, len(changed) == len(wanted)):
            count += _index_batch(con, resource_type, batch, lookups, report)
            if progress:
                progress(count)
        _set_state(con, key, version)
    if count:
        report.indexed[resource_type] = count
    if removed:
        report.removed[resource_type] = removed
    if not count and not removed:
        report.unchanged.append(resource_type)  # a new table version with the same resources


def _changed_batches(dataset: Any, changed: list[str], everything: bool) -> Iterator[pa.RecordBatch]:
    columns = ["id", "institution", "last_updated", "batch_id", "content_hash", "resource"]
    if not changed:
        return
    if everything:
        yield from dataset.to_batches(columns=columns, batch_size=BATCH)
        return
    # filtered here, not pushed down: files a merge rewrote may store ids as string_view, and
    # Arrow cannot compare their statistics with a plain string filter
    wanted = pa.array(changed, pa.string())
    for batch in dataset.to_batches(columns=columns, batch_size=BATCH):
        keep = pc.is_in(batch.column("id").cast(pa.string()), value_set=wanted)
        if pc.any(keep).as_py():
            yield batch.filter(keep)


def _index_batch(
    con: Connection,
    resource_type: str,
    batch: pa.RecordBatch,
    lookups: tuple[dict[str, str], dict[str, datetime]],
    report: RefreshReport,
) -> int:
    persons, arrivals = lookups
    resource_rows: list[dict[str, Any]] = []
    rows_by_table: dict[Any, list[dict[str, Any]]] = {t: [] for t in ROW_TABLES}
    for row in batch.to_pylist():
        resource = orjson.loads(row["resource"])
        text = row["resource"]
        if row["last_updated"] is None and row["batch_id"] in arrivals:
            # a resource sent without meta.lastUpdated was last updated here when it arrived,
            # as any FHIR server stamps what it stores
            resource.setdefault("meta", {})["lastUpdated"] = _instant(arrivals[row["batch_id"]])
            text = orjson.dumps(resource).decode()
        rows = index_rows(resource)
        for code in rows.failures:
            name = f"{resource_type}.{code}"
            report.failures[name] = report.failures.get(name, 0) + 1
        patient_id = _patient_of(resource_type, row["id"], rows)
        resource_rows.append(
            {
                "type": resource_type,
                "id": row["id"],
                "institution": row["institution"],
                "patient_id": patient_id,
                "person_id": persons.get(patient_id) if patient_id else None,
                "last_updated": _stamp(row["last_updated"] or arrivals.get(row["batch_id"])),
                "content_hash": row["content_hash"],
                "resource": text,
            }
        )
        key = {"type": resource_type, "id": row["id"]}
        rows_by_table[tokens] += [{**key, "param": p, "system": s, "code": c} for p, s, c in rows.token]
        rows_by_table[strings] += [{**key, "param": p, "value": v, "exact": e} for p, v, e in rows.string]
        rows_by_table[dates] += [{**key, "param": p, "low": lo, "high": hi} for p, lo, hi in rows.date]
        rows_by_table[references] += [
            {**key, "param": p, "target_type": t, "target_id": i} for p, t, i in rows.reference
        ]
        rows_by_table[quantities] += [
            {**key, "param": p, "value": v, "system": s, "code": c} for p, v, s, c in rows.quantity
        ]
    _insert_many(con, resources, resource_rows)
    for table, table_rows in rows_by_table.items():
        _insert_many(con, table, table_rows)
    return len(resource_rows)


def _patient_of(resource_type: str, resource_id: str, rows: IndexRows) -> str | None:
    """The Patient whose record a resource belongs to: itself, or its ``patient`` parameter's target."""
    if resource_type == "Patient":
        return resource_id
    for code, target_type, target_id in rows.reference:
        if code == "patient" and target_type == "Patient":
            return target_id
    return None


def _stamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(_STAMP)


def _instant(value: datetime) -> str:
    """A FHIR instant (UTC, milliseconds)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _remove(con: Connection, resource_type: str, ids: list[str] | None) -> int:
    """Delete resources of ``resource_type`` (those ``ids``, or all) and their index rows."""
    removed = 0
    chunks = [None] if ids is None else [ids[i : i + 500] for i in range(0, len(ids), 500)]
    for chunk in chunks:
        for table in (*ROW_TABLES, resources):
            condition = table.c.type == resource_type
            if chunk is not None:
                condition = and_(condition, table.c.id.in_(chunk))
            result = con.execute(delete(table).where(condition))
            if table is resources:
                removed += result.rowcount
    return removed


def _insert_many(con: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5_000):
        chunk = rows[start : start + 5_000]
        if chunk:
            con.execute(insert(table), chunk)


def _set_state(con: Connection, key: str, value: str) -> None:
    con.execute(delete(state).where(state.c.key == key))
    con.execute(insert(state).values(key=key, value=value))


__all__ = ["RefreshReport", "refresh_index"]
