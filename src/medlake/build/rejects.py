"""Rows a view cannot convert: found, left out of the warehouse, quarantined with stage ``build``.

A view is one SQL query over a whole integrated table, so one row whose value the engine cannot
convert (an integer beyond 64 bits that a lake took before validation knew R4's ranges, a
column with several values for one resource) would fail the query, and with it the build of the
whole workspace. A view works on each resource alone, so the rows at fault can be found by
running it on parts of the table: when the query fails with a data error, the table's rows are
numbered and the view runs on eighths of them, then eighths of the failing parts, down to single
rows (a few dozen small queries for each bad row of a million). Each bad row's column is named
by running, on it, the view with every other column emptied. The view is then built from the
other rows.

Bad rows go to the raw layer's quarantine with stage ``build``, the reason naming the table, the
resource and the column, and the provenance of the raw row (batch, file, line, text). The build
writes them once, after every table, in one commit that leaves out what an earlier build already
quarantined, so rebuilding (after a crash, or again) never quarantines a row twice. They are not
counted in their batch's reconciliation: the resource *is* stored, in the raw and integrated
layers; it is the warehouse table that lacks it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import NamedTuple

import pyarrow as pa
import pyarrow.dataset as pads

from medlake.engine import Engine
from medlake.ingest.pipeline import record_raw_datasets
from medlake.lake.tables import (
    QUARANTINE,
    QUARANTINE_SCHEMA,
    RAW_RESOURCES,
    Layer,
)
from medlake.views import compile_view
from medlake.views.compiler import CompiledView
from medlake.workspace import Workspace

STAGE = "build"
#: Parts a failing range of rows is cut into: more parts, fewer rounds but more queries each.
PARTS = 8
_ROWS = "view_rows"  # the integrated table's rows, numbered, while a failing view is taken apart
_BAD = "view_bad_rows"


class BuildReject(NamedTuple):
    """An integrated row a view could not convert, and why."""

    institution: str
    resource_type: str
    local_id: str
    content_hash: str
    reason: str


def without_failing_rows(
    engine: Engine,
    view: dict,
    compiled: CompiledView,
    source: str,
    passthrough: Sequence[str],
    error: Exception,
) -> tuple[pa.Table, list[BuildReject]]:
    """The view's rows over ``source`` (an integrated table's name) without the rows it cannot
    convert, and those rows; ``error`` (what the whole query raised) again if no row alone fails."""
    d = engine.dialect
    kind = d.string_literal(compiled.resource)
    numbered = (
        f"SELECT row_number() OVER () AS n, institution, local_id, content_hash, resource FROM {source}"
    )
    with engine.temporary(_ROWS, numbered):
        total = engine.sql(f"SELECT count(*) AS n FROM {_ROWS}").column(0)[0].as_py()

        def relation(where: str) -> str:
            return f"(SELECT institution, resource, {kind} AS type FROM {_ROWS} WHERE {where})"

        def attempt(query: CompiledView, rows: Sequence[int]) -> Exception | None:
            sql = query.sql(relation(_rows_predicate(rows)), passthrough=passthrough, type_column="type")
            try:  # materialised, so that every column of every row is computed
                with engine.temporary("view_probe", sql):
                    return None
            except engine.data_errors as exc:
                return exc

        bad = _failing(attempt, compiled, range(1, total + 1), known_to_fail=True)
        if not bad:
            raise error
        rejects = _rejects(engine, view, compiled, attempt, bad)
        with engine.registered(_BAD, pa.table({"n": pa.array(sorted(bad), pa.int64())})):
            kept = relation(f"n NOT IN (SELECT n FROM {_BAD})")
            result = engine.sql(compiled.sql(kept, passthrough=passthrough, type_column="type"))
    return result, rejects


def _rows_predicate(rows: Sequence[int]) -> str:
    if isinstance(rows, range):
        return f"n >= {rows.start} AND n < {rows.stop}"
    return f"n IN ({', '.join(map(str, rows))})"


Attempt = Callable[[CompiledView, Sequence[int]], Exception | None]


def _failing(
    attempt: Attempt, query: CompiledView, rows: Sequence[int], known_to_fail: bool = False
) -> dict[int, Exception]:
    """Row number → the error the view raises on that row alone, for every row of ``rows`` that
    fails on its own (found by cutting failing parts into :data:`PARTS`)."""
    failed: dict[int, Exception] = {}
    pending: list[tuple[Sequence[int], bool]] = [(rows, known_to_fail)]
    while pending:
        part, fails = pending.pop()
        if not part:
            continue
        if not fails:
            exc = attempt(query, part)
            if exc is None:
                continue
            if len(part) == 1:
                failed[part[0]] = exc
                continue
        step = -(-len(part) // PARTS)
        pending.extend((part[start : start + step], False) for start in range(0, len(part), step))
    return failed


def _rejects(
    engine: Engine, view: dict, compiled: CompiledView, attempt: Attempt, bad: dict[int, Exception]
) -> list[BuildReject]:
    """A reason for each bad row, naming the columns that fail on it alone."""
    columns: dict[int, list[str]] = {n: [] for n in bad}
    rows = sorted(bad)
    paths = _column_paths(view)
    for column in compiled.columns:
        alone = compile_view(_only(view, column.name), engine.dialect)
        for n, exc in sorted(_failing(attempt, alone, rows).items()):
            columns[n].append(f"column {column.name} ({paths.get(column.name, '?')}): {_first_line(exc)}")
    keys = engine.sql(
        f"SELECT n, institution, local_id, content_hash FROM {_ROWS} WHERE {_rows_predicate(rows)}"
    )
    found = []
    table = f"warehouse.{compiled.name}"
    for n, institution, local_id, content_hash in zip(
        *(keys.column(i).to_pylist() for i in range(4)), strict=True
    ):
        what = "; ".join(columns[n]) or _first_line(bad[n])
        reason = (
            f"{table} cannot convert {compiled.resource} {institution}.{local_id}: {what}; "
            f"the resource is stored (raw, integrated) but left out of {table}"
        )
        found.append(BuildReject(institution, compiled.resource, local_id, content_hash, reason))
    return sorted(found)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _selects(node: dict) -> list[dict]:
    return [*node.get("select", []), *node.get("unionAll", [])]


def _column_paths(view: dict) -> dict[str, str]:
    paths: dict[str, str] = {}
    pending = list(view.get("select", []))
    while pending:
        node = pending.pop()
        paths.update((c["name"], c["path"]) for c in node.get("column", []))
        pending.extend(_selects(node))
    return paths


def _only(view: dict, name: str) -> dict:
    """``view`` with every column but ``name`` reading nothing (the empty collection ``{}``), so
    its rows, forEach and where are the same and only that column is computed."""
    single = copy.deepcopy(view)
    pending = list(single.get("select", []))
    while pending:
        node = pending.pop()
        for column in node.get("column", []):
            if column["name"] != name:
                column["path"] = "{}"
        pending.extend(_selects(node))
    return single


# The quarantine ---------------------------------------------------------------------------------

_KEY = ["institution", "batch_id", "source_file", "line", "reason"]


def quarantine_rejects(workspace: Workspace, rejects: Sequence[BuildReject], job_id: str) -> int:
    """Add the build's rejects to the quarantine, each with its raw row's provenance and text,
    leaving out those an earlier build put there; returns how many were added."""
    if not rejects:
        return 0
    lake = workspace.lake
    raw = lake.dataset(lake.uri(Layer.RAW, RAW_RESOURCES))
    if raw is None:
        return 0
    hashes = pa.array(sorted({r.content_hash for r in rejects}), pa.string())
    origin = raw.to_table(
        columns=[
            "institution",
            "resource_type",
            "resource_id",
            "content_hash",
            "batch_id",
            "source_file",
            "line",
            "received_at",
            "resource",
        ],
        filter=pads.field("content_hash").isin(hashes),
    ).to_pylist()
    rows_of = {(r["institution"], r["resource_type"], r["resource_id"], r["content_hash"]): r for r in origin}
    rows = []
    for reject in rejects:
        row = rows_of.get((reject.institution, reject.resource_type, reject.local_id, reject.content_hash))
        if row is None:  # the raw layer changed under the build: the next build finds it again
            continue
        rows.append(
            {
                "institution": reject.institution,
                "batch_id": row["batch_id"],
                "source_file": row["source_file"],
                "line": row["line"],
                "received_at": row["received_at"],
                "stage": STAGE,
                "reason": reject.reason,
                "raw": row["resource"],
            }
        )
    uri = lake.uri(Layer.RAW, QUARANTINE)
    table = pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
    existing = lake.dataset(uri)
    if existing is not None and table.num_rows:
        earlier = existing.to_table(columns=_KEY, filter=pads.field("stage") == STAGE)
        if earlier.num_rows:
            seen = set(zip(*(earlier.column(c).to_pylist() for c in _KEY), strict=True))
            fresh = [tuple(row[c] for c in _KEY) not in seen for row in rows]
            table = table.filter(pa.array(fresh, pa.bool_()))
    if not table.num_rows:
        return 0
    lake.write(
        uri,
        table,
        partition_by=["institution"],
        metadata={"medlake.job": job_id},
        long_text=["raw", "reason"],
    )
    record_raw_datasets(workspace, job_id, [], tables=[QUARANTINE])  # no batch: the build made them
    return table.num_rows
