"""End-to-end ingest benchmark: synth → ingest → build, medlake side by side with the runnable peers.

For each size, the region is synthesised once (measured) and the same NDJSON is given to
every system, each in its own process tree (peak RSS = peak of the tree's summed RSS):

* medlake: ``ingest_paths`` over the region's institution folders as one job (R4 validation,
  de-duplication, versions, Delta raw layer), then ``build_all`` (integrated layer + the
  warehouse from the view library);
* fhir4ds (``bench/peers/fhir4ds/venv``): NDJSON into its DuckDB table, then the view
  library (adapted where fhir4ds cannot run a path, see ``_fhir4ds_views.py``) to Parquet;
* cumulus-etl (``bench/peers/cumulus-etl/venv``): its ETL with NDJSON output.

resources/s is resources received (NDJSON lines) divided by seconds. Results go to
``bench/out/results-<size>.json``; ``--out`` also writes the markdown into the
"Ingest" section of ``docs/benchmarks.md``.

    python bench/ingest.py --sizes 10000,100000,1000000 --peers fhir4ds,cumulus-etl --out docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

from _compare import expected_counts, medlake_fill, output_rows, parquet_fill
from _fhir4ds_views import fhir4ds_views
from _measure import Measured, run_measured
from _peers import PATHLING_NOTE, PEERS, ensure_venv
from _report import SystemRun, machine_facts, render, write_section

BENCH = Path(__file__).resolve().parent


def synthesise(size: int, seed: int, work: Path) -> tuple[Path, Measured]:
    region = work / f"region-{size}"
    if region.exists():
        shutil.rmtree(region)
    measured = run_measured(
        [
            sys.executable,
            str(BENCH / "_medlake_runner.py"),
            "synth",
            str(region),
            str(size),
            str(seed),
            str(work / f"synth-{size}.json"),
        ],
        work / f"synth-{size}.json",
        work / "logs" / f"synth-{size}.log",
    )
    return region, measured


def run_system(system: str, size: int, region: Path, work: Path, workers: int) -> Measured:
    """One system over one region, in a fresh output folder, as its own measured process tree."""
    out = work / f"{system}-{size}"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    result = work / f"{system}-{size}.json"
    if system == "medlake":
        command = [
            sys.executable,
            str(BENCH / "_medlake_runner.py"),
            "pipeline",
            str(region),
            str(out / "home"),
            str(workers),
            str(result),
        ]
    elif system == "fhir4ds":
        views = out / "views.json"
        views.write_text(json.dumps(fhir4ds_views().views))
        command = [
            str(PEERS[system].python),
            str(BENCH / PEERS[system].runner),
            str(region),
            str(out),
            str(views),
            str(result),
        ]
    else:
        command = [
            str(PEERS[system].python),
            str(BENCH / PEERS[system].runner),
            str(region),
            str(out),
            str(result),
        ]
    return run_measured(command, result, work / "logs" / f"{system}-{size}.log")


def column_fill(system: str, out: Path) -> dict | None:
    """[rows, non-null] per output table and column, for the systems whose output is tables."""
    if system == "medlake":
        return medlake_fill(out / "home" / "lake")
    if system == "fhir4ds":
        return parquet_fill(out / "tables")
    return None  # cumulus-etl writes whole (de-identified) resources, not columns


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="resources per region, comma separated")
    parser.add_argument(
        "--peers", default="fhir4ds,cumulus-etl", help="peers to run beside medlake ('' for none)"
    )
    parser.add_argument(
        "--systems", help="run only these systems (e.g. medlake), reusing the others' results"
    )
    parser.add_argument("--out", type=Path, help="write the markdown into this file's Ingest section")
    parser.add_argument("--work", type=Path, default=BENCH / "out", help="inputs, outputs, logs, results")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="medlake ingest worker processes")
    parser.add_argument("--keep-outputs", action="store_true", help="keep every system's output folder")
    args = parser.parse_args(argv)
    args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    args.peer_list = [p for p in args.peers.split(",") if p]
    unknown = set(args.peer_list) - set(PEERS)
    if unknown:
        parser.error(f"unknown peers {sorted(unknown)}; known: {', '.join(PEERS)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    for name in args.peer_list:
        ensure_venv(PEERS[name])
    systems = ["medlake", *args.peer_list]
    only = set(args.systems.split(",")) if args.systems else None  # None: everything, input included
    runs: list[SystemRun] = []
    for size in args.size_list:
        saved = work / f"results-{size}.json"
        previous = {r["system"]: r for r in json.loads(saved.read_text())["runs"]} if saved.exists() else {}
        region = work / f"region-{size}"
        if only is None or not region.exists() or not previous:
            region, synth = synthesise(size, args.seed, work)
            synth_record = {
                "seconds": synth.phases[0].seconds,
                "peak_rss": synth.peak_rss,
                "resources": synth.result["resources"],
            }
        else:
            synth_record = json.loads(saved.read_text())["synth"]
        expected = expected_counts(region)
        records = []
        for system in systems:
            if only is not None and system not in only and system in previous:
                records.append(previous[system])
                continue
            print(f"[{size:,}] {system} …", flush=True)
            load = os.getloadavg()[0]  # the machine is shared: say how busy it was when the run began
            measured = run_system(system, size, region, work, args.workers)
            records.append(
                {
                    "system": system,
                    "phases": {p.name: p.seconds for p in measured.phases},
                    "phase_peak_rss": measured.phase_peak_rss,
                    "wall": measured.wall_seconds,
                    "cpu": measured.cpu_seconds,
                    "peak_rss": measured.peak_rss,
                    "resources": measured.result["resources"],
                    "rows": output_rows(system, measured.result),
                    "tables": measured.result["tables"],
                    "load_before": load,
                    "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(measured.phases[0].start)),
                    "fill": column_fill(system, work / f"{system}-{size}"),
                }
            )
            if not args.keep_outputs and system != "medlake":
                shutil.rmtree(work / f"{system}-{size}", ignore_errors=True)
        saved.write_text(
            json.dumps({"size": size, "synth": synth_record, "expected": expected, "runs": records}, indent=1)
        )
        runs.extend(SystemRun.from_record(size, synth_record, expected, r) for r in records)
    command = "python bench/ingest.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    markdown = render(runs, machine_facts(args.peer_list), command, PATHLING_NOTE)
    print(markdown)
    if args.out:
        write_section(args.out, markdown)


if __name__ == "__main__":
    main()
