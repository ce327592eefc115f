"""Per-resource cost of ingest's checks: the msgspec check against the orjson path.

Every NDJSON line of a synthetic region goes through each path in one process, a few
rounds; the best round counts (the machine is shared, and load only ever adds time). The
load average is printed with the figures, since it colours them.

"The orjson path" is ``ingest.examine.examine_parsed``: what ingest computed for every line
before ``fhir.structs.check`` existed, and still does for the lines the check cannot vouch for;
``examine()`` itself (the check first) is measured too.

    python bench/fhir_check.py [--region DIR] [--rounds 3] [--limit N] [--clock cpu]

``--clock cpu`` counts the process's CPU time instead of wall time: on a machine other work
keeps busy, waiting for a core no longer counts (contention for caches still does).

Without ``--region`` a region is synthesised into a temporary folder (200 residents, seed 5,
as ``medlake synth --residents 200 --seed 5`` makes it).
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from medlake.fhir.reading import Record
from medlake.fhir.structs import check, decoder
from medlake.fhir.validation import validate_references
from medlake.ingest.examine import examine, examine_parsed
from medlake.synth import generate_region


def lines_of(region: Path) -> list[bytes]:
    lines: list[bytes] = []
    for file in sorted(region.rglob("*.ndjson")):
        if "truth" in file.parts:
            continue
        with file.open("rb") as handle:
            lines += [line.rstrip(b"\r\n") for line in handle if line.strip()]
    return lines


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


def best_us(judge: Callable[[Any], object], items: list, rounds: int) -> float:
    """Microseconds per item of the fastest of ``rounds`` runs of ``judge`` over ``items``.

    Results are dropped as they come: holding 76k of them would make the collector walk an
    ever larger heap and charge that to whichever path runs last (a worker holds one chunk).
    """
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = clock()
        for item in items:
            judge(item)
        best = min(best, clock() - start)
    return best / len(items) * 1e6


def measure(lines: list[bytes], rounds: int) -> None:
    records = [Record("bench", i, line) for i, line in enumerate(lines)]
    start = time.perf_counter()
    decoder()
    build = time.perf_counter() - start
    accepted = sum(check(line) is not None for line in lines)
    load_before = os.getloadavg()
    figures = {
        "check() (msgspec)": best_us(check, lines, rounds),
        "  of which msgspec decoding alone": best_us(decoder().decode, lines, rounds),
        "the orjson path (examine before the check)": best_us(examine_parsed, records, rounds),
        "  of which orjson.loads + validate_references": best_us(
            lambda line: validate_references(orjson.loads(line)), lines, rounds
        ),
        "examine() as wired now": best_us(examine, records, rounds),
    }
    load_after = os.getloadavg()
    print(f"{len(lines):,} resources; check() vouched for {accepted:,}; Structs built in {build:.2f} s")
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}; {os.cpu_count()} cores")
    for name, us in figures.items():
        print(f"{name:46} {us:6.2f} µs/resource")
    whole = figures["the orjson path (examine before the check)"] / figures["check() (msgspec)"]
    orjson_part = figures["  of which orjson.loads + validate_references"]
    part = orjson_part / figures["  of which msgspec decoding alone"]
    print(f"orjson path / check(): {whole:.2f}; parsing and validating alone: {part:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", type=Path, help="a region made by `medlake synth` (default: make one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, help="use the first N lines only")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="wall time or CPU time")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    if args.region is not None:
        lines = lines_of(args.region)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            generate_region(Path(tmp), residents=200, seed=5)
            lines = lines_of(Path(tmp))
    measure(lines[: args.limit] if args.limit else lines, args.rounds)


if __name__ == "__main__":
    main()
