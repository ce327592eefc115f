"""A cache of standardised person records, so that an incremental run cleans only what is new.

Scoring new records against a million existing ones needs the existing ones standardised;
standardising them again on every run would cost more than the incremental linkage itself.
The cache is a Parquet file in the workspace keyed by record id and fingerprint: a row is reused
only while its record's fingerprint is unchanged, so a stale or half-written cache can cost time
but never change a result (it is written to a temporary file and renamed into place).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from medlake.link.standardise import standardise
from medlake.workspace import Workspace

FINGERPRINT = "fingerprint"
#: Rewrite the cache when more than this share of the records had to be standardised afresh.
REWRITE_SHARE = 0.05


def cache_path(workspace: Workspace) -> Path:
    return Path(workspace.home) / "mpi" / "standardised.parquet"


def standardised_records(workspace: Workspace, records: pd.DataFrame) -> pa.Table:
    """``records`` standardised (with their fingerprint column), reusing the cache where it is valid."""
    path = cache_path(workspace)
    wanted = pa.table(
        {
            "record_id": pa.array(records["record_id"].astype(str).tolist(), pa.string()),
            FINGERPRINT: pa.array(records[FINGERPRINT].astype(str).tolist(), pa.string()),
        }
    )
    cached = _read(path)
    reusable = None
    if cached is not None:
        key = pc.binary_join_element_wise(
            cached["record_id"].cast(pa.string()), cached[FINGERPRINT].cast(pa.string()), "\x1f"
        )
        wanted_key = pc.binary_join_element_wise(wanted["record_id"], wanted[FINGERPRINT], "\x1f")
        reusable = cached.filter(pc.is_in(key, value_set=wanted_key))
        done = set(reusable.column("record_id").to_pylist())
        todo = records[~records["record_id"].astype(str).isin(done)]
    else:
        todo = records
    fresh = _standardise(todo) if len(todo) else None
    parts = [t for t in (reusable, fresh) if t is not None and t.num_rows]
    if fresh is not None and reusable is not None and reusable.schema.names != fresh.schema.names:
        parts, fresh, reusable = [_standardise(records)], None, None  # the cache predates standardise()
    table = pa.concat_tables([p.cast(parts[-1].schema) for p in parts]) if parts else _standardise(records)
    # Rewriting a million-row file for a thousand new rows would cost more than cleaning those rows
    # again next time; the file is rewritten once the uncached part is worth it.
    if cached is None or len(todo) > REWRITE_SHARE * len(records) or reusable is None:
        _write(path, table)
    return table


def _standardise(records: pd.DataFrame) -> pa.Table:
    table = standardise(records.drop(columns=[FINGERPRINT]))
    fingerprints = pa.array(records[FINGERPRINT].astype(str).tolist(), pa.string())
    return table.append_column(FINGERPRINT, fingerprints)


def _read(path: Path) -> pa.Table | None:
    if not path.exists():
        return None
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowInvalid):  # unreadable: rebuild it
        return None


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".parquet.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, path)
