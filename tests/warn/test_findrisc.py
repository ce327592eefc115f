"""FINDRISC against its published point table (Lindström & Tuomilehto 2003; the FINDRISC form).

The form: age < 45 0, 45–54 2, 55–64 3, > 64 4; BMI < 25 0, 25–30 1, > 30 3; waist (men) < 94 0,
94–102 3, > 102 4, (women) < 80 0, 80–88 3, > 88 4; physical activity 30 min daily: no 2; vegetables,
fruit or berries every day: no 1; ever antihypertensive medication: yes 2; ever high blood glucose:
yes 5; diabetes in grandparent, aunt, uncle or first cousin 3, in parent, sibling or child 5. Total
< 7 low, 7–11 slightly elevated, 12–14 moderate, 15–20 high, > 20 very high.
"""

from __future__ import annotations

import pandas as pd
import pytest

from medlake.warn.scores import score_frame

ZERO = {
    "age": 40,
    "sex": "female",
    "bmi": 22,
    "waist": 70,
    "physically_active": True,
    "daily_vegetables": True,
    "antihypertensive": False,
    "high_glucose_history": False,
    "family_history_diabetes": "none",
}

POINTS = [
    ({"age": 44}, 0),
    ({"age": 45}, 2),
    ({"age": 54}, 2),
    ({"age": 54.9}, 2),  # completed years
    ({"age": 55}, 3),
    ({"age": 64}, 3),
    ({"age": 65}, 4),
    ({"bmi": 24.9}, 0),
    ({"bmi": 25}, 1),
    ({"bmi": 30}, 1),
    ({"bmi": 30.1}, 3),
    ({"waist": 79.9}, 0),
    ({"waist": 80}, 3),
    ({"waist": 88}, 3),
    ({"waist": 88.1}, 4),
    ({"sex": "male", "waist": 93.9}, 0),
    ({"sex": "male", "waist": 94}, 3),
    ({"sex": "male", "waist": 102}, 3),
    ({"sex": "male", "waist": 102.1}, 4),
    ({"physically_active": False}, 2),
    ({"daily_vegetables": False}, 1),
    ({"antihypertensive": True}, 2),
    ({"high_glucose_history": True}, 5),
    ({"family_history_diabetes": "second_degree"}, 3),
    ({"family_history_diabetes": "first_degree"}, 5),
]

SEVERE = {"high_glucose_history": True, "family_history_diabetes": "first_degree"}  # 10 points
BANDS = [
    ({"high_glucose_history": True, "daily_vegetables": False}, 6, "low"),
    ({"high_glucose_history": True, "physically_active": False}, 7, "slightly-elevated"),
    ({**SEVERE, "daily_vegetables": False}, 11, "slightly-elevated"),
    ({**SEVERE, "physically_active": False}, 12, "moderate"),
    ({**SEVERE, "physically_active": False, "antihypertensive": True}, 14, "moderate"),
    ({**SEVERE, "physically_active": False, "antihypertensive": True, "daily_vegetables": False}, 15, "high"),
    ({**SEVERE, "physically_active": False, "antihypertensive": True, "daily_vegetables": False, "age": 65,
      "bmi": 25}, 20, "high"),
    ({**SEVERE, "physically_active": False, "antihypertensive": True, "daily_vegetables": False, "age": 55,
      "waist": 80}, 21, "very-high"),
    ({**SEVERE, "physically_active": False, "antihypertensive": True, "daily_vegetables": False, "age": 70,
      "bmi": 35, "waist": 100}, 26, "very-high"),
]  # fmt: skip


def findrisc(rows: list[dict]) -> pd.DataFrame:
    return score_frame("findrisc", pd.DataFrame(rows))


@pytest.mark.parametrize(("changes", "points"), POINTS)
def test_point_table_at_every_edge(changes, points):
    assert findrisc([{**ZERO, **changes}]).iloc[0]["findrisc"] == points


@pytest.mark.parametrize(("changes", "total", "band"), BANDS)
def test_risk_bands_at_their_edges(changes, total, band):
    result = findrisc([{**ZERO, **changes}]).iloc[0]
    assert (result["findrisc"], result["risk"]) == (total, band)


def test_unknown_family_history_is_not_computable():
    result = findrisc([{**ZERO, "family_history_diabetes": "cousin"}]).iloc[0]
    assert result["status"] == "not computable"
    assert result["reason"] == "family_history_diabetes 'cousin' is not none|second_degree|first_degree"
