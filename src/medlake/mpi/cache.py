"""A cache of standardised person records, so that an incremental run cleans only what is new.

Scoring new records against a million existing ones needs the existing ones standardised;
standardising them again on every run would cost more than the incremental linkage itself.
The cache is a Parquet file in the workspace keyed by record id and fingerprint: a row is reused
only while its record's fingerprint is unchanged, so a stale or half-written cache can cost time
but never change a result (it is written to a temporary file and renamed into place).
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from medlake.engine import Engine
from medlake.link.standardise import STANDARD_COLUMNS, standardise
from medlake.workspace import Workspace

FINGERPRINT = "fingerprint"
#: Schema metadata naming what the cached values were derived with besides the record: the
#: nickname table's package version (an upgrade changes ``given_nicknames`` of unchanged records).
_MADE_WITH_KEY = b"medlake.standardised_with"
#: Rewrite the cache when more than this share of the records had to be standardised afresh.
REWRITE_SHARE = 0.05


def cache_path(workspace: Workspace) -> Path:
    return Path(workspace.home) / "mpi" / "standardised.parquet"


def standardised_records(workspace: Workspace, records: pd.DataFrame) -> pa.Table:
    """``records`` standardised (with their fingerprint column), reusing the cache where it is valid."""
    path = cache_path(workspace)
    wanted = pa.table(
        {
            "record_id": pa.array(records["record_id"], pa.string()),
            FINGERPRINT: pa.array(records[FINGERPRINT], pa.string()),
        }
    )
    with workspace.local_engine() as engine:
        reusable = _reusable(engine, path, wanted)
        if reusable is not None:
            done = pc.is_in(wanted["record_id"], value_set=reusable.column("record_id").cast(pa.string()))
            todo = records[~done.to_numpy(zero_copy_only=False)]
        else:
            todo = records
        fresh = _standardise(engine, todo) if len(todo) else None
        parts = [t for t in (reusable, fresh) if t is not None and t.num_rows]
        table = (
            pa.concat_tables([p.cast(parts[-1].schema) for p in parts])
            if parts
            else _standardise(engine, records)
        )
    # Rewriting a million-row file for a thousand new rows would cost more than cleaning those rows
    # again next time; the file is rewritten once the uncached part is worth it.
    if reusable is None or len(todo) > REWRITE_SHARE * len(records):
        _write(path, table)
    return table


def _reusable(engine: Engine, path: Path, wanted: pa.Table) -> pa.Table | None:
    """The cached rows whose (record_id, fingerprint) is wanted; None when there is no usable cache.

    A cache written before standardise() gained a column (family_nicknames), or with another
    version of the nickname table, must not be reused even when no record changed: the model
    would look for a column the cached rows lack, or compare stale nickname groups. The
    engine joins the file against the wanted keys, so the rows of changed records are never loaded.
    """
    if not path.exists():
        return None
    try:
        schema = pq.read_schema(path)
        if (
            schema.names != [*STANDARD_COLUMNS, FINGERPRINT]
            or (schema.metadata or {}).get(_MADE_WITH_KEY) != _made_with()
        ):
            return None
        d = engine.dialect
        with engine.registered("wanted", wanted):
            return engine.sql(
                f"SELECT c.* FROM {d.parquet_files([str(path)])} c {d.semi_join()} wanted w "
                "ON c.record_id = w.record_id AND c.fingerprint = w.fingerprint"
            )
    except (OSError, pa.ArrowInvalid, *engine.query_errors):  # unreadable: rebuild it
        return None


def _standardise(engine: Engine, records: pd.DataFrame) -> pa.Table:
    table = standardise(records.drop(columns=[FINGERPRINT]), engine)
    fingerprints = pa.array(records[FINGERPRINT].astype(str).tolist(), pa.string())
    return table.append_column(FINGERPRINT, fingerprints)


def _made_with() -> bytes:
    return f"nicknames=={version('nicknames')}".encode()


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".parquet.tmp")
    pq.write_table(table.replace_schema_metadata({_MADE_WITH_KEY: _made_with()}), temporary)
    os.replace(temporary, path)
