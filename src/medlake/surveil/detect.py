"""One entry point for every detection method, by the names the command line uses.

``detect(series, method, **options)`` maps options named after R ``surveillance``'s controls
(snake case) onto the method's control; an option left ``None`` keeps the method's own default
(so ``noufaily`` keeps Noufaily's settings and ``farrington-flexible`` the package's).
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np
import pandas as pd

from medlake.surveil.ears import EarsControl, ears
from medlake.surveil.farrington import NOUFAILY, FarringtonControl, farrington_flexible
from medlake.surveil.glrnb import GlrControl, glrnb
from medlake.surveil.result import Detection
from medlake.surveil.series import Series, SurveilError

METHODS = ("farrington-flexible", "noufaily", "ears-c1", "ears-c2", "ears-c3", "cusum")


def _control(base: Any, options: dict[str, Any], method: str) -> Any:
    known = {f.name for f in fields(base)}
    given = {name: value for name, value in options.items() if value is not None}
    unknown = sorted(set(given) - known)
    if unknown:
        names = ", ".join("--" + name.replace("_", "-") for name in unknown)
        raise SurveilError(f"{names} does not apply to --method {method}")
    return replace(base, **given)


def detect(series: Series, method: str, start: int | None = None, **options: Any) -> Detection:
    """Run ``method`` on ``series`` from period ``start`` (0-based; None: the method's default)."""
    options = {**options, "start": start}
    if method in ("farrington-flexible", "noufaily"):
        base = FarringtonControl() if method == "farrington-flexible" else NOUFAILY
        return farrington_flexible(series, _control(base, options, method))
    if method.startswith("ears-"):
        base = EarsControl(method=method.removeprefix("ears-").upper())
        return ears(series.counts, _control(base, options, method))
    if method == "cusum":
        return glrnb(series, _control(GlrControl(), options, method))
    raise SurveilError(f"--method {method!r}: use one of {', '.join(METHODS)}")


def detection_frame(series: Series, result: Detection) -> pd.DataFrame:
    """The output table: ``date, count, expected, upperbound, alarm`` (alarm true/false; empty
    where R gives NA)."""
    alarm = ["" if a is None else ("true" if a else "false") for a in result.alarm]
    return pd.DataFrame(
        {
            "date": pd.to_datetime(series.dates[result.index]).strftime("%Y-%m-%d"),
            "count": result.count.astype(np.int64),
            "expected": result.expected,
            "upperbound": result.upperbound,
            "alarm": alarm,
        }
    )
