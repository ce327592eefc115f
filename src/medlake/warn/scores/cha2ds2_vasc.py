"""CHA₂DS₂-VASc: stroke risk in atrial fibrillation (Lip et al., 2010).

Congestive heart failure 1, hypertension 1, age ≥ 75 2, diabetes 1, prior stroke/TIA/thromboembolism
2, vascular disease 1, age 65–74 1, female sex 1 (0–9). Age in completed years (74.9 scores 1). The
band follows the 2020 ESC atrial-fibrillation guideline's sex-specific thresholds for oral
anticoagulation.
"""

from __future__ import annotations

import numpy as np

from medlake.warn.scores.registry import Computed, Input, Output, Score


def compute(x: dict[str, np.ndarray]) -> Computed:
    age, female = x["age"], x["sex"] == "female"
    points = (
        x["chf"]
        + x["hypertension"]
        + np.select([age >= 75, age >= 65], [2, 1], 0)
        + x["diabetes"]
        + 2 * x["stroke_tia_thromboembolism"]
        + x["vascular_disease"]
        + female
    )
    beyond_sex = points - female  # the ESC thresholds count the risk factors other than sex
    risk = np.asarray(["low", "intermediate", "high"], dtype=object)[
        np.clip(np.nan_to_num(beyond_sex), 0, 2).astype(int)
    ]
    return Computed({"cha2ds2_vasc": np.nan_to_num(points).astype(int), "risk": risk})


SCORE = Score(
    name="cha2ds2_vasc",
    title="CHA₂DS₂-VASc — stroke risk in atrial fibrillation",
    citation="Lip GYH, Nieuwlaat R, Pisters R, Lane DA, Crijns HJGM. Refining clinical risk stratification "
    "for predicting stroke and thromboembolism in atrial fibrillation using a novel risk factor-based "
    "approach. Chest. 2010;137(2):263-272. doi:10.1378/chest.09-1584. Bands: Hindricks G, et al. 2020 "
    "ESC Guidelines for the diagnosis and management of atrial fibrillation. Eur Heart J. "
    "2021;42(5):373-498.",
    validation="MedCalc-Bench's 20 CHA₂DS₂-VASc test cases (rows 41–60 of its test set) and the point table "
    "at every age edge (tests/warn/test_cha2ds2_vasc.py)",
    inputs=(
        Input("age", "age", unit="a", low=18, high=120, bounds="plausible"),
        Input("sex", "sex", "choice", choices=("female", "male")),
        Input("chf", "congestive heart failure (or left-ventricular dysfunction)", "boolean"),
        Input("hypertension", "hypertension", "boolean"),
        Input("diabetes", "diabetes mellitus", "boolean"),
        Input("stroke_tia_thromboembolism", "prior stroke, TIA or thromboembolism", "boolean"),
        Input(
            "vascular_disease",
            "prior myocardial infarction, peripheral artery disease or aortic plaque",
            "boolean",
        ),
    ),
    outputs=(
        Output("cha2ds2_vasc", "score 0–9"),
        Output("risk", "low (0 men, 1 women), intermediate (1 men, 2 women), high (≥ 2 men, ≥ 3 women)"),
    ),
    compute=compute,
    notes="For adults with atrial fibrillation. The age bound is a plausibility check.",
)
