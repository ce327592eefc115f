"""CHA₂DS₂-VASc against MedCalc-Bench's test cases and Lip et al. 2010's point table.

``data/medcalc_bench_cha2ds2_vasc.csv`` holds the 20 CHA₂DS₂-VASc cases of MedCalc-Bench's test set
(see ``data/README.md``) with their ground-truth answers. The benchmark's explanations count an entity
it did not extract from the note as absent; the test fills those cells with ``false`` to say so,
because the scorer itself never assumes a missing input.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from medlake.warn.scores import score_frame

CASES = Path(__file__).parent / "data" / "medcalc_bench_cha2ds2_vasc.csv"


def test_medcalc_bench_cases():
    cases = pd.read_csv(CASES, dtype=str, keep_default_na=False)
    assert len(cases) == 20
    flags = ["chf", "hypertension", "stroke", "tia", "thromboembolism", "vascular_disease", "diabetes"]
    stated = cases[flags].replace("", "false") == "true"
    frame = pd.DataFrame(
        {
            "age": cases["age"],
            "sex": cases["sex"],
            "chf": stated["chf"],
            "hypertension": stated["hypertension"],
            "diabetes": stated["diabetes"],
            "stroke_tia_thromboembolism": stated[["stroke", "tia", "thromboembolism"]].any(axis=1),
            "vascular_disease": stated["vascular_disease"],
        }
    )
    scored = score_frame("cha2ds2_vasc", frame)
    assert (scored["status"] == "ok").all()
    assert scored["cha2ds2_vasc"].tolist() == cases["ground_truth"].astype(int).tolist()


NONE = {
    "sex": "male",
    "chf": False,
    "hypertension": False,
    "diabetes": False,
    "stroke_tia_thromboembolism": False,
    "vascular_disease": False,
}


@pytest.mark.parametrize(
    ("changes", "points"),
    [
        ({"age": 64}, 0),
        ({"age": 64.9}, 0),
        ({"age": 65}, 1),
        ({"age": 74}, 1),
        ({"age": 75}, 2),
        ({"age": 50, "sex": "female"}, 1),
        ({"age": 50, "chf": True}, 1),
        ({"age": 50, "hypertension": True}, 1),
        ({"age": 50, "diabetes": True}, 1),
        ({"age": 50, "stroke_tia_thromboembolism": True}, 2),
        ({"age": 50, "vascular_disease": True}, 1),
        ({"age": 80, "sex": "female", "chf": True, "hypertension": True, "diabetes": True,
          "stroke_tia_thromboembolism": True, "vascular_disease": True}, 9),
    ],
)  # fmt: skip
def test_lip_2010_point_table(changes, points):
    assert score_frame("cha2ds2_vasc", pd.DataFrame([{**NONE, **changes}])).iloc[0]["cha2ds2_vasc"] == points


@pytest.mark.parametrize(
    ("sex", "points_beyond_sex", "band"),
    [("male", 0, "low"), ("male", 1, "intermediate"), ("male", 2, "high"),
     ("female", 0, "low"), ("female", 1, "intermediate"), ("female", 2, "high")],
)  # fmt: skip
def test_esc_2020_bands_are_sex_specific(sex, points_beyond_sex, band):
    row = {
        **NONE,
        "age": 50,
        "sex": sex,
        "hypertension": points_beyond_sex >= 1,
        "diabetes": points_beyond_sex >= 2,
    }
    assert score_frame("cha2ds2_vasc", pd.DataFrame([row])).iloc[0]["risk"] == band
