"""Benchmark of the ledger: appends/s (one by one and batched), proof time and size at 1 M and 10 M, verify.

Usage::

    PYTHONPATH=src .venv/bin/python bench/ledger.py --sizes 1000000,10000000 --work /tmp/ledger-bench \
        --docs docs/benchmarks.md

One ledger is grown to each size in turn with batched appends (``--batch`` entries per call,
each call one signed head and one fsync of the journal); at each size the script times
inclusion proofs of random entries against the latest head and consistency proofs from random
earlier sizes (each proof also verified, untimed), and ``verify`` of the whole ledger. One-by-one
appends (one entry, one head, one signature per call) are timed on a fresh ledger with and
without the fsync, and again on the largest ledger. Entries are ``access.read`` documents of
about 200 bytes, like part 4's audit events.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from medlake.ledger import Entry, Ledger
from medlake.ledger.merkle import verify_consistency, verify_inclusion
from medlake.ledger.verify import verify

BEGIN, END = "<!-- bench/ledger.py: start (generated) -->", "<!-- bench/ledger.py: end -->"


def entry(index: int) -> Entry:
    return Entry(
        "access.read",
        {
            "actor": f"practitioner/hosp-{index % 12}.{index % 997}",
            "person": f"P{index:012d}",
            "purpose": "treatment",
            "resources": [f"Observation/hosp-{index % 12}.{index}"],
            "client": "ehr-viewer",
        },
    )


def one_by_one(folder: Path, count: int, sync: bool, start: int = 0) -> float:
    with Ledger(folder, sync=sync) as ledger:
        ledger.append_batch([entry(start)])  # the key exists before the clock starts
        began = time.perf_counter()
        for index in range(start + 1, start + count + 1):
            ledger.append_batch([entry(index)])
        return count / (time.perf_counter() - began)


def grow(ledger: Ledger, target: int, batch: int) -> float:
    size = ledger.size()
    began = time.perf_counter()
    while size < target:
        chunk = min(batch, target - size)
        ledger.append_batch(entry(i) for i in range(size, size + chunk))
        size += chunk
    return time.perf_counter() - began


def proofs(ledger: Ledger, count: int, rng: random.Random) -> dict[str, float]:
    head = ledger.head()
    size = head.tree_size
    timings, lengths = [], []
    for _ in range(count):
        index = rng.randrange(size)
        began = time.perf_counter()
        proof = ledger.inclusion_proof(index)
        timings.append(time.perf_counter() - began)
        lengths.append(len(proof.path))
        assert verify_inclusion(index, size, proof.leaf_hash, proof.path, head.root_hash)
    consistency, consistency_lengths = [], []
    for _ in range(count):
        first = rng.randrange(1, size)
        began = time.perf_counter()
        proof = ledger.consistency_proof(first)
        consistency.append(time.perf_counter() - began)
        consistency_lengths.append(len(proof.path))
        assert verify_consistency(first, size, ledger.root_hash(first), head.root_hash, proof.path)
    return {
        "inclusion_ms": statistics.mean(timings) * 1000,
        "inclusion_p99_ms": sorted(timings)[int(len(timings) * 0.99)] * 1000,
        "inclusion_bytes": statistics.mean(lengths) * 32,
        "consistency_ms": statistics.mean(consistency) * 1000,
        "consistency_p99_ms": sorted(consistency)[int(len(consistency) * 0.99)] * 1000,
        "consistency_bytes": statistics.mean(consistency_lengths) * 32,
    }


def disk_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=5_000, help="one-by-one appends to time")
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ledger-bench"))
    parser.add_argument(
        "--docs", type=Path, help="write the results into this markdown file's generated block"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    rng = random.Random(9162)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = os.getloadavg()[0]
    rows: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)

    single_sync = one_by_one(args.work / "single-sync", args.single, sync=True)
    single_nosync = one_by_one(args.work / "single-nosync", args.single, sync=False)
    say(f"one by one: {single_sync:,.0f}/s with fsync, {single_nosync:,.0f}/s without")

    def write_block(large: str) -> None:
        block = [
            BEGIN,
            "",
            "Command: `PYTHONPATH=src .venv/bin/python bench/ledger.py "
            f"--sizes {args.sizes} --batch {args.batch} --single {args.single} --proofs {args.proofs}`  ",
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with "
            f"other engineers' jobs; load average {load_before:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end), "
            f"Python {platform.python_version()}, {platform.platform()}; run {started}.",
            "",
            "- one by one (one entry, one signed head per call): "
            f"**{single_sync:,.0f} appends/s** with the journal fsync'd at each append, "
            f"**{single_nosync:,.0f}/s** without (`Ledger(sync=False)`); {large}",
            f"- batched ({args.batch:,} entries per call, fsync'd): see the table",
            "",
            "| entries | batched appends/s (growing to this size) | inclusion proof ms (mean / p99) "
            "| inclusion proof bytes | consistency proof ms (mean / p99) | consistency proof bytes "
            "| verify s (all) | verify s (last 100k) | disk MiB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            END,
        ]
        text = "\n".join(block)
        print(text, flush=True)
        if args.docs:
            current = args.docs.read_text()
            if BEGIN in current:
                current = current[: current.index(BEGIN)] + text + current[current.index(END) + len(END) :]
            else:
                current = current.rstrip("\n") + "\n\n" + text + "\n"
            args.docs.write_text(current)

    ledger = Ledger(args.work / "big")
    grown_from = 0
    for size in sizes:
        seconds = grow(ledger, size, args.batch)
        rate = (size - grown_from) / seconds
        say(f"batched to {size:,}: {rate:,.0f}/s ({seconds:.1f} s)")
        figures = proofs(ledger, args.proofs, rng)
        say(f"proofs at {size:,}: {figures}")
        began = time.perf_counter()
        report = verify(ledger)
        verify_seconds = time.perf_counter() - began
        assert report.ok, report.findings
        began = time.perf_counter()
        assert verify(ledger, from_size=max(size - 100_000, 0)).ok
        tail_seconds = time.perf_counter() - began
        mib = disk_mib(ledger.root)
        say(f"verify at {size:,}: {verify_seconds:.1f} s (last 100k: {tail_seconds:.2f} s), {mib:,.0f} MiB")
        f = figures
        rows.append(
            f"| {size:,} | {rate:,.0f} | {f['inclusion_ms']:.3f} / {f['inclusion_p99_ms']:.3f} "
            f"| {f['inclusion_bytes']:.0f} | {f['consistency_ms']:.3f} / {f['consistency_p99_ms']:.3f} "
            f"| {f['consistency_bytes']:.0f} | {verify_seconds:.1f} | {tail_seconds:.2f} | {mib:,.0f} |"
        )
        grown_from = size
        write_block("(one by one on the large ledger: measured at the end)")
    single_big = one_by_one(ledger.root.parent, args.single, sync=True, start=sizes[-1] + 1)
    say(f"one by one on the {sizes[-1]:,}-entry ledger: {single_big:,.0f}/s with fsync")
    ledger.close()
    write_block(f"{single_big:,.0f}/s with fsync on the {sizes[-1]:,}-entry ledger")
    shutil.rmtree(args.work, ignore_errors=True)
    return None


if __name__ == "__main__":
    sys.exit(main())
