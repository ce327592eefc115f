"""The time-varying reproduction number by the Cori method, as R ``EpiEstim::estimate_R``
computes it with ``method = "parametric_si"``.

Cori et al. (2013, Am J Epidemiol 178:1505) assume cases on day t arise from those infected
before at rate ``R_t * Lambda_t``, where ``Lambda_t = sum_s I_{t-s} w_s`` is the infectivity
of past cases weighted by the serial-interval distribution ``w``. With a gamma prior on R
(mean ``mean_prior``, sd ``std_prior``) constant over a window ``[t_start, t_end]``, the
posterior is gamma with shape ``a + sum I`` and scale ``1 / (1/b + sum Lambda)`` over the
window: no sampling, so this is exact and equals EpiEstim to rounding.

As EpiEstim: the serial interval is the discretised gamma of ``discr_si`` (a gamma shifted by
one day, so ``w_0 = 0``); the first day's cases count as imported (they start the epidemic,
they do not estimate R); windows slide by one day from ``t_start = 2`` (1-based) to
``T - window + 1``; and a window that ends before the mean serial interval has no estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from medlake.surveil.series import SurveilError


@dataclass(frozen=True)
class RtConfig:
    """``make_config`` for ``parametric_si``: serial interval and prior, window length."""

    si_mean: float
    si_sd: float
    window: int = 7
    mean_prior: float = 5.0
    std_prior: float = 5.0

    def check(self, days: int) -> None:
        if not self.si_mean > 1:
            raise SurveilError(
                "the mean serial interval (--si-mean) must be greater than 1 (EpiEstim's discr_si)"
            )
        if not self.si_sd > 0:
            raise SurveilError("the serial interval's standard deviation (--si-sd) must be positive")
        if not self.mean_prior > 0 or not self.std_prior > 0:
            raise SurveilError("the prior's mean and standard deviation must be positive")
        if self.window < 1:
            raise SurveilError("--window must be at least 1 day")
        if days < self.window + 1:
            raise SurveilError(
                f"{days} days of incidence: a window of {self.window} needs at least {self.window + 1}"
            )


def discr_si(k: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """EpiEstim's ``discr_si``: the serial interval's probability on day k, from a gamma of mean
    ``mu - 1`` and sd ``sigma`` shifted by one day, discretised by linear interpolation."""
    a = ((mu - 1) / sigma) ** 2
    b = sigma**2 / (mu - 1)

    def cdf(x: np.ndarray, shape: float) -> np.ndarray:
        return stats.gamma.cdf(x, shape, scale=b)

    k = np.asarray(k, dtype=float)
    res = (
        k * cdf(k, a)
        + (k - 2) * cdf(k - 2, a)
        - 2 * (k - 1) * cdf(k - 1, a)
        + a * b * (2 * cdf(k - 1, a + 1) - cdf(k - 2, a + 1) - cdf(k, a + 1))
    )
    return np.maximum(0.0, res)


def serial_interval(days: int, mu: float, sigma: float) -> np.ndarray:
    """The distribution EpiEstim uses for a series of ``days`` days: ``discr_si`` on 0…days-1 and a
    final 0 (what ``estimate_R`` reports as ``si_distr``)."""
    return np.append(discr_si(np.arange(days), mu, sigma), 0.0)


def overall_infectivity(incidence: np.ndarray, si: np.ndarray) -> np.ndarray:
    """``Lambda_t = sum_{s=0}^{t-1} w_s I_{t-s}`` (0-based t; NaN on the first day, as EpiEstim)."""
    days = len(incidence)
    full = np.convolve(incidence, si[:days])[:days]
    full[0] = np.nan
    return full


def estimate_r(incidence: np.ndarray, config: RtConfig) -> pd.DataFrame:
    """Cori's R_t over EpiEstim's default sliding weekly windows.

    Returns ``t_start, t_end`` (1-based days, as EpiEstim) and the posterior's ``mean_r, std_r,
    q025_r, q975_r``; NaN where the window ends before the mean serial interval.
    """
    incidence = np.asarray(incidence, dtype=float)
    days = len(incidence)
    config.check(days)
    local = incidence.copy()
    local[0] = 0.0  # the first day's cases are imported
    si = serial_interval(days, config.si_mean, config.si_sd)
    mean_si = float(np.sum(si * np.arange(len(si))))
    lam = overall_infectivity(incidence, si)
    t_start = np.arange(2, days - config.window + 2)  # 1-based
    t_end = t_start + config.window - 1
    cum_local = np.concatenate([[0.0], np.cumsum(local)])
    cum_lambda = np.concatenate([[0.0], np.cumsum(np.nan_to_num(lam))])
    sum_local = cum_local[t_end] - cum_local[t_start - 1]
    sum_lambda = cum_lambda[t_end] - cum_lambda[t_start - 1]
    a_prior = (config.mean_prior / config.std_prior) ** 2
    b_prior = config.std_prior**2 / config.mean_prior
    shape = a_prior + sum_local
    scale = 1 / (1 / b_prior + sum_lambda)
    estimable = t_end > mean_si
    shape = np.where(estimable, shape, np.nan)
    scale = np.where(estimable, scale, np.nan)
    return pd.DataFrame(
        {
            "t_start": t_start,
            "t_end": t_end,
            "mean_r": shape * scale,
            "std_r": np.sqrt(shape) * scale,
            "q025_r": stats.gamma.ppf(0.025, shape, scale=scale),
            "q975_r": stats.gamma.ppf(0.975, shape, scale=scale),
        }
    )
