"""Farrington flexible (Noufaily et al. 2013), as R ``surveillance::farringtonFlexible``.

For each evaluated week the algorithm looks back ``b`` years: it takes the weeks within ``w`` of
the same week in each past year (found by date, the same weekday nearest one, two, … years
back), fits a quasi-Poisson log-linear model with an optional linear trend, down-weights past
outbreaks (weeks whose Anscombe residual exceeds ``weightsThreshold`` get weight ``s^-2``) and
refits; the upper bound is a quantile of the predicted count. Noufaily's improvements are
controls of the same function: ``noPeriods > 1`` adds a factor splitting each year outside the
windows into that many periods (so all the year's data are used, not only the windows),
``pastWeeksNotIncluded`` leaves out the most recent weeks (an emerging outbreak must not
raise its own baseline), and ``thresholdMethod="nbPlugin"`` takes the bound from the negative
binomial with the fitted mean and dispersion instead of Farrington's 2/3-power normal
approximation (``"delta"``).

R's behaviours kept on purpose, because the bounds must equal the package's:

* the trend stays only when it is significant (``pThresholdTrend``), ``b >= 3`` and the
  prediction does not exceed any count in the baseline; otherwise the model is refitted
  without it;
* the threshold uses ``phi = max(dispersion, 1)`` of the reweighted fit, but the trend's p-value
  and the prediction's standard error use ``summary.glm``'s dispersion *after* the package has
  put the outbreak weights in the model's ``weights`` slot (where R keeps the working weights):
  ``sum(omega * ((y - mu) / mu)^2) / df``;
* no bound (NA) unless the last four weeks, the current included, hold at least five cases
  (``limit54``), and an alarm needs a count above zero;
* with ``nbPlugin`` the score (and so the alarm test) compares the count with the *log* of the
  expected count, as the package does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from medlake.surveil import glm
from medlake.surveil.result import Detection
from medlake.surveil.series import Series, SurveilError

THRESHOLD_METHODS = ("delta", "nbPlugin", "muan")


@dataclass(frozen=True)
class FarringtonControl:
    """``farringtonFlexible``'s control list, same names in snake case, same defaults.

    ``start`` is the 0-based first evaluated period (R's ``range``; default ``freq*b + w``).
    """

    b: int = 5
    w: int = 3
    reweight: bool = True
    weights_threshold: float = 2.58
    alpha: float = 0.05
    trend: bool = True
    p_threshold_trend: float = 0.05
    limit54: tuple[int, int] = (5, 4)
    powertrans: str = "2/3"
    no_periods: int = 1
    past_weeks_not_included: int | None = None  # None: w, as the package
    threshold_method: str = "delta"
    start: int | None = None


#: Noufaily et al.'s recommended settings, as the package's documentation gives them.
NOUFAILY = FarringtonControl(
    b=5,
    w=3,
    reweight=True,
    weights_threshold=2.58,
    alpha=0.05,
    trend=True,
    p_threshold_trend=1.0,
    no_periods=10,
    past_weeks_not_included=26,
    threshold_method="nbPlugin",
)


def _years_back(day: dt.date, years: int) -> dt.date:
    """``seq(day, by = "-1 year")``: same month and day; 29 February becomes 1 March, as R's
    date arithmetic normalises it."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return dt.date(day.year - years, 3, 1)


def reference_dates(day: np.datetime64, b: int, weekly: bool) -> np.ndarray:
    """The evaluated date and the same date 1…b years back; for weekly data each moved to the
    nearest day with the evaluated date's weekday (``algo.farrington.referencetimepoints``)."""
    base = day.astype(dt.date)
    refs = np.array([np.datetime64(_years_back(base, i), "D") for i in range(b + 1)])
    if not weekly:
        return refs
    numbers = refs.astype(int)
    weekday = (numbers + 4) % 7  # %w: 1970-01-01 was a Thursday (4)
    target = (int(day.astype(int)) + 4) % 7
    a = numbers - (weekday - target)
    other = a + np.where(a > numbers, -7, 7)
    chosen = np.where(np.abs(a - numbers) > np.abs(other - numbers), other, a)
    return chosen.astype("datetime64[D]")


def blocks(reference_weeks: np.ndarray, n: int, now: int, w: int, periods: int) -> np.ndarray:
    """The factor ``blocks()`` builds: ``periods`` (the top level) on the windows around the
    reference weeks and on the current week's past half-window, levels 1…periods-1 splitting
    the stretches between windows; NaN outside (not used)."""
    factors = np.full(n, np.nan)
    factors[now - w : now + 1] = periods
    for i in range(1, len(reference_weeks)):
        ref = int(reference_weeks[i])
        if ref - w < -1:  # R's index 0 is dropped silently; below it, R stops
            raise SurveilError("Some reference time points did not exist; decrease 'b' or postpone --from.")
        factors[max(ref - w, 0) : ref + w + 1] = periods
        if periods != 1:
            period = int(reference_weeks[i - 1]) - 2 * w - 1 - ref
            if period < periods - (2 * w + 1):
                raise SurveilError("Number of factors too big! (decrease --no-periods)")
            lengths = np.full(periods - 1, period // (periods - 1))
            lengths[: period % (periods - 1)] += 1
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            for j in range(1, periods):
                factors[ref + w + 1 + bounds[j - 1] : ref + w + 1 + bounds[j]] = j
    return factors


@dataclass(frozen=True)
class _Baseline:
    response: np.ndarray
    wtime: np.ndarray
    groups: np.ndarray  # factor levels (floats), NaN-free
    wtime_now: float


def _baseline(series: Series, k: int, control: FarringtonControl) -> _Baseline:
    dates = series.dates
    refs = reference_dates(dates[k], control.b, weekly=series.freq == 52)
    if not np.all(np.isin(refs, dates)):
        raise SurveilError(
            f"period {dates[k]}: some reference time points did not exist; decrease 'b' or postpone --from"
        )
    reference_weeks = np.flatnonzero(np.isin(dates, refs))[::-1]
    factors = blocks(reference_weeks, len(dates), k, control.w, control.no_periods)
    excluded = control.w if control.past_weeks_not_included is None else control.past_weeks_not_included
    used = factors.copy()
    used[max(k - excluded, 0) : k + 1] = np.nan
    index = np.flatnonzero(~np.isnan(used))
    step = float((dates[1] - dates[0]).astype(int))
    origin = dates[index[0]]
    wtime = (dates[index] - origin).astype(int) / step
    wtime_now = float((dates[k] - origin).astype(int)) / step
    return _Baseline(series.counts[index], wtime, factors[index], wtime_now)


def _design(baseline: _Baseline, trend: bool, factors: bool, periods: int) -> tuple[np.ndarray, np.ndarray]:
    """Model matrix and the prediction row, in R's column order (intercept, wtime, seasgroups
    with treatment contrasts: the lowest level is the reference)."""
    columns = [np.ones(len(baseline.response))]
    now = [1.0]
    if trend:
        columns.append(baseline.wtime)
        now.append(baseline.wtime_now)
    if factors:
        for level in np.unique(baseline.groups)[1:]:
            columns.append((baseline.groups == level).astype(float))
            now.append(1.0 if level == periods else 0.0)
    return np.column_stack(columns), np.array(now)


def anscombe_residuals(model: glm.GlmFit, phi: float) -> np.ndarray:
    """Standardised Anscombe residuals of a Poisson fit (``anscombe.residuals``)."""
    y, mu = model.y, model.mu
    raw = 1.5 * (y ** (2 / 3) * mu ** (-1 / 6) - mu ** (1 / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return raw / np.sqrt(phi * (1 - model.hat_values()))


def outbreak_weights(s: np.ndarray, threshold: float) -> np.ndarray:
    """``algo.farrington.assign.weights``: ``s^-2`` above the threshold, 1 below, rescaled so
    the weights sum to the number of weeks."""
    above = s > threshold
    with np.errstate(divide="ignore"):
        raw = np.where(above, s**-2.0, 1.0)
    gamma = len(s) / np.sum(raw)
    return gamma * raw


@dataclass(frozen=True)
class _Fit:
    model: glm.GlmFit
    phi: float
    x: np.ndarray
    x_now: np.ndarray
    has_trend: bool
    summary_dispersion: float  # what summary.glm/predict.glm see afterwards (see the module doc)


def _fit_flexible(baseline: _Baseline, control: FarringtonControl, trend: bool) -> _Fit | None:
    """``algo.farrington.fitGLM.flexible``: fit, fall back to no trend if it does not converge,
    then (by default) reweight past outbreaks and refit."""
    factors = control.no_periods != 1
    x, x_now = _design(baseline, trend, factors, control.no_periods)
    model = glm.fit(x, baseline.response)
    if not model.converged:
        if trend:
            trend = False
            x, x_now = _design(baseline, trend, factors, control.no_periods)
            model = glm.fit(x, baseline.response)
        if not model.converged:
            return None
    phi = max(model.dispersion, 1.0)
    summary_dispersion = model.dispersion
    if control.reweight:
        omega = outbreak_weights(anscombe_residuals(model, phi), control.weights_threshold)
        model = glm.fit(x, baseline.response, weights=omega)
        phi = max(model.dispersion, 1.0)
        summary_dispersion = model.dispersion_with(omega)
    return _Fit(model, phi, x, x_now, trend, summary_dispersion)


def _model(baseline: _Baseline, control: FarringtonControl) -> _Fit | None:
    """``algo.farrington.glm``: keep the trend only if significant, b >= 3 and no extrapolation."""
    fitted = _fit_flexible(baseline, control, control.trend)
    if fitted is None or not fitted.has_trend:
        return fitted
    model = fitted.model
    eta, _ = model.predict_link(fitted.x_now, fitted.summary_dispersion)
    significant = model.coefficient_p_value(1, fitted.summary_dispersion) < control.p_threshold_trend
    no_extrapolation = np.exp(eta) <= np.max(baseline.response)
    if control.b >= 3 and significant and no_extrapolation:
        return fitted
    return _fit_flexible(baseline, control, trend=False)


def _threshold(fit_: _Fit, y: float, control: FarringtonControl) -> tuple[float, float, float]:
    """(upper bound, expected count, score) by the chosen threshold method."""
    model = fit_.model
    eta, se_eta = model.predict_link(fit_.x_now, fit_.summary_dispersion)
    phi = fit_.phi
    if control.threshold_method == "delta":
        mu0 = float(np.exp(eta))
        se_mu = se_eta * mu0  # predict.glm(type="response"): delta method
        tau = phi + se_mu**2 / mu0
        exponent, se = {
            "none": (1.0, np.sqrt(mu0 * tau)),
            "1/2": (0.5, np.sqrt(tau / 4)),
            "2/3": (2 / 3, np.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)),
        }[control.powertrans]
        upper = float((mu0**exponent + stats.norm.ppf(1 - control.alpha) * se) ** (1 / exponent))
        score = (y - mu0) / (upper - mu0)
        return upper, mu0, score
    if control.threshold_method == "nbPlugin":
        quantile_mean = float(np.exp(eta))
    else:  # muan
        quantile_mean = float(np.exp(stats.norm.ppf(1 - control.alpha, loc=eta, scale=se_eta)))
    if np.isinf(quantile_mean):
        return float("nan"), float("nan"), float("nan")
    if phi > 1:
        upper = float(stats.nbinom.ppf(1 - control.alpha, quantile_mean / (phi - 1), 1 / phi))
    else:
        upper = float(stats.poisson.ppf(1 - control.alpha, quantile_mean))
    score = (y - eta) / (upper - eta)  # the package compares with the linear predictor here
    return upper, float(np.exp(eta)), score


def _check(control: FarringtonControl, series: Series) -> int:
    if control.threshold_method not in THRESHOLD_METHODS:
        raise SurveilError(
            f"threshold method {control.threshold_method!r}: use one of {', '.join(THRESHOLD_METHODS)}"
        )
    if control.powertrans not in ("none", "1/2", "2/3"):
        raise SurveilError(f"powertrans {control.powertrans!r}: use none, 1/2 or 2/3")
    if not (control.limit54[0] >= 0 and control.limit54[1] > 0):
        raise SurveilError("The limit54 arguments are out of bounds: cases >= 0 and period > 0.")
    if control.b < 1 or control.w < 0 or control.no_periods < 1:
        raise SurveilError("b must be at least 1, w at least 0 and noPeriods at least 1")
    if not 0 < control.alpha < 1:
        raise SurveilError("alpha must be between 0 and 1")
    start = series.freq * control.b + control.w if control.start is None else control.start
    if start >= len(series.counts):
        raise SurveilError(
            f"nothing to evaluate: {len(series.counts)} periods, and b={control.b} years of history "
            f"put the first evaluated one at {start + 1}"
        )
    return start


def farrington_flexible(series: Series, control: FarringtonControl | None = None) -> Detection:
    """Run Farrington flexible over ``series`` from ``control.start`` to its end."""
    control = control or FarringtonControl()
    start = _check(control, series)
    counts = series.counts
    n = len(counts)
    targets = np.arange(start, n)
    expected = np.full(len(targets), np.nan)
    upper = np.full(len(targets), np.nan)
    alarm: list[bool | None] = []
    cases, weeks = control.limit54
    for row, k in enumerate(targets):
        fitted = _model(_baseline(series, int(k), control), control)
        if fitted is None:  # no convergence with or without trend: R gives NA
            alarm.append(None)
            continue
        bound, mean, score = _threshold(fitted, float(counts[k]), control)
        enough = counts[max(k - weeks + 1, 0) : k + 1].sum() >= cases
        if enough:
            upper[row] = bound
            if not np.isnan(bound):
                expected[row] = mean
        alarm.append(bool(enough and not np.isnan(score) and score > 1 and counts[k] != 0))
    return Detection(targets, counts[targets], expected, upper, alarm)


def noufaily(series: Series, control: FarringtonControl | None = None) -> Detection:
    """Farrington flexible with Noufaily's settings (``--method noufaily``); ``control`` may
    change ``start`` and anything else."""
    return farrington_flexible(series, control or NOUFAILY)


__all__ = ["NOUFAILY", "FarringtonControl", "farrington_flexible", "noufaily", "replace"]
