"""The measured child for the fhir4ds peer; runs with the interpreter of ``bench/peers/fhir4ds/venv``.

    python bench/_fhir4ds_runner.py REGION_DIR WORK_DIR VIEWS_JSON RESULT_JSON

Ingest: every NDJSON file of the region into fhir4ds' ``fhir_resources`` table, in a DuckDB
database file (on disk, as medlake's lake is). fhir4ds 0.5.1 has no NDJSON loader of its own
(``load_from_files`` and ``load_from_json_file`` parse each file as *one* JSON document, so
NDJSON fails or goes row by row through Python inserts); the table is filled with DuckDB's
``read_ndjson_objects`` on fhir4ds' own connection, the fastest way in, which favours the peer.

Build: each ViewDefinition through fhir4ds' ``ConnectedDatabase.create_table`` (its
ViewDefinition → SQL generator), then ``COPY ... TO`` Parquet, one file per view.

fhir4ds' DuckDB dialect runs ``INSTALL json`` on every connection it opens; DuckDB 2.0 links
json statically but still tries to download it, which fails offline. The shim below drops
only that statement (``LOAD json`` still runs), so no behaviour of fhir4ds changes.
"""

from __future__ import annotations

import json
import logging
import sys
import types
from pathlib import Path

import duckdb

from _phases import PhaseClock


class _OfflineConnection:
    """A DuckDB connection that skips ``INSTALL json;`` (statically linked, nothing to install)."""

    def __init__(self, real: duckdb.DuckDBPyConnection) -> None:
        self._real = real

    def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
        return self._real.execute(sql.replace("INSTALL json;", ""), *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


def _offline_fhir4ds() -> None:
    import fhir4ds.dialects.duckdb as dialect_module

    dialect_module.duckdb = types.SimpleNamespace(  # type: ignore[attr-defined]
        connect=lambda *a, **k: _OfflineConnection(duckdb.connect(*a, **k))
    )


def main(region: Path, work: Path, views_file: Path, result: Path) -> None:
    logging.disable(logging.WARNING)  # fhir4ds logs a warning per column it falls back on
    _offline_fhir4ds()
    from fhir4ds.datastore import QuickConnect

    views = json.loads(views_file.read_text())
    files = sorted(str(p) for p in region.glob("*/*.ndjson"))
    out = work / "tables"
    out.mkdir(parents=True, exist_ok=True)
    clock = PhaseClock()
    with clock.phase("ingest"):
        db = QuickConnect.duckdb(str(work / "fhir4ds.duckdb"))
        con = db.datastore.dialect.connection
        con.execute(f"INSERT INTO fhir_resources (resource) SELECT json FROM read_ndjson_objects({files!r})")
        loaded = con.execute("SELECT count(*) FROM fhir_resources").fetchone()[0]
    tables: dict[str, int] = {}
    with clock.phase("build"):
        for view in views:
            name = view["name"]
            db.create_table(view, name)
            target = out / f"{name}.parquet"
            con.execute(f"COPY {name} TO '{target}' (FORMAT parquet)")
            tables[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        con.execute("CHECKPOINT")
    clock.write(result, resources=loaded, tables=tables, output=str(out))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
