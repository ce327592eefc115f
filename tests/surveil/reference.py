"""The reference side of the surveillance tests: R's outputs (fixtures/, written by
scripts/surveillance_fixtures.R) and the data sets they were computed on (../shared/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medlake.surveil.series import Series
from tests.conftest import shared_path

FIXTURES = Path(__file__).parent / "fixtures"


def dataset(name: str) -> pd.DataFrame:
    """``date,count`` exactly as the R script builds it from the shared files."""
    if name == "agona":
        raw = pd.read_csv(shared_path("reference/surveillance/salmonella.agona.txt"), sep=r"\s+")
        dates = pd.date_range("1990-01-01", periods=len(raw), freq="7D")
        return pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "count": raw["observed"]})
    raw = pd.read_csv(shared_path("reference/surveillance/salmNewport.csv"))
    return pd.DataFrame({"date": raw["week_start"], "count": raw["germany_total"]})


def series(name: str) -> Series:
    frame = dataset(name)
    dates = pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[D]")
    return Series(dates, frame["count"].to_numpy(dtype=float), 52)


def options(text: Any) -> dict[str, Any]:
    """``key=value;…`` from cases.csv, values typed as the command line would type them."""
    parsed: dict[str, Any] = {}
    if not isinstance(text, str) or not text:
        return parsed
    for pair in text.split(";"):
        key, value = pair.split("=")
        parsed[key] = {"true": True, "false": False}.get(value, value)
        for kind in (int, float):
            try:
                parsed[key] = kind(value)
                break
            except ValueError:
                continue
    return parsed


def cases() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "cases.csv", dtype=str, keep_default_na=False)


def expected_output(file: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / file, dtype={"alarm": str}, keep_default_na=False, na_values=[""])


def alarms(column: pd.Series) -> list[bool | None]:
    return [None if not isinstance(a, str) or a == "" else a == "true" for a in column]


def max_abs_diff(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest absolute difference; NA must be NA on both sides (an infinite difference otherwise)."""
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    if not np.array_equal(np.isnan(ours), np.isnan(theirs)):
        return float("inf")
    both = ~np.isnan(ours)
    return float(np.max(np.abs(ours[both] - theirs[both]), initial=0.0))
