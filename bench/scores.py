"""Throughput of every clinical score over a million synthetic rows (rows/s).

Usage::

    PYTHONPATH=src .venv/bin/python bench/scores.py --rows 1000000 --docs docs/benchmarks.md

For each score, a million rows are drawn at random inside (and, for 1 % of rows, outside) each
input's range, with 1 % of cells empty, so the not-computable path is exercised the way real data
would. Two timings per score, each the best of ``--repeat`` runs of ``score_frame``: over typed
columns (numbers, booleans: the Python API, and what the batch and streaming paths will pass) and
over the same values as text (what ``medlake score`` reads from a CSV, every cell parsed). With
``--docs`` the table replaces the block between this script's markers in the markdown file (the
section is appended the first time).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from medlake.warn.scores import SCORES, score_frame
from medlake.warn.scores.registry import Input, Score

START = "<!-- bench/scores.py: start (generated; edit the script, not this block) -->"
END = "<!-- bench/scores.py: end -->"


def column(item: Input, n: int, rng: np.random.Generator) -> pd.Series:
    """Values for one input: mostly valid, 1 % outside the range, 1 % empty."""
    if item.kind == "choice":
        values = pd.Series(rng.choice(item.choices, n), dtype=object)
    elif item.kind == "boolean":
        values = pd.Series(rng.random(n) < 0.3, dtype=object)
    else:
        low = item.low if item.low is not None else 0.0
        high = item.high if item.high is not None else low + 100.0
        drawn = rng.uniform(low, high, n)
        if item.kind == "integer":
            drawn = np.round(drawn)
        drawn[rng.random(n) < 0.01] = high + 1
        values = pd.Series(drawn, dtype=object)
    values[rng.random(n) < 0.01] = None
    return values


def inputs(score: Score, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({item.name: column(item, n, rng) for item in score.inputs})
    if score.name == "qrisk3":  # a BMI inside ClinRisk's range for most rows
        frame["weight"] = pd.Series(rng.uniform(50, 110, n), dtype=object)
        frame["height"] = pd.Series(rng.uniform(155, 195, n), dtype=object)
    return frame


def typed(frame: pd.DataFrame, score: Score) -> pd.DataFrame:
    out = {}
    for item in score.inputs:
        values = frame[item.name]
        out[item.name] = values if item.kind == "choice" else pd.to_numeric(values.astype(float))
    return pd.DataFrame(out)


def best_seconds(score: Score, frame: pd.DataFrame, repeat: int) -> tuple[float, pd.Series]:
    best, statuses = float("inf"), pd.Series(dtype=object)
    for _ in range(repeat):
        started = time.perf_counter()
        result = score_frame(score.name, frame)
        best = min(best, time.perf_counter() - started)
        statuses = result["status"]
    return best, statuses


def machine() -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    return [
        f"- CPU: {cpu}; `nproc` = {os.cpu_count()}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--docs", type=Path, help="write the table into this markdown file")
    args = parser.parse_args()
    load_before = os.getloadavg()
    lines = [
        "| score | rows | typed s | typed rows/s | text s | text rows/s | ok | partial | not computable |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, score in SCORES.items():
        text = inputs(score, args.rows, args.seed).map(lambda v: "" if v is None else str(v))
        numbers = typed(inputs(score, args.rows, args.seed), score)
        typed_s, statuses = best_seconds(score, numbers, args.repeat)
        text_s, _ = best_seconds(score, text, args.repeat)
        counts = statuses.value_counts()
        line = (
            f"| {name} | {args.rows:,} | {typed_s:.2f} | {args.rows / typed_s:,.0f} | {text_s:.2f} | "
            f"{args.rows / text_s:,.0f} | {counts.get('ok', 0):,} | {counts.get('partial', 0):,} | "
            f"{counts.get('not computable', 0):,} |"
        )
        print(line, flush=True)
        lines.append(line)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load_after = os.getloadavg()
    facts = [
        *machine(),
        f"- run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (1 min; 2 cores shared with other engineers' jobs); "
        f"peak RSS {peak:,.0f} MiB",
    ]
    print("\n".join(facts))
    if args.docs:
        command = f"PYTHONPATH=src .venv/bin/python bench/scores.py --rows {args.rows} --repeat {args.repeat}"
        block = "\n".join([START, "", "```", command + " --docs docs/benchmarks.md", "```", "", *facts, "",
                           *lines, "", END])  # fmt: skip
        write(args.docs, block)
    return 0


def write(path: Path, block: str) -> None:
    """Replace this script's block in ``path``, or append it as a new section the first time."""
    text = path.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        path.write_text(head + block + rest.split(END, 1)[1])
        return
    path.write_text(text.rstrip("\n") + "\n\n## Clinical scores (`bench/scores.py`)\n\n" + block + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
