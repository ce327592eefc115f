"""Surveillance algorithms: agreement with R (surveillance, EpiEstim) and speed against R.

Usage::

    PYTHONPATH=src .venv/bin/python bench/surveil.py --series 200 --slow-series 10 [--r] \
        [--docs docs/benchmarks.md]

*Agreement*: every case of tests/surveil/fixtures (written by scripts/surveillance_fixtures.R from
the packages' own runs on salmonella.agona, salmNewport and Flu2009) is recomputed here; the table
gives the largest absolute difference of ``upperbound`` (and ``expected``) or of ``mean_r``, and
whether every alarm agrees. Needs ../shared/reference (or MEDLAKE_SHARED).

*Speed*: ``--series`` synthetic district series of 10 years of weeks (negative binomial, yearly
seasonality, a trend, seed fixed) run through each method: the fast methods (EARS) on all of them,
the model-fitting ones (Farrington flexible, Noufaily, the GLR CUSUM) on the first
``--slow-series``. With ``--r`` the same series (written to a temporary CSV) go through R's
``surveillance`` in one Rscript process, timed inside R, so both columns are series per second
of computation on this machine. With ``--docs`` the tables replace this script's block in the
markdown file.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from medlake.surveil.detect import detect
from medlake.surveil.result import Detection
from medlake.surveil.rt import RtConfig, estimate_r
from medlake.surveil.series import Series

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "surveil" / "fixtures"
SHARED = Path(os.environ.get("MEDLAKE_SHARED", ROOT.parent / "shared"))
START = "<!-- bench/surveil.py: start (generated; edit the script, not this block) -->"
END = "<!-- bench/surveil.py: end -->"
FAST = ("ears-c1", "ears-c2", "ears-c3")
SLOW = ("farrington-flexible", "noufaily", "cusum")

R_TIMING = r"""
suppressPackageStartupMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
wide <- read.csv(args[1]); slow <- as.integer(args[2])
dates <- as.Date(wide$date); counts <- as.matrix(wide[, -1])
one <- function(j) sts(observed = matrix(counts[, j], ncol = 1), epoch = as.numeric(dates),
                       epochAsDate = TRUE, frequency = 52)
noufaily <- list(b = 5, w = 3, weightsThreshold = 2.58, pThresholdTrend = 1, noPeriods = 10,
                 pastWeeksNotIncluded = 26, thresholdMethod = "nbPlugin", glmWarnings = FALSE)
runs <- list(
  "ears-c1" = function(s) earsC(s, control = list(method = "C1")),
  "ears-c2" = function(s) earsC(s, control = list(method = "C2")),
  "ears-c3" = function(s) earsC(s, control = list(method = "C3")),
  "farrington-flexible" = function(s)
    suppressWarnings(farringtonFlexible(s, control = list(glmWarnings = FALSE))),
  "noufaily" = function(s) suppressWarnings(farringtonFlexible(s, control = noufaily)),
  "cusum" = function(s) glrnb(s, control = list(range = (2 * 52 + 1):nrow(counts))))
for (name in names(runs)) {
  n <- if (name %in% c("ears-c1", "ears-c2", "ears-c3")) ncol(counts) else slow
  spent <- system.time(for (j in seq_len(n)) runs[[name]](one(j)))
  cat(name, n, spent[["user.self"]] + spent[["sys.self"]], "\n")
}
"""


def _reference_series(name: str) -> Series:
    if name == "agona":
        raw = pd.read_csv(SHARED / "reference/surveillance/salmonella.agona.txt", sep=r"\s+")
        dates = pd.date_range("1990-01-01", periods=len(raw), freq="7D")
        counts = raw["observed"]
    else:
        raw = pd.read_csv(SHARED / "reference/surveillance/salmNewport.csv")
        dates = pd.to_datetime(raw["week_start"])
        counts = raw["germany_total"]
    return Series(dates.to_numpy().astype("datetime64[D]"), counts.to_numpy(dtype=float), 52)


def _options(text: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for pair in filter(None, text.split(";")):
        key, value = pair.split("=")
        found[key] = {"true": True, "false": False}.get(value, value)
        for kind in (int, float):
            try:
                found[key] = kind(value)
                break
            except ValueError:
                continue
    return found


def _diff(ours: np.ndarray, theirs: pd.Series) -> float:
    theirs_values = theirs.to_numpy(dtype=float)
    same_na = np.array_equal(np.isnan(ours), np.isnan(theirs_values))
    if not same_na:
        return float("inf")
    both = ~np.isnan(ours)
    return float(np.max(np.abs(ours[both] - theirs_values[both]), initial=0.0))


def agreement() -> list[str]:
    lines = [
        "| case (R fixture) | method | periods | max abs diff upperbound | max abs diff expected "
        "| alarms agree |",
        "|---|---|---:|---:|---:|---|",
    ]
    cases = pd.read_csv(FIXTURES / "cases.csv", dtype=str, keep_default_na=False)
    for case in cases.to_dict("records"):
        theirs = pd.read_csv(
            FIXTURES / case["file"], dtype={"alarm": str}, keep_default_na=False, na_values=[""]
        )
        series = _reference_series(case["dataset"])
        ours = detect(
            series, case["method"], start=series.index_of(theirs["date"].iloc[0]), **_options(case["options"])
        )
        n = len(theirs)  # a fixture may stop before the series (R's range); every method is causal
        kept = (ours.index, ours.count, ours.expected, ours.upperbound, ours.alarm)
        ours = Detection(*(field[:n] for field in kept))
        expected = _diff(ours.expected, theirs["expected"]) if theirs["expected"].notna().any() else None
        their_alarms = [None if not isinstance(a, str) or a == "" else a == "true" for a in theirs["alarm"]]
        lines.append(
            f"| {case['file']} | {case['method']} {case['options']} | {len(theirs)} | "
            f"{_diff(ours.upperbound, theirs['upperbound']):.1e} | "
            f"{'—' if expected is None else f'{expected:.1e}'} | {ours.alarm == their_alarms} |"
        )
    incidence = pd.read_csv(FIXTURES / "flu2009.csv")["count"].to_numpy(dtype=float)
    lines += [
        "",
        "| EpiEstim case | windows | max abs diff mean_r | max abs diff q975_r |",
        "|---|---:|---:|---:|",
    ]
    for case in pd.read_csv(FIXTURES / "rt_cases.csv").to_dict("records"):
        config = RtConfig(
            case["si_mean"], case["si_sd"], int(case["window"]), case["mean_prior"], case["std_prior"]
        )
        ours_r = estimate_r(incidence, config)
        theirs_r = pd.read_csv(FIXTURES / case["file"])
        lines.append(
            f"| {case['file']} | {len(theirs_r)} | "
            f"{_diff(ours_r['mean_r'].to_numpy(), theirs_r['mean_r']):.1e} | "
            f"{_diff(ours_r['q975_r'].to_numpy(), theirs_r['q975_r']):.1e} |"
        )
    return lines


def synthetic(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` series of 520 weeks: NB(mean, size 2) around a seasonal mean with a mild trend."""
    rng = np.random.default_rng(seed)
    weeks = np.arange(520)
    dates = (np.datetime64("2014-01-06") + 7 * weeks).astype("datetime64[D]")
    level = rng.uniform(0.5, 30, count)[:, None]
    season = 1 + 0.6 * np.sin(2 * np.pi * (weeks[None, :] / 52 + rng.uniform(0, 1, count)[:, None]))
    trend = np.exp(rng.normal(0, 0.0005, count)[:, None] * weeks[None, :])
    mean = level * season * trend
    return dates, rng.negative_binomial(2, 2 / (2 + mean)).astype(float)


def speed(count: int, slow: int, seed: int, with_r: bool, r_timings: Path | None) -> list[str]:
    dates, counts = synthetic(count, seed)
    r_times: dict[str, tuple[int, float]] = {}
    if with_r:
        r_times = _r_speed(dates, counts, slow)
        if r_timings:  # R's own lines, to reuse: R takes many minutes on a loaded machine
            r_times_text = "".join(f"{name} {n} {s}\n" for name, (n, s) in r_times.items())
            r_timings.write_text(r_times_text)
    elif r_timings:
        r_times = _parse_r(r_timings.read_text())
    lines = [
        "| method | series (10 years of weeks) | medlake s | medlake series/s | R series | R s "
        "| R series/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for method in (*FAST, *SLOW):
        n = count if method in FAST else slow
        began = time.process_time()
        for row in counts[:n]:
            detect(Series(dates, row, 52), method)
        spent = time.process_time() - began
        r_n, r_s = r_times.get(method, (0, float("nan")))
        r_rate = f"{r_n / r_s:,.3g}" if r_n and r_s > 0 else "—"
        lines.append(
            f"| {method} | {n:,} | {spent:.2f} | {n / spent:,.3g} | {r_n or '—'} | "
            f"{'—' if not r_n else f'{r_s:.2f}'} | {r_rate} |"
        )
        print(lines[-1], flush=True)
    return lines


def _r_speed(dates: np.ndarray, counts: np.ndarray, slow: int) -> dict[str, tuple[int, float]]:
    if not shutil.which("Rscript"):
        raise SystemExit("--r needs Rscript and the r-cran-surveillance package")
    with tempfile.TemporaryDirectory() as folder:
        wide = pd.DataFrame(counts.T, columns=[f"s{i}" for i in range(len(counts))])
        wide.insert(0, "date", pd.to_datetime(dates).strftime("%Y-%m-%d"))
        data = Path(folder) / "series.csv"
        wide.to_csv(data, index=False)
        script = Path(folder) / "timing.R"
        script.write_text(R_TIMING)
        done = subprocess.run(
            ["Rscript", str(script), str(data), str(slow)], capture_output=True, text=True, check=True
        )
    return _parse_r(done.stdout)


def _parse_r(text: str) -> dict[str, tuple[int, float]]:
    """R's timing lines: ``method series seconds``."""
    found = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, n, seconds = line.split()
        found[name] = (int(n), float(seconds))
    return found


def machine() -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    versions = (FIXTURES / "versions.txt").read_text().strip().replace("\n", ", ")
    return [
        f"- CPU: {cpu}; `nproc` = {os.cpu_count()}; Python {platform.python_version()}, "
        f"numpy {np.__version__}",
        f"- reference: {versions} (Debian packages r-cran-surveillance, r-cran-epiestim)",
    ]


def write(path: Path, block: str) -> None:
    """Replace this script's block in ``path``, or append it as a new section the first time."""
    text = path.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        path.write_text(head + block + rest.split(END, 1)[1])
    else:
        path.write_text(text.rstrip("\n") + "\n\n## Surveillance (`bench/surveil.py`)\n\n" + block + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--slow-series", type=int, default=10)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--r", action="store_true", help="time R surveillance on the same series")
    parser.add_argument(
        "--r-timings", type=Path, help="with --r: save R's timings here; without: read them from here"
    )
    parser.add_argument("--docs", type=Path, help="write the tables into this markdown file")
    args = parser.parse_args()
    load_before = os.getloadavg()
    agree = agreement()
    print("\n".join(agree), flush=True)
    fast = speed(args.series, args.slow_series, args.seed, args.r, args.r_timings)
    load_after = os.getloadavg()
    facts = [
        *machine(),
        f"- run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (1 min; 2 cores shared with other engineers' jobs); times are CPU "
        "seconds of the computation (process time here; user + system of system.time() in one R process)",
    ]
    print("\n".join(facts))
    if args.docs:
        command = (
            f"PYTHONPATH=src .venv/bin/python bench/surveil.py --series {args.series} "
            f"--slow-series {args.slow_series}{' --r' if args.r else ''}"
            f"{f' --r-timings {args.r_timings}' if args.r_timings else ''}"
        )
        block = "\n".join(
            [START, "", "```", command + " --docs docs/benchmarks.md", "```", "", *facts, "",
             "Agreement with the reference (its own output on its own data sets):", "", *agree, "",
             "Speed:", "", *fast, "", END]
        )  # fmt: skip
        write(args.docs, block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
