"""Pooled Cohort Equations: 10-year risk of a first hard ASCVD event (Goff et al., 2013).

Four sex- and race-specific Cox models (Goff 2013, Table A in the appendix): risk =
1 − S10^exp(Σ βx − mean). People of other races are scored with the white equations, as the
guideline recommends (it notes the risk may then be over- or under-estimated). Inputs outside
the ranges the ACC/AHA risk estimator accepts are not computable.
"""

from __future__ import annotations

import numpy as np

from medlake.warn.scores.registry import Computed, Input, Output, Score

# term order: ln age, ln age², ln TC, ln age·ln TC, ln HDL, ln age·ln HDL, ln treated SBP,
# ln age·ln treated SBP, ln untreated SBP, ln age·ln untreated SBP, smoker, ln age·smoker, diabetes
_TERMS = 13
COEFFICIENTS: dict[tuple[str, str], tuple[tuple[float, ...], float, float]] = {
    # (sex, race): (coefficients, mean of Σ βx, baseline 10-year survival)
    ("female", "white"): (
        (-29.799, 4.884, 13.540, -3.114, -13.578, 3.149, 2.019, 0.0, 1.957, 0.0, 7.574, -1.665, 0.661),
        -29.18,
        0.9665,
    ),
    ("female", "african_american"): (
        (17.114, 0.0, 0.940, 0.0, -18.920, 4.475, 29.291, -6.432, 27.820, -6.087, 0.691, 0.0, 0.874),
        86.61,
        0.9533,
    ),
    ("male", "white"): (
        (12.344, 0.0, 11.853, -2.664, -7.990, 1.769, 1.797, 0.0, 1.764, 0.0, 7.837, -1.795, 0.658),
        61.18,
        0.9144,
    ),
    ("male", "african_american"): (
        (2.469, 0.0, 0.302, 0.0, -0.307, 0.0, 1.916, 0.0, 1.809, 0.0, 0.549, 0.0, 0.645),
        19.54,
        0.8954,
    ),
}


def ascvd_10y(
    age: np.ndarray,
    female: np.ndarray,
    african_american: np.ndarray,
    total_cholesterol: np.ndarray,
    hdl: np.ndarray,
    systolic_bp: np.ndarray,
    bp_treated: np.ndarray,
    smoker: np.ndarray,
    diabetes: np.ndarray,
) -> np.ndarray:
    """10-year hard-ASCVD probability (cholesterol in mg/dL, SBP in mmHg, flags as 0/1)."""
    ln_age, ln_tc, ln_hdl, ln_sbp = np.log(age), np.log(total_cholesterol), np.log(hdl), np.log(systolic_bp)
    treated, untreated = ln_sbp * bp_treated, ln_sbp * (1 - bp_treated)
    x = np.stack(
        [
            ln_age,
            ln_age**2,
            ln_tc,
            ln_age * ln_tc,
            ln_hdl,
            ln_age * ln_hdl,
            treated,
            ln_age * treated,
            untreated,
            ln_age * untreated,
            smoker,
            ln_age * smoker,
            diabetes,
        ]
    )
    risk = np.full(len(age), np.nan)
    for (sex, race), (beta, mean, survival) in COEFFICIENTS.items():
        rows = (female == (sex == "female")) & (african_american == (race == "african_american"))
        if rows.any():
            linear = np.asarray(beta) @ x[:, rows]
            risk[rows] = 1 - survival ** np.exp(linear - mean)
    return risk


def compute(x: dict[str, np.ndarray]) -> Computed:
    return Computed(
        {
            "ascvd_10y": ascvd_10y(
                x["age"],
                x["sex"] == "female",
                x["race"] == "african_american",
                x["total_cholesterol"],
                x["hdl"],
                x["systolic_bp"],
                x["bp_treated"],
                x["smoker"],
                x["diabetes"],
            )
        }
    )


SCORE = Score(
    name="pce",
    title="Pooled Cohort Equations — 10-year risk of a first hard ASCVD event",
    citation="Goff DC Jr, Lloyd-Jones DM, Bennett G, et al. 2013 ACC/AHA Guideline on the Assessment of "
    "Cardiovascular Risk. Circulation. 2014;129(25 Suppl 2):S49-S73. doi:10.1161/01.cir.0000437741.48606.98",
    validation="Goff 2013's worked example (Table A: white and African-American women and men, 55 y, TC 213, "
    "HDL 50, SBP 120 untreated, non-smoker, no diabetes → 2.1 %, 3.0 %, 5.3 %, 6.1 %) "
    "(tests/warn/test_pce.py)",
    inputs=(
        Input("age", "age", unit="a", low=40, high=79),
        Input("sex", "sex", "choice", choices=("female", "male")),
        Input(
            "race",
            "race (other: scored with the white equations)",
            "choice",
            choices=("white", "african_american", "other"),
        ),
        Input(
            "total_cholesterol", "total cholesterol", unit="mg/dL", analyte="cholesterol", low=130, high=320
        ),
        Input("hdl", "HDL cholesterol", unit="mg/dL", analyte="cholesterol", low=20, high=100),
        Input("systolic_bp", "systolic blood pressure", unit="mm[Hg]", low=90, high=200),
        Input("bp_treated", "on treatment for high blood pressure", "boolean"),
        Input("smoker", "current smoker", "boolean"),
        Input("diabetes", "diabetes", "boolean"),
    ),
    outputs=(Output("ascvd_10y", "10-year risk of a first hard ASCVD event, probability 0–1"),),
    compute=compute,
    notes="For adults without clinical ASCVD. Ranges are those of the ACC/AHA risk estimator.",
)
