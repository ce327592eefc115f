"""Benchmark of the master patient index as a region runs it: a full first run, then incremental runs.

Usage: ``PYTHONPATH=src .venv/bin/python bench/mpi.py --records 1000000 --late 1000 [--json]``

The patients come from ``medlake.synth.linkage`` (households, twins, moves, marriages, typos,
with the truth kept aside) and are written straight into ``warehouse.person_record`` of a fresh
workspace: FHIR ingest and the warehouse build are measured by bench/ingest.py, not here. A
random ``--late`` records are held back and arrive afterwards, so the second run links them
against the existing persons. Measured: wall time of ``MasterPatientIndex.run`` (phases from
its report), peak memory of the process, and pairwise precision/recall against the truth after
each run. Runs in a child process so that the peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _measure import in_child


def _accuracy(ws: Any, truth: Any) -> dict[str, float]:
    """Pairwise precision and recall of warehouse.person_link against the truth (its linked records)."""
    from medlake.link.evaluate import pairwise_scores

    links = ws.table("warehouse.person_link", ["patient_id", "person_id"]).to_pandas()
    true, predicted, correct = pairwise_scores(links.set_index("patient_id")["person_id"], truth)
    return {
        "precision": round(correct / max(predicted, 1), 4),
        "recall": round(correct / max(true, 1), 4),
    }


def run_one(n_records: int, late: int, seed: int, home: str) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    from medlake.lake.tables import Layer
    from medlake.mpi import MasterPatientIndex
    from medlake.synth.linkage import generate_person_records
    from medlake.workspace import init_workspace

    population = generate_person_records(n_records + late, seed=seed)
    population["record_id"] = population["source"] + "." + population["record_id"].astype(str)
    truth = population.set_index("record_id")["person_id"].astype(str)
    order = np.random.default_rng(seed).permutation(len(population))
    held_back = population.iloc[order[:late]]
    initial = population.iloc[order[late:]]
    ws = init_workspace(Path(home) / "ws")
    uri = ws.lake.uri(Layer.WAREHOUSE, "person_record")

    def person_record_table(frame: Any) -> pa.Table:
        columns = {
            "id": frame["record_id"], "institution": frame["source"], "given": frame["given"],
            "family": frame["family"], "birth_date": frame["birth_date"], "sex": frame["sex"],
            "address_line": frame["address"], "city": frame["city"], "postcode": frame["postcode"],
            "state": frame["state"], "phone": frame["phone"], "national_id": frame["identifier"],
        }  # fmt: skip
        return pa.table(
            {
                k: pa.array(v.astype(object).where(v.notna(), None).tolist(), pa.string())
                for k, v in columns.items()
            }
        )

    mpi = MasterPatientIndex(ws)
    out: dict[str, Any] = {"records": n_records, "late": late}
    for step, frame, mode in (("full", initial, "overwrite"), ("incremental", held_back, "append")):
        ws.lake.write(uri, person_record_table(frame), mode=mode)
        clock = time.perf_counter()
        report = mpi.run()
        wall = time.perf_counter() - clock
        out[step] = {
            "wall_seconds": round(wall, 2),
            "mode": report.mode,
            "new": report.new,
            "persons": report.persons,
            "merged": report.merged,
            "review_new": report.review_new,
            "phases_seconds": {k: round(v, 2) for k, v in report.seconds.items()},
            **_accuracy(ws, truth),
        }
    clock = time.perf_counter()
    report = mpi.run()
    out["no_change"] = {"wall_seconds": round(time.perf_counter() - clock, 2), "mode": report.mode}
    out["peak_memory_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def run_in_temporary_home(n_records: int, late: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="medlake-bench-mpi-") as home:
        return run_one(n_records, late, seed, home)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, action="append", help="existing patient records (repeatable)")
    parser.add_argument("--late", type=int, default=1000, help="records arriving after the first run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    results = []
    for n in args.records or [100_000]:
        outcome = in_child(run_in_temporary_home, n, args.late, args.seed)
        results.append(outcome)
        if "error" in outcome:
            print(f"{n:,} records failed: {outcome['error']}", file=sys.stderr)
            return 1
        if not args.json:
            full, inc = outcome["full"], outcome["incremental"]
            print(
                f"{n:>9,} records: full run {full['wall_seconds']:.1f} s "
                f"(P {full['precision']:.4f}, R {full['recall']:.4f}; {full['phases_seconds']}); "
                f"{args.late:,} late records: incremental {inc['wall_seconds']:.1f} s "
                f"(P {inc['precision']:.4f}, R {inc['recall']:.4f}; {inc['phases_seconds']}); "
                f"no-change run {outcome['no_change']['wall_seconds']:.1f} s; "
                f"peak {outcome['peak_memory_mib']:,} MiB",
                flush=True,
            )
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
