"""SQL import throughput: the demo HIS in PostgreSQL and MariaDB, imported fully and then incrementally.

For each server a fresh database is created and filled with about ``--rows`` rows of the
demo HIS (patients, visits, diagnoses, lab results, prescriptions), imported with the
shipped ``his-demo`` mapping into a fresh workspace (full import), imported again with
nothing changed, then changed as a day in the hospital would (new patients, discharges,
corrected results) and imported incrementally. Rows per second count database rows read.

    python bench/sql_import.py [--rows 100000] [--servers postgres,mariadb] [--workers 2]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from medlake.sources.database import import_sql
from medlake.synth.his import apply_changes, create_and_fill
from medlake.workspace import init_workspace

SERVERS = {
    "postgres": ("postgresql+psycopg://postgres@127.0.0.1:5432", "postgres", '"{}"', " WITH (FORCE)"),
    "mariadb": ("mysql+pymysql://root@127.0.0.1:3306", "test", "`{}`", ""),
}
ROWS_PER_PATIENT = 17.2  # the demo HIS's average, measured on seed 1


def admin(server: str, statement: str) -> None:
    base, database, _, _ = SERVERS[server]
    engine = create_engine(f"{base}/{database}", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as con:
            con.execute(text(statement))
    finally:
        engine.dispose()


def rows_read(reports) -> int:
    """Database rows read: each chunk's source names its rows (``#table?rows=first-last``)."""
    last: dict[str, int] = {}
    for report in reports:
        table, _, span = report.source.rpartition("#")[2].partition("?rows=")
        last[table] = max(last.get(table, 0), int(span.split("-")[1]))
    return sum(last.values())


def run(server: str, rows: int, workers: int) -> list[tuple]:
    base, _, quote, force = SERVERS[server]
    name = f"medlake_bench_{uuid.uuid4().hex[:8]}"
    admin(server, f"CREATE DATABASE {quote.format(name)}")
    url = f"{base}/{name}"
    results = []
    try:
        patients = max(1, round(rows / ROWS_PER_PATIENT))
        started = time.perf_counter()
        filled = create_and_fill(url, patients=patients, seed=1)
        fill_rows = sum(filled.inserted.values())
        results.append((server, "fill (demo HIS)", fill_rows, time.perf_counter() - started, "", ""))
        with tempfile.TemporaryDirectory() as home:
            workspace = init_workspace(Path(home), ingest_workers=workers)
            for label in ("full import", "re-run, nothing changed"):
                started = time.perf_counter()
                reports = import_sql(workspace, url, "his-demo", "hosp-demo")
                seconds = time.perf_counter() - started
                stored = sum(r.stored for r in reports)
                results.append((server, label, rows_read(reports), seconds, stored, len(reports)))
            new, discharged, corrected = patients // 20, patients // 50, patients // 10
            changes = apply_changes(url, 1, new_patients=new, discharges=discharged, corrections=corrected)
            changed = sum(changes.inserted.values()) + sum(changes.updated.values())
            started = time.perf_counter()
            reports = import_sql(workspace, url, "his-demo", "hosp-demo")
            seconds = time.perf_counter() - started
            stored = sum(r.stored for r in reports)
            step = f"incremental ({changed:,} rows changed)"
            results.append((server, step, rows_read(reports), seconds, stored, len(reports)))
    finally:
        admin(server, f"DROP DATABASE IF EXISTS {quote.format(name)}{force}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="demo HIS rows to create (about)")
    parser.add_argument("--servers", default="postgres,mariadb")
    parser.add_argument("--workers", type=int, default=2, help="ingest worker processes")
    args = parser.parse_args()
    print("$ python " + " ".join(shlex.quote(a) for a in sys.argv))
    header = ("server", "step", "rows read", "seconds", "rows/s", "stored", "batches")
    print("{:<9} {:<36} {:>10} {:>8} {:>8} {:>8} {:>7}".format(*header))
    print("(rows: database rows read; stored: FHIR resources stored, a visit row with a weight makes two)")
    for server in args.servers.split(","):
        for row in run(server.strip(), args.rows, args.workers):
            srv, step, read, seconds, stored, batches = row
            print(
                f"{srv:<9} {step:<36} {read:>10,} {seconds:>8.1f} {read / seconds:>8,.0f} "
                f"{stored if stored == '' else format(stored, ','):>8} {batches:>7}",
                flush=True,
            )


if __name__ == "__main__":
    main()
