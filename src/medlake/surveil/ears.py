"""EARS C1, C2 and C3 (Hutwagner et al. 2003), as R ``surveillance::earsC`` computes them.

Each method compares a period with the mean and standard deviation of a short baseline of the
periods just before it (``baseline`` of them, 7 by default): C1 uses the ``baseline`` periods
right before, C2 skips the two most recent (a two-period guard band, so a rising outbreak does
not inflate its own baseline), and C3 adds to C2's statistic for this period the parts above 1
of C2's statistics for the two previous periods. Defaults follow the package: ``alpha`` 0.001
for C1 and C2, 0.025 for C3, ``minSigma`` 0, and by default every period with enough history.

R's earsC does not report an expected value; ``expected`` here is the baseline mean the bound
is built on (the C2 baseline's for C3), so the output has the same columns for every method.
A zero standard deviation with ``min_sigma=0`` gives C3 no bound (R: NaN), and so no alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats

from medlake.surveil.result import Detection
from medlake.surveil.series import SurveilError

METHODS = ("C1", "C2", "C3")


@dataclass(frozen=True)
class EarsControl:
    """``earsC``'s control list (``range`` is given as ``start``, the 0-based first period)."""

    method: str = "C1"
    baseline: int = 7
    alpha: float | None = None  # None: 0.001 for C1/C2, 0.025 for C3, as the package
    min_sigma: float = 0.0
    start: int | None = None

    def lag(self) -> int:
        """Periods of history the first evaluated period needs (R's ``maxLag``)."""
        return {"C1": self.baseline, "C2": self.baseline + 2, "C3": self.baseline + 4}[self.method]

    def default_start(self) -> int:
        """R's default range starts at baseline+1, +3, +5 (1-based): after maxLag periods for C1 and
        C2, one more for C3 (R starts C3 a period later than it needs)."""
        return {"C1": self.baseline, "C2": self.baseline + 2, "C3": self.baseline + 4}[self.method]

    def z(self) -> float:
        alpha = self.alpha if self.alpha is not None else (0.025 if self.method == "C3" else 0.001)
        return float(stats.norm.ppf(1 - alpha))


def _check(control: EarsControl, n: int) -> int:
    if control.method not in METHODS:
        raise SurveilError(f"EARS method {control.method!r}: use one of {', '.join(METHODS)}")
    if control.min_sigma < 0:
        raise SurveilError("The minimum sigma parameter (min_sigma) needs to be positive")
    if control.baseline < 3:
        raise SurveilError("Minimum baseline to use is 3.")
    start = control.default_start() if control.start is None else control.start
    if start - control.lag() < 0:
        raise SurveilError(
            f"EARS {control.method} with baseline {control.baseline} needs {control.lag()} periods "
            f"before the first evaluated one; the series has {start} before it"
        )
    if start >= n:
        raise SurveilError(
            f"nothing to evaluate: the series has {n} periods, the first evaluated is {start + 1}"
        )
    return start


def _baseline_stats(
    counts: np.ndarray, targets: np.ndarray, gap: int, baseline: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample sd of counts[t-gap-baseline+1-1 .. t-gap] for each target t (gap 1: C1, 3: C2)."""
    windows = sliding_window_view(counts, baseline)  # windows[i] = counts[i : i+baseline]
    reference = windows[targets - gap - baseline + 1]
    return reference.mean(axis=1), reference.std(axis=1, ddof=1)


def ears(counts: np.ndarray, control: EarsControl | None = None) -> Detection:
    """Run EARS on one series of counts; returns the evaluated periods' bounds and alarms."""
    control = control or EarsControl()
    counts = np.asarray(counts, dtype=float)
    n = len(counts)
    start = _check(control, n)
    targets = np.arange(start, n)
    z = control.z()
    with np.errstate(divide="ignore", invalid="ignore"):
        if control.method in ("C1", "C2"):
            gap = 1 if control.method == "C1" else 3
            mean, sd = _baseline_stats(counts, targets, gap, control.baseline)
            upper = mean + z * np.maximum(sd, control.min_sigma)
        else:
            with_lags = np.arange(start - 2, n)
            mean_all, sd_all = _baseline_stats(counts, with_lags, 3, control.baseline)
            sigma_all = np.maximum(sd_all, control.min_sigma)
            c2 = (counts[with_lags] - mean_all) / sigma_all
            lag2 = np.maximum(0.0, c2[:-2] - 1)
            lag1 = np.maximum(0.0, c2[1:-1] - 1)
            upper = np.maximum(0.0, counts[targets] + sigma_all[2:] * (z - (lag2 + lag1)))
            mean = mean_all[2:]
    return Detection.from_bounds(targets, counts[targets], mean, upper)
