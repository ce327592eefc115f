"""FINDRISC, the Finnish Diabetes Risk Score: 10-year risk of type 2 diabetes (Lindström & Tuomilehto, 2003).

Eight questions, each a published number of points (total 0–26), and five risk bands. Age bands
are in completed years (54.9 is "45–54"); BMI 25–30 and the waist bands include both ends, as the
questionnaire prints them ("25–30 kg/m²: 1 point; higher than 30: 3").
"""

from __future__ import annotations

import numpy as np

from medlake.warn.scores.registry import Computed, Input, Output, Score

BANDS = (  # (lowest total, band, the questionnaire's estimate of 10-year risk)
    (0, "low", "about 1 in 100"),
    (7, "slightly-elevated", "about 1 in 25"),
    (12, "moderate", "about 1 in 6"),
    (15, "high", "about 1 in 3"),
    (21, "very-high", "about 1 in 2"),
)


def compute(x: dict[str, np.ndarray]) -> Computed:
    age, bmi, waist = x["age"], x["bmi"], x["waist"]
    male = x["sex"] == "male"
    points = (
        np.select([age < 45, age < 55, age < 65], [0, 2, 3], 4)
        + np.select([bmi < 25, bmi <= 30], [0, 1], 3)
        + np.where(male, np.select([waist < 94, waist <= 102], [0, 3], 4),
                   np.select([waist < 80, waist <= 88], [0, 3], 4))
        + np.where(x["physically_active"] == 1, 0, 2)
        + np.where(x["daily_vegetables"] == 1, 0, 1)
        + np.where(x["antihypertensive"] == 1, 2, 0)
        + np.where(x["high_glucose_history"] == 1, 5, 0)
        + np.select([x["family_history_diabetes"] == "first_degree",
                     x["family_history_diabetes"] == "second_degree"], [5, 3], 0)
    )  # fmt: skip
    band = np.searchsorted([lowest for lowest, _, _ in BANDS], points, side="right") - 1
    return Computed(
        {
            "findrisc": points,
            "risk": np.asarray([name for _, name, _ in BANDS], dtype=object)[band],
            "t2d_10y": np.asarray([estimate for _, _, estimate in BANDS], dtype=object)[band],
        }
    )


SCORE = Score(
    name="findrisc",
    title="FINDRISC — Finnish Diabetes Risk Score (10-year risk of type 2 diabetes)",
    citation="Lindström J, Tuomilehto J. The Diabetes Risk Score: a practical tool to predict type 2 "
    "diabetes risk. Diabetes Care. 2003;26(3):725-731. doi:10.2337/diacare.26.3.725 (points and bands as "
    "printed on the FINDRISC questionnaire of the Finnish Diabetes Association)",
    validation="the published point table at both edges of every category, and the five risk bands at their "
    "edges (tests/warn/test_findrisc.py)",
    inputs=(
        Input("age", "age", unit="a", low=18, high=120, bounds="plausible"),
        Input("sex", "sex (sets the waist bands)", "choice", choices=("female", "male")),
        Input("bmi", "body-mass index", unit="kg/m2", low=10, high=80, bounds="plausible"),
        Input("waist", "waist circumference at the navel", unit="cm", low=30, high=250, bounds="plausible"),
        Input("physically_active", "at least 30 minutes of physical activity daily", "boolean"),
        Input("daily_vegetables", "eats vegetables, fruit or berries every day", "boolean"),
        Input("antihypertensive", "has ever regularly taken medication for high blood pressure", "boolean"),
        Input("high_glucose_history", "has ever been found to have high blood glucose", "boolean"),
        Input(
            "family_history_diabetes",
            "diabetes in the family: none, second_degree (grandparent, aunt, uncle, "
            "first cousin) or first_degree (parent, sibling, child)",
            "choice",
            choices=("none", "second_degree", "first_degree"),
        ),
    ),
    outputs=(
        Output("findrisc", "total points 0–26"),
        Output(
            "risk", "low (< 7), slightly-elevated (7–11), moderate (12–14), high (15–20), very-high (> 20)"
        ),
        Output("t2d_10y", "the questionnaire's estimate of 10-year risk for the band"),
    ),
    compute=compute,
    notes="For adults without known diabetes. Age, BMI and waist bounds are plausibility checks, not part of "
    "the questionnaire.",
)
