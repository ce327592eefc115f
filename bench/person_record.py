"""Benchmark of one person's record at a million persons: which serving layout meets p95 < 20 ms.

Usage::

    PYTHONPATH=src .venv/bin/python bench/person_record.py --persons 1000000 --queries 500 \
        --direct-queries 20 --docs docs/benchmarks.md

A million residents of FHIR cannot be synthesised, ingested and linked on this machine in a
benchmark's time, so the 1M-person warehouse is made by **replication**: a real region is
synthesised, ingested, built and linked (``medlake.demo.run_demo``), its golden table built,
and then every warehouse table the person record reads (person_link, person_golden and the
clinical tables) is copied N times with ``-r<k>`` appended to every id (person, patient,
resource), so each copy is a new set of persons with exactly the real region's per-person
rows. Those Delta tables (partitioned by institution, like the real warehouse) are layout (a);
``refresh_serving_store`` builds layouts (b) SQLite and (c) PostgreSQL from them, the way
``medlake person build`` does.

Latency is wall time of one ``person_record`` read over ids drawn at random (uniformly, with
a fixed seed), after a short warm-up, in this one process: (a) through a ``DirectReader`` kept
open (its best case: tables registered once), (b) and (c) through ``person_record(ws, id,
source="store")``. Peak memory is this process's peak RSS after each phase (getrusage).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

ID_COLUMNS = {"id", "patient_id", "person_id", "observation_id", "encounter_id", "claim_id"}
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def peak_mib() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def base_region(args: argparse.Namespace, scratch: Path) -> Any:
    """A built, linked region (given or synthesised) with its golden table."""
    from medlake.demo import run_demo
    from medlake.person import build_golden
    from medlake.workspace import open_workspace

    if args.base_home:
        workspace = open_workspace(args.base_home)
    else:
        run_demo(scratch / "region", args.residents, args.seed)
        workspace = open_workspace(scratch / "region" / "workspace")
    build_golden(workspace)
    return workspace


def _suffixed(table: pa.Table, copy: int) -> pa.Table:
    if copy == 0:
        return table
    suffix = f"-r{copy}"
    for i, name in enumerate(table.column_names):
        if name in ID_COLUMNS or name.endswith("_from"):
            column = table.column(i)
            table = table.set_column(i, name, pc.binary_join_element_wise(column, pa.scalar(suffix), ""))
    return table


def replicate(base: Any, target: Any, copies: int, progress: Callable[[str], None]) -> dict[str, int]:
    """Copy every table the person record reads ``copies`` times under new ids into ``target``'s lake."""
    from medlake.lake.tables import Layer
    from medlake.person.record import SOURCE_TABLES

    rows: dict[str, int] = {}
    for name in SOURCE_TABLES:
        data = base.lake.read(base.table_uri(f"warehouse.{name}"))
        if data is None:
            continue
        data = data.combine_chunks()

        def batches(data: pa.Table = data) -> Iterator[pa.RecordBatch]:
            for copy in range(copies):
                yield from _suffixed(data, copy).to_batches()

        reader = pa.RecordBatchReader.from_batches(data.schema, batches())
        partition = (
            ["institution"] if "institution" in data.column_names and name != "person_golden" else None
        )
        target.lake.write(
            target.lake.uri(Layer.WAREHOUSE, name), reader, mode="overwrite", partition_by=partition
        )
        rows[name] = data.num_rows * copies
        progress(f"replicated {name}: {rows[name]:,} rows")
    return rows


def latencies(read: Callable[[str], Any], ids: list[str], warmup: int) -> list[float]:
    for person_id in ids[:warmup]:
        read(person_id)
    times = []
    for person_id in ids[warmup:]:
        start = time.perf_counter()
        read(person_id)
        times.append((time.perf_counter() - start) * 1000)
    return times


def percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": statistics.fmean(ordered),
    }


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"- CPU: {cpu}; `nproc` = {os.cpu_count()}; {total:.0f} GiB memory; "
        f"Python {platform.python_version()} ({platform.platform()})",
        "- shared with other engineers' jobs during the run: load average "
        + " / ".join(f"{x:.1f}" for x in os.getloadavg())
        + " (1/5/15 min) at the end",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000, help="persons after replication (at least)")
    parser.add_argument(
        "--residents", type=int, default=1_000, help="residents of the synthesised base region"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--base-home", type=Path, help="use this built and linked workspace as the base")
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temporary one)")
    parser.add_argument("--queries", type=int, default=500, help="timed reads per store layout")
    parser.add_argument("--direct-queries", type=int, default=20, help="timed reads of layout (a)")
    parser.add_argument("--postgres", default=DEFAULT_PG, help="SQLAlchemy URL for layout (c); '' to skip")
    parser.add_argument("--docs", type=Path, help="append the results as a section of this markdown file")
    args = parser.parse_args(argv)

    from medlake.person import DirectReader, person_record, refresh_serving_store
    from medlake.person.store import drop_serving_store
    from medlake.workspace import init_workspace

    started = datetime.now(UTC)
    scratch = args.work or Path(tempfile.mkdtemp(prefix="medlake-bench-person-"))
    scratch.mkdir(parents=True, exist_ok=True)
    os.chdir(scratch)  # DuckDB spills sorts to ./.tmp: keep that out of the project

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message} (peak {peak_mib():,} MiB)", flush=True)

    base = base_region(args, scratch)
    base_persons = base.table("warehouse.person_golden", ["person_id"]).num_rows
    copies = math.ceil(args.persons / base_persons)
    say(f"base region: {base_persons:,} persons; {copies:,} copies")

    # the base region itself, direct: how layout (a) does before the region grows
    with DirectReader(base) as reader:
        base_ids = base.table("warehouse.person_golden", ["person_id"]).column(0).to_pylist()
        rng = random.Random(args.seed)
        small = percentiles(latencies(reader.record, rng.choices(base_ids, k=args.queries // 5 + 10), 10))
    say(f"(a) direct at {base_persons:,} persons: {small}")

    big = init_workspace(scratch / "million", engine_memory_limit="6GB")
    clock = time.perf_counter()
    rows = replicate(base, big, copies, say)
    replicate_seconds = time.perf_counter() - clock
    persons = base_persons * copies
    ids = big.table("warehouse.person_golden", ["person_id"]).column(0).to_pylist()
    assert len(ids) == persons
    rng = random.Random(args.seed + 1)
    sample = rng.sample(ids, args.queries + 20)
    del ids
    results: list[dict[str, Any]] = []

    clock = time.perf_counter()
    with DirectReader(big) as reader:
        open_seconds = time.perf_counter() - clock
        times = latencies(reader.record, sample[: args.direct_queries + 2], 2)
    results.append(
        {
            "layout": "(a) DuckDB over the Delta warehouse",
            "build_s": 0.0,
            "size": "",
            **percentiles(times),
            "note": f"reader opened once ({open_seconds:.1f} s)",
        }
    )
    say(f"(a) direct: {results[-1]}")

    stores = [("(b) SQLite, clustered by person", f"sqlite:///{scratch / 'person.db'}")]
    if args.postgres:
        stores.append(("(c) PostgreSQL, clustered by person", args.postgres))
    for label, url in stores:
        clock = time.perf_counter()
        report = refresh_serving_store(big, url=url)
        build_seconds = time.perf_counter() - clock
        size = _store_size(url, scratch)
        say(f"{label}: built in {build_seconds:.0f} s, {size}, rows {report.rows}")
        big.settings.person_store_url = url
        times = latencies(lambda pid: person_record(big, pid, source="store"), sample, 20)
        results.append(
            {"layout": label, "build_s": build_seconds, "size": size, **percentiles(times), "note": ""}
        )
        say(f"{label}: {results[-1]}")
        drop_serving_store(url)  # tens of GiB at 1M persons: free the disk before the next layout

    summary = {
        "persons": persons,
        "base_persons": base_persons,
        "copies": copies,
        "rows": rows,
        "replicate_s": replicate_seconds,
        "direct_small": small,
        "results": results,
        "peak_mib": peak_mib(),
    }
    text = render(summary, args, started)
    print(text)
    if args.docs:
        with args.docs.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text)
    return 0


def _store_size(url: str, scratch: Path) -> str:
    if url.startswith("sqlite"):
        return f"{(scratch / 'person.db').stat().st_size / 2**30:.1f} GiB"
    import psycopg

    from medlake.person.store import SCHEMA
    from medlake.person.store.writers import psycopg_conninfo

    with psycopg.connect(psycopg_conninfo(url)) as con:
        total = con.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (SCHEMA,),
        ).fetchone()[0]
    return f"{(total or 0) / 2**30:.1f} GiB"


def render(summary: dict[str, Any], args: argparse.Namespace, started: datetime) -> str:
    rows = summary["rows"]
    lines = [
        "## Person record: serving layout at a million persons",
        "",
        *machine(),
        f"- run {started:%Y-%m-%d %H:%M} UTC; peak RSS of the benchmark process {summary['peak_mib']:,} MiB",
        "",
        "```",
        "PYTHONPATH=src .venv/bin/python bench/person_record.py "
        + " ".join(a for a in sys.argv[1:] if not a.startswith("--docs"))
        + (f" --docs {args.docs}" if args.docs else ""),
        "```",
        "",
        f"A synthetic region of {args.residents:,} residents ({summary['base_persons']:,} linked persons) "
        f"was synthesised, ingested, built and linked, then **replicated** {summary['copies']:,} times "
        f"under new ids to {summary['persons']:,} persons ({summary['replicate_s']:.0f} s): "
        f"{rows.get('person_link', 0):,} patients, "
        f"{sum(v for k, v in rows.items() if k not in {'person_link', 'person_golden'}):,} clinical rows. "
        "Latency is one `person_record` read (golden record, patients, timeline, observation series) over "
        "ids drawn at random.",
        "",
        "| layout | build s | size | reads | p50 ms | p95 ms | p99 ms | mean ms | note |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in summary["results"]:
        lines.append(
            f"| {r['layout']} | {r['build_s']:.0f} | {r['size']} | {r['n']} | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {r['mean']:.1f} | {r['note']} |"
        )
    s = summary["direct_small"]
    lines += [
        "",
        f"For scale: layout (a) on the un-replicated region ({summary['base_persons']:,} persons) answers in "
        f"p50 {s['p50']:.1f} ms / p95 {s['p95']:.1f} ms ({s['n']} reads).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
