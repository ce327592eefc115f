"""A log-link count GLM fitted exactly as R's ``glm.fit`` fits it.

Farrington flexible and the GLR detector's in-control mean are defined by R's fitting routine,
not by "a Poisson regression": the upper bound depends on the dispersion R estimates, on the
hat values of R's last weighted least-squares step and on the iteration R stops at. So this
module repeats R's iteration step for step (start at ``mu = y + 0.1``, IRLS, stop when the
relative change in deviance falls below ``1e-8``, at most 25 iterations) and keeps what R keeps
from the *last* weighted step (the working weights and the triangular factor of the weighted
design, computed from the previous iteration's means; R gets it by QR, here it comes from the
normal equations' Cholesky factor, the same matrix up to the signs of its rows, to ~1e-12).
Everything R derives afterwards (``summary.glm``'s dispersion and p-values, ``predict.glm``'s
standard errors, ``hatvalues``) is computed from those, as R does, so results agree with R to
rounding rather than to the convergence tolerance.

The variance function is the only thing that differs between the families used here:
Poisson/quasi-Poisson (``V(mu) = mu``) and the negative binomial with a known ``theta``
(``V(mu) = mu + mu^2/theta``, MASS's ``negative.binomial``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

EPSILON = 1e-8  #: glm.control()$epsilon
MAXIT = 25  #: glm.control()$maxit
_DOUBLE_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class GlmFit:
    """What R's glm object holds that the detection algorithms use."""

    coefficients: np.ndarray
    mu: np.ndarray  # fitted means at the final coefficients
    eta: np.ndarray
    y: np.ndarray
    prior_weights: np.ndarray
    working_weights: np.ndarray  # w^2 of the last weighted step (from the previous means)
    r_inverse: np.ndarray  # inverse of the last weighted step's triangular factor R
    q: np.ndarray  # the weighted design times R^-1 (Q of R's QR; rows with positive weight)
    deviance: float
    converged: bool
    iterations: int
    df_residual: int
    theta: float | None  # None: Poisson variance

    def variance(self, mu: np.ndarray) -> np.ndarray:
        return mu if self.theta is None else mu + mu * mu / self.theta

    @property
    def dispersion(self) -> float:
        """``summary.glm``'s estimated dispersion: the Pearson statistic over the residual df, as
        sum(working weights * working residuals^2) (weights from the last step, residuals from
        the final means)."""
        return self.dispersion_with(self.working_weights)

    def dispersion_with(self, weights: np.ndarray) -> float:
        """``summary.glm``'s formula with other weights in the object's ``weights`` slot (as
        Farrington flexible leaves them: see :mod:`medlake.surveil.farrington`)."""
        working_residuals = (self.y - self.mu) / self.mu
        positive = weights > 0
        if self.df_residual <= 0:
            return float("nan")
        return float(np.sum((weights * working_residuals**2)[positive]) / self.df_residual)

    def unscaled_covariance(self) -> np.ndarray:
        return self.r_inverse @ self.r_inverse.T

    def coefficient_p_value(self, index: int, dispersion: float) -> float:
        """``summary.glm``'s Pr(>|t|) for an estimated dispersion (quasi families)."""
        se = np.sqrt(self.unscaled_covariance()[index, index] * dispersion)
        t_value = self.coefficients[index] / se
        return float(2 * special.stdtr(self.df_residual, -abs(t_value)))

    def hat_values(self) -> np.ndarray:
        """``hatvalues()``: diagonal of the hat matrix of the last weighted step (0 where the
        prior weight is 0)."""
        hat = np.zeros(len(self.y))
        hat[self.prior_weights > 0] = np.sum(self.q**2, axis=1)
        return hat

    def predict_link(self, x_new: np.ndarray, dispersion: float) -> tuple[float, float]:
        """``predict.glm(type="link", se.fit=TRUE)`` for one row: (eta, its standard error)."""
        eta = float(x_new @ self.coefficients)
        se = float(np.sqrt(np.sum((x_new @ self.r_inverse) ** 2) * dispersion))
        return eta, se


def _deviance(y: np.ndarray, mu: np.ndarray, weights: np.ndarray, theta: float | None) -> float:
    """The family's deviance (R's ``dev.resids`` summed). ``y log(y/mu)`` is 0 at ``y = 0``: taking
    the log of 1 there gives exactly that, without a division warning."""
    log_ratio = np.log(np.where(y > 0, y, 1.0) / mu)
    if theta is None:
        return float(2 * np.sum(weights * (y * log_ratio - (y - mu))))
    terms = y * log_ratio - (y + theta) * np.log((y + theta) / (mu + theta))
    return float(2 * np.sum(weights * terms))


def fit(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    theta: float | None = None,
    eta_start: np.ndarray | None = None,
) -> GlmFit:
    """Fit ``y ~ x`` (x includes the intercept column) with a log link, as ``glm.fit`` does.

    ``theta=None`` is the Poisson/quasi-Poisson variance; a number is MASS's
    ``negative.binomial(theta)``. ``eta_start`` plays glm's ``etastart`` (glm.nb passes the
    previous fit's linear predictor); without it the start is ``mu = y + 0.1`` (Poisson) or
    ``y + (y == 0)/6`` (negative binomial), the families' own ``initialize``.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    prior = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    if eta_start is not None:
        eta = np.asarray(eta_start, dtype=float).copy()
    else:
        mu_start = y + 0.1 if theta is None else y + (y == 0) / 6
        eta = np.log(mu_start)
    mu = np.maximum(np.exp(eta), _DOUBLE_EPS)
    dev_old = _deviance(y, mu, prior, theta)
    good = prior > 0
    coefficients = np.zeros(x.shape[1])
    converged = False
    iteration = 0
    w2 = np.zeros(len(y))
    weighted = gram = np.empty((0, 0))
    for iteration in range(1, MAXIT + 1):  # noqa: B007 (the count is kept)
        mu_eta = np.maximum(np.exp(eta), _DOUBLE_EPS)
        variance = mu if theta is None else mu + mu * mu / theta
        good = (prior > 0) & (mu_eta != 0)
        z = eta[good] + (y[good] - mu[good]) / mu_eta[good]
        w = np.sqrt(prior[good] * mu_eta[good] ** 2 / variance[good])
        # The weighted least-squares step through its normal equations: R's QR gives the same
        # solution; on these small, well-conditioned designs the two agree to ~1e-12, and this
        # is several times faster than a QR per iteration.
        weighted = x[good] * w[:, None]
        gram = weighted.T @ weighted
        coefficients = np.linalg.solve(gram, weighted.T @ (z * w))
        w2 = np.zeros(len(y))
        w2[good] = w**2
        eta = x @ coefficients
        mu = np.maximum(np.exp(eta), _DOUBLE_EPS)
        dev = _deviance(y, mu, prior, theta)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < EPSILON:
            converged = True
            break
        dev_old = dev
    rank = x.shape[1]
    r = np.linalg.cholesky(gram).T  # the R of the last step's QR, up to the signs of its rows
    r_inv = np.linalg.inv(r)
    q = weighted @ r_inv
    return GlmFit(
        coefficients=coefficients,
        mu=mu,
        eta=eta,
        y=y,
        prior_weights=prior,
        working_weights=w2,
        r_inverse=r_inv,
        q=q,
        deviance=_deviance(y, mu, prior, theta),
        converged=converged,
        iterations=iteration,
        df_residual=int(np.sum(prior != 0)) - rank,
        theta=theta,
    )
