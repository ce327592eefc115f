"""``medlake surveil``: outbreak detection and the reproduction number on a count series.

``detect`` runs one of R ``surveillance``'s algorithms (options named after its controls, with
its defaults) on a ``date,count`` CSV; ``rt`` estimates the time-varying reproduction number as
``EpiEstim::estimate_R`` does. ``--out`` is written to a temporary file beside it and renamed,
so an interrupted run leaves no half file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medlake.cli.options import JsonOutput
from medlake.cli.output import console, errors, print_json

if TYPE_CHECKING:
    import pandas as pd

surveil_app = typer.Typer(help="Public-health surveillance: outbreak detection and the reproduction number.")


def register(app: typer.Typer) -> None:
    app.add_typer(surveil_app, name="surveil")


class Method(StrEnum):
    farrington_flexible = "farrington-flexible"
    noufaily = "noufaily"
    ears_c1 = "ears-c1"
    ears_c2 = "ears-c2"
    ears_c3 = "ears-c3"
    cusum = "cusum"


class ThresholdMethod(StrEnum):
    delta = "delta"
    nb_plugin = "nbPlugin"
    muan = "muan"


InputCsv = Annotated[
    Path,
    typer.Argument(
        metavar="INPUT.csv", help="columns date (ISO, start of each period) and count", show_default=False
    ),
]
Out = Annotated[
    Path | None, typer.Option("--out", help="write the CSV here instead of stdout", show_default=False)
]


def _opt(flag: str, text: str) -> typer.models.OptionInfo:
    return typer.Option(flag, help=text + " (default: the method's own)", show_default=False)


@surveil_app.command("detect")
def detect(
    input_csv: InputCsv,
    method: Annotated[Method, typer.Option("--method", help="the algorithm", case_sensitive=False)],
    out: Out = None,
    freq: Annotated[int, typer.Option("--freq", help="periods per year: 52 (weekly) or 365 (daily)")] = 52,
    from_date: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="first evaluated period (default: the first with enough history)",
            show_default=False,
        ),
    ] = None,
    b: Annotated[int | None, _opt("--b", "Farrington: years back")] = None,
    w: Annotated[int | None, _opt("--w", "Farrington: half-window in periods")] = None,
    alpha: Annotated[
        float | None,
        _opt("--alpha", "one-sided level of the bound; CUSUM: the negative binomial's dispersion"),
    ] = None,
    no_periods: Annotated[int | None, _opt("--no-periods", "Farrington: noPeriods")] = None,
    past_weeks_not_included: Annotated[
        int | None, _opt("--past-weeks-not-included", "Farrington: pastWeeksNotIncluded")
    ] = None,
    weights_threshold: Annotated[
        float | None, _opt("--weights-threshold", "Farrington: weightsThreshold")
    ] = None,
    p_threshold_trend: Annotated[
        float | None, _opt("--p-threshold-trend", "Farrington: pThresholdTrend")
    ] = None,
    threshold_method: Annotated[
        ThresholdMethod | None, _opt("--threshold-method", "Farrington: delta, nbPlugin or muan")
    ] = None,
    trend: Annotated[
        bool | None, _opt("--trend/--no-trend", "Farrington: fit a time trend when it is significant")
    ] = None,
    reweight: Annotated[
        bool | None, _opt("--reweight/--no-reweight", "Farrington: down-weight past outbreaks")
    ] = None,
    baseline: Annotated[int | None, _opt("--baseline", "EARS: periods in the baseline")] = None,
    min_sigma: Annotated[float | None, _opt("--min-sigma", "EARS: minSigma")] = None,
    c_arl: Annotated[
        float | None, _opt("--c-arl", "CUSUM: c.ARL, the alarm threshold of the GLR statistic")
    ] = None,
    ret: Annotated[
        str | None, _opt("--ret", "CUSUM: upperbound as 'cases' needed for an alarm or the GLR 'value'")
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Flag unusual counts in INPUT.csv with R surveillance's algorithms (same defaults, same bounds)."""
    from medlake.surveil.detect import detect as run_detect
    from medlake.surveil.detect import detection_frame
    from medlake.surveil.series import read_series

    series = read_series(input_csv, freq)
    start = series.index_of(from_date) if from_date else None
    options = {
        "b": b,
        "w": w,
        "alpha": alpha,
        "no_periods": no_periods,
        "past_weeks_not_included": past_weeks_not_included,
        "weights_threshold": weights_threshold,
        "p_threshold_trend": p_threshold_trend,
        "threshold_method": threshold_method.value if threshold_method else None,
        "trend": trend,
        "reweight": reweight,
        "baseline": baseline,
        "min_sigma": min_sigma,
        "c_arl": c_arl,
        "ret": ret,
    }
    result = run_detect(series, method.value, start=start, **options)
    frame = detection_frame(series, result)
    alarms = int((frame["alarm"] == "true").sum())
    summary = {
        "method": method.value,
        "periods": len(frame),
        "alarms": alarms,
        "out": str(out) if out else None,
    }
    _emit(
        frame, out, summary, json_output, f"{method.value}: {len(frame)} periods evaluated, {alarms} alarm(s)"
    )


@surveil_app.command("rt")
def rt(
    input_csv: InputCsv,
    si_mean: Annotated[float, typer.Option("--si-mean", help="mean of the serial interval (days)")],
    si_sd: Annotated[float, typer.Option("--si-sd", help="standard deviation of the serial interval (days)")],
    window: Annotated[int, typer.Option("--window", help="days in each sliding window")] = 7,
    mean_prior: Annotated[float, typer.Option("--mean-prior", help="mean of the gamma prior on R")] = 5.0,
    std_prior: Annotated[
        float, typer.Option("--std-prior", help="standard deviation of the gamma prior on R")
    ] = 5.0,
    out: Out = None,
    json_output: JsonOutput = False,
) -> None:
    """Time-varying reproduction number (Cori method) from daily counts, as EpiEstim's estimate_R."""
    from medlake.surveil.rt import RtConfig, estimate_r
    from medlake.surveil.series import read_series

    series = read_series(input_csv, 365)
    config = RtConfig(si_mean, si_sd, window=window, mean_prior=mean_prior, std_prior=std_prior)
    frame = estimate_r(series.counts, config)
    summary = {"windows": len(frame), "out": str(out) if out else None}
    _emit(frame, out, summary, json_output, f"rt: {len(frame)} windows of {window} days")


def _emit(
    frame: pd.DataFrame, out: Path | None, summary: dict[str, object], json_output: bool, line: str
) -> None:
    if out is None:
        frame.to_csv(sys.stdout, index=False, float_format="%.12g")
        errors.print(line)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(handle, "w", newline="") as stream:
            frame.to_csv(stream, index=False, float_format="%.12g")
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if json_output:
        print_json(summary)
    else:
        console.print(f"{line} → {out}")
