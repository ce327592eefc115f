"""PREVENT against the published test cases of the preventr R package.

Source: martingmayer/preventr, tests/testthat/test-prevent_equations.R ("Base model works, female",
"HbA1c model works, female", ... "Full model works, male"), which call estimate_risk() with the
defaults of R/helpers_test.R (estimate_risk_partial: age 50, SBP 160 on treatment, total cholesterol
200 and HDL 45 mg/dL, no statin, diabetes, non-smoker, eGFR 90, BMI 35) and optionally HbA1c 9.2 %,
UACR 92 mg/g and ZIP code 14738. preventr reports risks rounded half up to three decimals; the same
rounding is applied here before comparing.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from medlake.warn.scores import score_frame

DEFAULTS = {
    "age": 50,
    "sbp": 160,
    "bp_treated": True,
    "total_cholesterol": 200,
    "hdl": 45,
    "statin": False,
    "diabetes": True,
    "smoker": False,
    "egfr": 90,
    "bmi": 35,
}
COLUMNS = ("cvd_10y", "ascvd_10y", "heart_failure_10y", "cvd_30y", "ascvd_30y", "heart_failure_30y")

# (test name in preventr, sex, optional inputs, model, total CVD / ASCVD / heart failure at 10 then 30 years)
PUBLISHED = [
    ("Base model works, female", "female", {}, "base", (0.147, 0.092, 0.081, 0.53, 0.354, 0.39)),
    ("HbA1c model works, female", "female", {"hba1c": 9.2}, "hba1c",
     (0.165, 0.103, 0.107, 0.541, 0.356, 0.449)),
    ("UACR model works, female", "female", {"uacr": 92}, "uacr", (0.181, 0.111, 0.105, 0.565, 0.381, 0.437)),
    ("Base model works, male", "male", {}, "base", (0.163, 0.102, 0.106, 0.514, 0.349, 0.424)),
    ("HbA1c model works, male", "male", {"hba1c": 9.2}, "hba1c", (0.187, 0.112, 0.13, 0.524, 0.34, 0.457)),
    ("UACR model works, male", "male", {"uacr": 92}, "uacr", (0.195, 0.123, 0.13, 0.535, 0.368, 0.448)),
]  # fmt: skip
# The ZIP code cases: preventr maps ZIP 14738 to its Social Deprivation Index decile with a table it
# bundles, and does not print the decile. Its published SDI and full-model values are tested below
# for every decile, and must be reproduced by every decile of exactly one SDI group.
PUBLISHED_ZIP_14738 = [
    ("SDI model works, female", "female", {}, "sdi", (0.127, 0.08, 0.07, 0.485, 0.322, 0.358)),
    ("Full model works, female", "female", {"hba1c": 9.2, "uacr": 92}, "full",
     (0.174, 0.105, 0.114, 0.534, 0.348, 0.443)),
    ("SDI model works, male", "male", {}, "sdi", (0.143, 0.088, 0.089, 0.48, 0.317, 0.384)),
    ("Full model works, male", "male", {"hba1c": 9.2, "uacr": 92}, "full",
     (0.191, 0.112, 0.131, 0.513, 0.326, 0.438)),
]  # fmt: skip


def round_half_up(value: float, digits: int = 3) -> float:
    return math.floor(value * 10**digits + 0.5) / 10**digits


def prevent(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).rename(columns={"sbp": "systolic_bp"})
    return score_frame("prevent", frame)


def published_values(result: pd.Series) -> tuple[float, ...]:
    return tuple(round_half_up(result[column]) for column in COLUMNS)


@pytest.mark.parametrize(("case", "sex", "optional", "model", "expected"), PUBLISHED)
def test_preventr_published_cases(case, sex, optional, model, expected):
    result = prevent([{**DEFAULTS, "sex": sex, **optional}]).iloc[0]
    assert result["status"] == "ok", result["reason"]
    assert result["prevent_model"] == model
    assert published_values(result) == expected


def test_preventr_zip_cases_are_reproduced_by_exactly_one_sdi_group():
    matching = []
    for decile in range(1, 11):
        rows = [
            {**DEFAULTS, "sex": sex, **optional, "sdi": decile}
            for _, sex, optional, _, _ in PUBLISHED_ZIP_14738
        ]
        results = prevent(rows)
        models = results["prevent_model"].tolist()
        assert models == [model for *_, model, _ in PUBLISHED_ZIP_14738]
        if all(
            published_values(results.iloc[i]) == expected
            for i, (*_, expected) in enumerate(PUBLISHED_ZIP_14738)
        ):
            matching.append(decile)
    assert matching == [1, 2, 3]  # deciles 1-3 share a term (the reference group); 4-10 do not match


def test_the_whole_frame_is_scored_at_once_with_each_row_its_own_model():
    rows = [{**DEFAULTS, "sex": sex, **optional} for _, sex, optional, _, _ in PUBLISHED]
    results = prevent(rows)
    assert [published_values(results.iloc[i]) for i in range(len(rows))] == [p[-1] for p in PUBLISHED]


def test_thirty_year_risks_need_age_30_to_59():
    results = prevent([{**DEFAULTS, "sex": "female", "age": age} for age in (59, 60)])
    assert results["status"].tolist() == ["ok", "partial"]
    assert results.loc[1, "reason"] == "30-year risks need age 30–59"
    assert results.loc[1, ["cvd_30y", "ascvd_30y", "heart_failure_30y"]].isna().all()
    assert results.loc[1, ["cvd_10y", "ascvd_10y", "heart_failure_10y"]].notna().all()


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("age", 29, "age 29 a outside the validated 30–79 a"),
        ("bmi", 40, "bmi 40 kg/m2 outside the validated 18.5–39.9 kg/m2"),
        ("egfr", 14, "egfr 14 mL/min/{1.73_m2} outside the validated 15–140 mL/min/{1.73_m2}"),
        ("hba1c", 16, "hba1c 16 % outside the validated 3–15 %"),
        ("sdi", 11, "sdi 11 outside the validated 1–10"),
        ("sdi", 4.5, "sdi 4.5 is not a whole number"),
        ("statin", "", "missing statin"),
    ],
)
def test_invalid_inputs_are_never_guessed(column, value, reason):
    result = prevent([{**DEFAULTS, "sex": "male", column: value}]).iloc[0]
    assert result["status"] == "not computable"
    assert result["reason"] == reason
    assert result[list(COLUMNS)].isna().all()


def test_hba1c_in_ifcc_units_selects_the_same_model_and_risk():
    ngsp = prevent([{**DEFAULTS, "sex": "female", "hba1c": 0.09148 * 77 + 2.152}]).iloc[0]
    ifcc = prevent([{**DEFAULTS, "sex": "female", "hba1c": 77, "hba1c_unit": "mmol/mol"}]).iloc[0]
    assert ifcc["prevent_model"] == "hba1c"
    assert ifcc["cvd_10y"] == pytest.approx(ngsp["cvd_10y"], rel=1e-12)
