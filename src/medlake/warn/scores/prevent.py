"""AHA PREVENT equations: 10- and 30-year risk of total CVD, ASCVD and heart failure (Khan et al., 2023).

Sex-specific logistic models over centred, spline-knotted terms (Khan 2024, supplement Tables S12;
coefficients in ``prevent_coefficients``). Five models: the base model when none of the optional
predictors (HbA1c, UACR, Social Deprivation Index) is given; the base model plus that predictor when
exactly one is; the full model when two or three are, with the published missing-value term for an
absent one. This is the selection the preventr R package documents, whose published examples are the
reference tests. Cholesterol enters in mmol/L through the AHA's factor 0.02586 per mg/dL. The 30-year
equations were developed for ages 30–59: above 59 only the 10-year risks are given (``partial``).
"""

from __future__ import annotations

import numpy as np

from medlake.warn.scores.prevent_coefficients import MODELS
from medlake.warn.scores.registry import Computed, Input, Output, Score

MMOL_PER_MG_DL = 0.02586  # the AHA's cholesterol factor (mg/dL to mmol/L)


OUTCOMES = {"cvd": "cvd", "ascvd": "ascvd", "hf": "heart_failure"}


def terms(x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every term of the equations, centred and knotted as the AHA defines them."""
    age = (x["age"] - 55) / 10
    nonhdl = (x["total_cholesterol"] - x["hdl"]) * MMOL_PER_MG_DL - 3.5
    hdl = (x["hdl"] * MMOL_PER_MG_DL - 1.3) / 0.3
    sbp, bmi, egfr = x["systolic_bp"], x["bmi"], x["egfr"]
    sbp_gte = (np.maximum(sbp, 110) - 130) / 20
    bmi_gte = (np.maximum(bmi, 30) - 30) / 5
    egfr_lt = (np.minimum(egfr, 60) - 60) / -15
    dm, smoking, bptx, statin = x["diabetes"], x["smoker"], x["bp_treated"], x["statin"]
    sdi, uacr, hba1c = x["sdi"], x["uacr"], x["hba1c"]
    return {
        "const": np.ones_like(age),
        "age": age,
        "age2": age**2,
        "nonhdl": nonhdl,
        "hdl": hdl,
        "sbp_lt": (np.minimum(sbp, 110) - 110) / 20,
        "sbp_gte": sbp_gte,
        "dm": dm,
        "smoking": smoking,
        "bmi_lt": (np.minimum(bmi, 30) - 25) / 5,
        "bmi_gte": bmi_gte,
        "egfr_lt": egfr_lt,
        "egfr_gte": (np.maximum(egfr, 60) - 90) / -15,
        "bptx": bptx,
        "statin": statin,
        "bptx_sbp": bptx * sbp_gte,
        "statin_nonhdl": statin * nonhdl,
        "age_nonhdl": age * nonhdl,
        "age_hdl": age * hdl,
        "age_sbp": age * sbp_gte,
        "age_dm": age * dm,
        "age_smoking": age * smoking,
        "age_bmi": age * bmi_gte,
        "age_egfr": age * egfr_lt,
        "sdi_4_6": ((sdi >= 4) & (sdi <= 6)).astype(float),
        "sdi_7_10": (sdi >= 7).astype(float),
        "sdi_missing": np.isnan(sdi).astype(float),
        "ln_uacr": np.where(np.isnan(uacr), 0.0, np.log(np.maximum(uacr, 0.1))),
        "uacr_missing": np.isnan(uacr).astype(float),
        "hba1c_dm": np.where(np.isnan(hba1c), 0.0, (hba1c - 5.3) * dm),
        "hba1c_nodm": np.where(np.isnan(hba1c), 0.0, (hba1c - 5.3) * (1 - dm)),
        "hba1c_missing": np.isnan(hba1c).astype(float),
    }


OPTIONAL = ("hba1c", "uacr", "sdi")


def model_names(x: dict[str, np.ndarray]) -> np.ndarray:
    """Which of the five models each row uses: base, hba1c, uacr, sdi or full."""
    given = np.stack([~np.isnan(x[name]) for name in OPTIONAL])
    count = given.sum(axis=0)
    single = np.asarray(OPTIONAL, dtype=object)[given.argmax(axis=0)]
    return np.where(count == 0, "base", np.where(count == 1, single, "full"))


COLUMNS = tuple(f"{column}_{horizon}" for horizon in ("10y", "30y") for column in OUTCOMES.values())
TERMS = sorted({term for model in MODELS.values() for beta in model.values() for term in beta})


def _coefficients(model: str, sex: str) -> np.ndarray:
    """(terms x outputs) for one model and sex, zero where an equation lacks a term."""
    return np.array(
        [
            [
                MODELS[model][(horizon, sex, outcome)].get(term, 0.0)
                for horizon in ("10y", "30y")
                for outcome in OUTCOMES
            ]
            for term in TERMS
        ]
    )


MATRICES = {(model, sex): _coefficients(model, sex) for model in MODELS for sex in ("female", "male")}


def compute(x: dict[str, np.ndarray]) -> Computed:
    t = terms(x)
    models = model_names(x)
    female = x["sex"] == "female"
    logits = np.full((len(female), len(COLUMNS)), np.nan)
    for (name, sex), matrix in MATRICES.items():
        rows = np.flatnonzero((models == name) & (female == (sex == "female")))
        if len(rows):
            logits[rows] = np.column_stack([t[term][rows] for term in TERMS]) @ matrix
    risks = 1 / (1 + np.exp(-logits))
    values: dict[str, np.ndarray] = {column: risks[:, i] for i, column in enumerate(COLUMNS)}
    values["prevent_model"] = models
    thirty = tuple(column for column in COLUMNS if column.endswith("_30y"))
    return Computed(values, partial=[(x["age"] > 59, thirty, "30-year risks need age 30–59")])


SCORE = Score(
    name="prevent",
    title="AHA PREVENT — 10- and 30-year risk of total CVD, ASCVD and heart failure",
    citation="Khan SS, Matsushita K, Sang Y, et al. Development and Validation of the American Heart "
    "Association's PREVENT Equations. Circulation. 2024;149(6):430-449. "
    "doi:10.1161/CIRCULATIONAHA.123.067626 (coefficients: supplemental Tables S12)",
    validation="the published test cases of the preventr R package (tests/testthat/test-prevent_equations.R: "
    "the base, HbA1c, UACR, SDI and full models, women and men, 10 and 30 years, total CVD, ASCVD and heart "
    "failure) (tests/warn/test_prevent.py)",
    inputs=(
        Input("age", "age", unit="a", low=30, high=79),
        Input("sex", "sex", "choice", choices=("female", "male")),
        Input(
            "total_cholesterol", "total cholesterol", unit="mg/dL", analyte="cholesterol", low=130, high=320
        ),
        Input("hdl", "HDL cholesterol", unit="mg/dL", analyte="cholesterol", low=20, high=100),
        Input("systolic_bp", "systolic blood pressure", unit="mm[Hg]", low=90, high=200),
        Input("bp_treated", "on antihypertensive treatment", "boolean"),
        Input("statin", "on a statin", "boolean"),
        Input("diabetes", "diabetes", "boolean"),
        Input("smoker", "current smoker (cigarettes within 30 days)", "boolean"),
        Input("egfr", "estimated glomerular filtration rate", unit="mL/min/{1.73_m2}", low=15, high=140),
        Input("bmi", "body-mass index", unit="kg/m2", low=18.5, high=39.9),
        Input(
            "hba1c",
            "HbA1c (optional: adds the HbA1c term)",
            unit="%",
            analyte="hba1c",
            low=3,
            high=15,
            required=False,
        ),
        Input(
            "uacr",
            "urine albumin-creatinine ratio (optional: adds the UACR term; values below 0.1 "
            "count as 0.1, as the equations define)",
            unit="mg/g",
            analyte="uacr",
            low=0,
            high=25000,
            required=False,
        ),
        Input(
            "sdi",
            "Social Deprivation Index decile of the residence (optional: adds the SDI term)",
            "integer",
            low=1,
            high=10,
            required=False,
        ),
    ),
    outputs=(
        Output("cvd_10y", "10-year risk of total CVD, probability 0–1"),
        Output("ascvd_10y", "10-year risk of ASCVD, probability 0–1"),
        Output("heart_failure_10y", "10-year risk of heart failure, probability 0–1"),
        Output("cvd_30y", "30-year risk of total CVD (ages 30–59), probability 0–1"),
        Output("ascvd_30y", "30-year risk of ASCVD (ages 30–59), probability 0–1"),
        Output("heart_failure_30y", "30-year risk of heart failure (ages 30–59), probability 0–1"),
        Output(
            "prevent_model",
            "base, hba1c, uacr or sdi (that one optional input given), or full (two or three)",
        ),
    ),
    compute=compute,
    notes="For adults without known CVD. The SDI is taken as a decile (1–10); mapping a residence to its "
    "decile is the caller's (the Robert Graham Center publishes the table by ZIP code and census tract).",
)
