"""Benchmark of the master patient index: link N synthetic person records, measure time and memory.

Usage: ``PYTHONPATH=src .venv/bin/python bench/link.py --records 100000 --records 1000000 [--json]``

Each size runs in its own child process so that its peak resident memory is its own. The records
come from medlake.synth.linkage (households, twins, moves, marriages, nicknames, typos; about
35 % of the records are further records of a person already present), so the run also reports
the pairwise accuracy against the generator's truth. Generation time is not counted: the
measured span is what ``link_records`` does (standardise, train, score, decide, cluster).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

from _measure import in_child


def run_one(n_records: int, seed: int, threads: int | None) -> dict[str, Any]:
    """Generate, link and score one population; runs inside a fresh process."""
    from medlake.link import LinkSettings, evaluate_linkage, link_records
    from medlake.synth.linkage import generate_person_records

    clock = time.perf_counter()
    population = generate_person_records(n_records, seed=seed)
    generate_seconds = time.perf_counter() - clock
    truth = population.set_index("record_id")["person_id"]
    records = population.drop(columns=["person_id"])
    settings = LinkSettings(threads=threads)
    clock = time.perf_counter()
    result = link_records(records, settings)
    wall = time.perf_counter() - clock
    accuracy = evaluate_linkage(result, truth, wall)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "records": n_records,
        "wall_seconds": round(wall, 2),
        "records_per_second": round(n_records / wall),
        "peak_memory_mib": round(peak_kib / 1024),
        "phases_seconds": {k: round(v, 2) for k, v in result.seconds.items()},
        "generate_seconds": round(generate_seconds, 2),
        "pairs_scored": len(result.pairs),
        "pairs_for_review": accuracy.pairs_for_review,
        "precision": accuracy.precision,
        "recall": accuracy.recall,
        "f1": accuracy.f1,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, action="append", help="population size (repeatable)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    sizes = args.records or [100_000]
    results = []
    for n in sizes:
        outcome = in_child(run_one, n, args.seed, args.threads)
        results.append(outcome)
        if "error" in outcome:
            print(f"{n:,} records failed: {outcome['error']}", file=sys.stderr)
            return 1
        if not args.json:
            phases = ", ".join(f"{k} {v}s" for k, v in outcome["phases_seconds"].items())
            print(
                f"{n:>9,} records: {outcome['wall_seconds']:>7.1f} s wall, "
                f"{outcome['records_per_second']:>7,} records/s, "
                f"peak {outcome['peak_memory_mib']:,} MiB ({phases}); "
                f"F1 {outcome['f1']:.4f} (P {outcome['precision']:.4f}, R {outcome['recall']:.4f}), "
                f"{outcome['pairs_for_review']:,} pairs for review",
                flush=True,
            )
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
