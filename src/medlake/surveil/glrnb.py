"""CUSUM for counts: the generalized likelihood-ratio detector of R ``surveillance::glrnb``
(Höhle & Paul 2008, Comput Stat Data Anal 52:4357).

The in-control mean ``mu0_t`` is a regression with one pair of yearly harmonics
(``y ~ 1 + cos(2*pi*t/52) + sin(2*pi*t/52)``) fitted on every period before the first evaluated
one. For a change in the intercept by ``kappa`` starting at an unknown period ``k``, the
statistic at period ``n`` is the log-likelihood ratio maximised over ``k`` and ``kappa``
(``kappa >= 0`` for increases); an alarm sounds when it reaches ``c.ARL`` (5), and the chart
restarts after each alarm.

Defaults as the package applies them when it is given a control list (its ``range`` has no
default, so it always is): ``alpha`` unset means the in-control model is MASS ``glm.nb`` and the
chart is negative binomial with ``alpha = 1/theta``; ``alpha = 0`` is a Poisson model and chart;
``ret = "value"`` makes ``upperbound`` the GLR statistic itself, ``"cases"`` the smallest count
that would have raised an alarm in that period. Either way the alarm is the statistic reaching
``c.ARL``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from medlake.surveil import glm
from medlake.surveil.result import Detection
from medlake.surveil.series import Series, SurveilError

_THETA_EPS = np.finfo(float).eps ** 0.25


@dataclass(frozen=True)
class GlrControl:
    """``glrnb``'s control list: ``c_arl`` is ``c.ARL``; ``start`` the 0-based first evaluated period
    (R's ``range``; default: after the first two years, which the in-control model is fitted on)."""

    c_arl: float = 5.0
    alpha: float | None = None  # None: 1/theta of the in-control glm.nb fit (see the module doc)
    dir: str = "inc"
    ret: str = "value"  # algo.glrnb sets "value" when the control list does not name it
    x_max: int = 10_000
    start: int | None = None


# --- the in-control model: MASS::glm.nb --------------------------------------------------------


def _theta_score(th: float, mu: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(
        np.sum(
            w
            * (
                special.digamma(th + y)
                - special.digamma(th)
                + np.log(th)
                + 1
                - np.log(th + mu)
                - (y + th) / (mu + th)
            )
        )
    )


def _theta_info(th: float, mu: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(
        np.sum(
            w
            * (
                -special.polygamma(1, th + y)
                + special.polygamma(1, th)
                - 1 / th
                + 2 / (mu + th)
                - (y + th) / (mu + th) ** 2
            )
        )
    )


def theta_ml(y: np.ndarray, mu: np.ndarray, weights: np.ndarray, limit: int = glm.MAXIT) -> float:
    """MASS ``theta.ml``: Newton-Raphson for the negative binomial's theta given the means."""
    n = float(np.sum(weights))
    t0 = n / float(np.sum(weights * (y / mu - 1) ** 2))
    it = 0
    delta = 1.0
    while True:
        it += 1
        if not (it < limit and abs(delta) > _THETA_EPS):
            break
        t0 = abs(t0)
        delta = _theta_score(t0, mu, y, weights) / _theta_info(t0, mu, y, weights)
        t0 = t0 + delta
    return max(t0, 0.0)


def _nb_loglik(th: float, mu: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(
        np.sum(
            w
            * (
                special.gammaln(th + y)
                - special.gammaln(th)
                - special.gammaln(y + 1)
                + th * np.log(th)
                + y * np.log(mu + (y == 0))
                - (th + y) * np.log(th + mu)
            )
        )
    )


@dataclass(frozen=True)
class NegBinFit:
    fit: glm.GlmFit
    theta: float


def glm_nb(x: np.ndarray, y: np.ndarray) -> NegBinFit:
    """MASS ``glm.nb`` with its defaults: a Poisson fit, then alternate theta (``theta.ml``) and
    the GLM with that theta until the log-likelihood and theta settle."""
    y = np.asarray(y, dtype=float)
    w = np.ones(len(y))
    fitted = glm.fit(x, y)
    mu = fitted.mu
    th = theta_ml(y, mu, w)
    d1 = np.sqrt(2 * max(1, fitted.df_residual))
    d2 = delta = 1.0
    lm = _nb_loglik(th, mu, y, w)
    lm0 = lm + 2 * d1
    iteration = 0
    while True:
        iteration += 1
        if not (iteration <= glm.MAXIT and (abs(lm0 - lm) / d1 + abs(delta) / d2) > glm.EPSILON):
            break
        fitted = glm.fit(x, y, theta=th, eta_start=np.log(mu))
        t0 = th
        th = theta_ml(y, mu, w)  # MASS updates theta from the previous means, then takes the new ones
        mu = fitted.mu
        delta = t0 - th
        lm0 = lm
        lm = _nb_loglik(th, mu, y, w)
    return NegBinFit(fitted, th)


def _harmonics(t: np.ndarray, period: int) -> np.ndarray:
    return np.column_stack([np.ones(len(t)), np.cos(2 * np.pi / period * t), np.sin(2 * np.pi / period * t)])


def in_control_mean(
    counts: np.ndarray, start: int, period: int, alpha: float | None
) -> tuple[np.ndarray, float]:
    """``estimateGLRNbHook``: fit on periods 1…start (1-based ``t``), predict every later one.

    As the package: ``alpha=None`` fits ``glm.nb`` and returns its ``1/theta`` as the chart's
    alpha; ``alpha=0`` fits a Poisson GLM; a positive alpha a GLM with ``negative.binomial(1/alpha)``.
    """
    t_train = np.arange(1, start + 1, dtype=float)
    x_train = _harmonics(t_train, period)
    if alpha is None:
        model = glm_nb(x_train, counts[:start])
        coefficients, alpha = model.fit.coefficients, 1 / model.theta
    else:
        theta = None if alpha == 0 else 1 / alpha
        coefficients = glm.fit(x_train, counts[:start], theta=theta).coefficients
    t_test = np.arange(start + 1, len(counts) + 1, dtype=float)
    return np.exp(_harmonics(t_test, period) @ coefficients), alpha


# --- the GLR statistic ---------------------------------------------------------------------------


def _glr_poisson(x: np.ndarray, mu0: np.ndarray, n: int, direction: int) -> float:
    """``glr``: max over k<=n of the Poisson log-likelihood ratio of x[k..n] under
    exp(kappa_ml)*mu0 (the MLE of kappa is closed-form: log of observed over expected)."""
    sum_x = np.cumsum(x[n::-1])
    sum_mu = np.cumsum(mu0[n::-1])
    with np.errstate(divide="ignore"):
        kappa = direction * np.maximum(0.0, direction * np.log(sum_x / sum_mu))
    return float(np.max(kappa * sum_x + (1 - np.exp(kappa)) * sum_mu))


def _glr_negbin(x: np.ndarray, mu0: np.ndarray, n: int, direction: int, alpha: float) -> float:
    """``glr_nb_window`` at n (M = -1, Mtilde = 1): max over k<=n of the negative-binomial
    log-likelihood ratio of x[k..n] with the intercept shift kappa at its MLE.

    The C code finds each kappa by Newton-Raphson to 1e-6 from the previous k's estimate;
    here all k are solved at once to 1e-12. The statistic is the log-likelihood *at its
    maximum*, where it is flat, so a kappa off by 1e-6 changes it by ~1e-12 (a kappa the chart
    clamps to 0 gives exactly 0 either way).
    """
    xs, ms = x[: n + 1], mu0[: n + 1]
    ks = np.arange(n + 1)
    inside = ks[:, None] <= ks[None, :]  # row k sums i = k..n
    # The score at kappa = 0 is sum(x - mu0) / (1 + alpha mu0) over i = k..n (a suffix sum); only
    # the k whose MLE lies on the tested side of 0 can give more than 0, the clamped value.
    suffix = np.cumsum(((xs - ms) / (1 + alpha * ms))[::-1])[::-1]
    rows = np.flatnonzero(suffix * direction > 0)
    if not len(rows):
        return 0.0
    inside = inside[rows]
    xm = np.where(inside, xs[None, :], 0.0)
    mm = np.where(inside, ms[None, :], 0.0)

    def score(kappa: np.ndarray) -> np.ndarray:
        e = np.exp(kappa)[:, None]
        return np.sum((xm - e * mm) / (1 + alpha * e * mm), axis=1)

    sum_x = xm.sum(axis=1)
    sum_mu = mm.sum(axis=1)
    # the Poisson estimate as a start; R's Newton stops below -18 (only a decrease can get there)
    kappa = np.maximum(np.log(np.maximum(sum_x, 1e-300) / sum_mu), -18.0)
    for _ in range(200):
        e = np.exp(kappa)[:, None]
        fisher = e[:, 0] * np.sum(mm * (alpha * xm + 1) / (1 + alpha * e * mm) ** 2, axis=1)
        step = score(kappa) / fisher
        kappa = np.maximum(kappa + step, -18.0)
        if np.max(np.abs(step)) < 1e-12:
            break
    e = np.exp(kappa)[:, None]
    lnk = np.sum(
        kappa[:, None] * xm + (xm + 1 / alpha) * np.log((1 + alpha * mm) / (1 + alpha * mm * e)), axis=1
    )
    return float(max(np.max(lnk), 0.0))


def _statistic(control: GlrControl, alpha: float, direction: int):
    if alpha == 0:
        return lambda x, mu, n: _glr_poisson(x, mu, n, direction)
    return lambda x, mu, n: _glr_negbin(x, mu, n, direction, alpha)


def _cases_poisson(
    glr, x: np.ndarray, mu0: np.ndarray, n: int, direction: int, c_arl: float, x_max: int
) -> float:
    """``glr_cusum``'s search: the smallest count at n, from 0 up, whose statistic reaches c.ARL."""
    trial = x.copy()
    for candidate in range(0, x_max + 1):
        trial[n] = candidate
        if direction * glr(trial, mu0, n) >= c_arl * direction:
            return float(candidate)
    return float("nan")


def _cases_negbin(
    glr, x: np.ndarray, mu0: np.ndarray, n: int, alarmed: bool, c_arl: float, x_max: int
) -> float:
    """``algo.glrnb``'s brute-force search for the negative-binomial chart, quirks included: from
    the observed count upwards (no alarm) or downwards (alarm) one case at a time while the count
    is between 1 and xMax; no change found gives 1e99 (no alarm) or NA (alarm), so a count of 0
    without alarm reports 1e99, as the package does."""
    trial = x.copy()
    step = -1 if alarmed else 1
    while trial[n] <= x_max and trial[n] >= 1:
        trial[n] += step
        reaches = glr(trial, mu0, n) >= c_arl
        if not alarmed and reaches:
            return float(trial[n])
        if alarmed and not reaches:
            return float(trial[n] + 1)
    return float("nan") if alarmed else 1e99


def _check(control: GlrControl, n: int) -> int:
    if control.alpha is not None and control.alpha < 0:
        raise SurveilError("alpha (the negative binomial's dispersion) must be 0 (Poisson) or positive")
    if control.dir not in ("inc", "dec"):
        raise SurveilError("--dir: use inc or dec")
    if control.ret not in ("cases", "value"):
        raise SurveilError("--ret: use cases or value")
    if control.c_arl <= 0:
        raise SurveilError("c.ARL must be positive")
    start = control.start
    if start is None or start < 3:
        raise SurveilError(
            "the in-control model needs at least 3 periods before the first evaluated one (--from)"
        )
    if start >= n:
        raise SurveilError(
            f"nothing to evaluate: the series has {n} periods, the first evaluated is {start + 1}"
        )
    return start


def glrnb(series: Series, control: GlrControl | None = None) -> Detection:
    """Run the GLR detector over ``series`` from ``control.start`` (default: 2 years in)."""
    control = control or GlrControl()
    counts = series.counts
    if control.start is None:
        control = replace(control, start=min(2 * series.freq, len(counts) - 1))
    start = _check(control, len(counts))
    mu0, alpha = in_control_mean(counts, start, series.freq, control.alpha)
    direction = 1 if control.dir == "inc" else -1
    glr = _statistic(control, alpha, direction)
    x = counts[start:]
    upper = np.zeros(len(x))
    alarm = np.zeros(len(x), dtype=bool)
    begin = 0
    while begin < len(x):
        seg_x, seg_mu = x[begin:], mu0[begin:]
        values: list[float] = []
        end = len(seg_x)
        for n in range(len(seg_x)):
            values.append(glr(seg_x, seg_mu, n))
            if values[-1] >= control.c_arl:
                end = n + 1
                alarm[begin + n] = True
                break
        if control.ret == "value":
            upper[begin : begin + end] = values
        else:
            for n in range(end):
                if alpha == 0:
                    found = _cases_poisson(glr, seg_x, seg_mu, n, direction, control.c_arl, control.x_max)
                else:
                    found = _cases_negbin(
                        glr, seg_x, seg_mu, n, bool(alarm[begin + n]), control.c_arl, control.x_max
                    )
                upper[begin + n] = found
        begin += end
    upper = np.where(np.isnan(upper) | (upper < 0), 0.0, upper)
    index = np.arange(start, len(counts))
    return Detection(index, x, mu0, upper, [bool(a) for a in alarm])
