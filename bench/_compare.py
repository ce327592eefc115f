"""Is the output equal? Row counts of each system's tables against what the input implies.

The input fixes three numbers per resource type, computed here with DuckDB straight from the
NDJSON (outside any measured run):

* ``lines``: every line, older versions included (what a loader that keeps everything has);
* ``current``: distinct (institution, id), i.e. the current version of each institution's
  resource: what a correct integrated table holds;
* ``ids``: distinct ids over the region, i.e. what a system that keys on ``id`` alone
  keeps when two institutions happen to use the same id for different resources.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

#: Compared resource types → each system's table for it. medlake: its integrated table (the
#: warehouse views of these types have one row per resource, so the same count); fhir4ds: the
#: view of that type (it has no Practitioner view); cumulus-etl: its output table.
COMPARED = {
    "Patient": ("patient", "patient"),
    "Encounter": ("encounter", "encounter"),
    "Condition": ("condition", "condition"),
    "Observation": ("observation", "observation"),
    "Immunization": ("immunization", "immunization"),
    "MedicationRequest": ("medication_request", "medicationrequest"),
    "Procedure": ("procedure", "procedure"),
    "Claim": ("claim", "claim"),
    "Practitioner": (None, "practitioner"),
}


def expected_counts(region: Path) -> dict[str, dict[str, int]]:
    """Per resource type: ``lines``, ``current`` and ``ids`` (see the module docstring)."""
    pattern = str(region / "*" / "*.ndjson")
    rows = duckdb.sql(
        f"""
        SELECT json_extract_string(json, '$.resourceType') AS type, count(*) AS lines,
               count(DISTINCT (regexp_extract(filename, '([^/]+)/[^/]+$', 1),
                               json_extract_string(json, '$.id'))),
               count(DISTINCT json_extract_string(json, '$.id'))
        FROM read_ndjson_objects('{pattern}', filename = true)
        GROUP BY ALL
        """
    ).fetchall()
    return {t: {"lines": lines, "current": current, "ids": ids} for t, lines, current, ids in rows}


def output_rows(system: str, result: dict) -> dict[str, int | None]:
    """Rows per compared resource type in one system's output (None: it has no such table)."""
    if system == "medlake":
        return {t: result["integrated"].get(t) for t in COMPARED}
    column = 0 if system == "fhir4ds" else 1
    tables = result["tables"]
    return {t: tables.get(names[column]) if names[column] else None for t, names in COMPARED.items()}


def medlake_fill(lake: Path) -> dict[str, dict[str, list[int]]]:
    """Per warehouse table and column: [rows, non-null values], read from the Delta tables."""
    from deltalake import DeltaTable

    fill = {}
    for folder in sorted(p for p in (lake / "warehouse").iterdir() if p.is_dir()):
        fill[folder.name] = _fill(DeltaTable(str(folder)).to_pyarrow_table())
    return fill


def parquet_fill(folder: Path) -> dict[str, dict[str, list[int]]]:
    """The same for a folder of one Parquet file per view (fhir4ds' output)."""
    import pyarrow.parquet as pq

    fill = {}
    for file in sorted(folder.glob("*.parquet")):
        fill[file.stem] = _fill(pq.read_table(file))
    return fill


def _fill(table: pa.Table) -> dict[str, list[int]]:
    return {c: [table.num_rows, table.num_rows - table[c].null_count] for c in table.column_names}


def emptied_columns(
    medlake: dict, peer: dict, tolerance: float = 0.02
) -> list[tuple[str, str, float, float]]:
    """Columns the peer fills for a clearly smaller share of rows than medlake (or not at all).

    Shares, not counts: fhir4ds keeps every version, so its tables have a few more rows.
    """
    found = []
    for view, columns in medlake.items():
        for column, (rows, filled) in columns.items():
            if column not in peer.get(view, {}) or not rows:
                continue
            peer_rows, peer_filled = peer[view][column]
            ours, theirs = filled / rows, (peer_filled / peer_rows if peer_rows else 0.0)
            if ours - theirs > tolerance:
                found.append((view, column, ours, theirs))
    return found
