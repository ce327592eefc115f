"""Pooled Cohort Equations against Goff et al. 2013's worked example (Table A of the appendix).

The example: 55 years, total cholesterol 213 mg/dL, HDL 50 mg/dL, untreated systolic 120 mmHg,
non-smoker, no diabetes; the published 10-year risks are 2.05 % (white women), 3.0 % (African-American
women), 5.4 % (white men) and 6.1 % (African-American men), given to the precision compared here.
"""

from __future__ import annotations

import pandas as pd
import pytest

from medlake.warn.scores import score_frame

EXAMPLE = {
    "age": 55,
    "total_cholesterol": 213,
    "hdl": 50,
    "systolic_bp": 120,
    "bp_treated": False,
    "smoker": False,
    "diabetes": False,
}


@pytest.mark.parametrize(
    ("sex", "race", "published_percent", "decimals"),
    [
        ("female", "white", 2.05, 2),
        ("female", "african_american", 3.0, 1),
        ("male", "white", 5.4, 1),
        ("male", "african_american", 6.1, 1),
    ],
)
def test_goff_2013_worked_example(sex, race, published_percent, decimals):
    result = score_frame("pce", pd.DataFrame([{**EXAMPLE, "sex": sex, "race": race}])).iloc[0]
    assert result["status"] == "ok"
    assert round(result["ascvd_10y"] * 100, decimals) == published_percent


def test_other_race_uses_the_white_equations():
    rows = [{**EXAMPLE, "sex": "male", "race": race} for race in ("white", "other")]
    risks = score_frame("pce", pd.DataFrame(rows))["ascvd_10y"]
    assert risks[0] == risks[1]


def test_cholesterol_in_mmol_per_litre_gives_the_same_risk():
    mmol = {**EXAMPLE, "sex": "female", "race": "white", "total_cholesterol": 213 / 38.67, "hdl": 50 / 38.67}
    rows = pd.DataFrame([{**EXAMPLE, "sex": "female", "race": "white"}, mmol])
    rows["total_cholesterol_unit"] = ["mg/dL", "mmol/L"]
    rows["hdl_unit"] = ["", "mmol/L"]
    risks = score_frame("pce", rows)["ascvd_10y"]
    assert risks[1] == pytest.approx(risks[0], rel=1e-12)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("age", 39, "age 39 a outside the validated 40–79 a"),
        ("age", 80, "age 80 a outside the validated 40–79 a"),
        ("total_cholesterol", 129, "total_cholesterol 129 mg/dL outside the validated 130–320 mg/dL"),
        ("hdl", 101, "hdl 101 mg/dL outside the validated 20–100 mg/dL"),
        ("systolic_bp", 89, "systolic_bp 89 mm[Hg] outside the validated 90–200 mm[Hg]"),
        ("race", "asian", "race 'asian' is not white|african_american|other"),
        ("smoker", None, "missing smoker"),
    ],
)
def test_outside_the_estimator_ranges_is_not_computable(column, value, reason):
    row = {**EXAMPLE, "sex": "female", "race": "white", column: value}
    result = score_frame("pce", pd.DataFrame([row])).iloc[0]
    assert result["status"] == "not computable"
    assert result["reason"] == reason
    assert pd.isna(result["ascvd_10y"])


def test_the_validated_edges_are_computable():
    rows = [{**EXAMPLE, "sex": "male", "race": "white", "age": age} for age in (40, 79)]
    assert score_frame("pce", pd.DataFrame(rows))["status"].tolist() == ["ok", "ok"]
