"""qSOFA, the quick Sequential Organ Failure Assessment (Seymour et al., Sepsis-3, 2016).

One point each for respiration ≥ 22/min, systolic blood pressure ≤ 100 mmHg and altered mentation
(a Glasgow Coma Scale below 15); two or more identifies a patient with suspected infection at
greater risk of a poor outcome.
"""

from __future__ import annotations

import numpy as np

from medlake.warn.scores.registry import Computed, Input, Output, Score


def compute(x: dict[str, np.ndarray]) -> Computed:
    points = (
        (x["respiratory_rate"] >= 22).astype(int)
        + (x["systolic_bp"] <= 100).astype(int)
        + (x["altered_mentation"] == 1).astype(int)
    )
    return Computed({"qsofa": points, "positive": points >= 2})


SCORE = Score(
    name="qsofa",
    title="qSOFA — quick Sequential Organ Failure Assessment (sepsis, outside the ICU)",
    citation="Seymour CW, Liu VX, Iwashyna TJ, et al. Assessment of Clinical Criteria for Sepsis: For the "
    "Third International Consensus Definitions for Sepsis and Septic Shock (Sepsis-3). JAMA. "
    "2016;315(8):762-774. doi:10.1001/jama.2016.0288",
    validation="the published criteria at both edges of each threshold (21/22 per minute, 100/101 mmHg) and "
    "every combination of the three (tests/warn/test_qsofa.py)",
    inputs=(
        Input("respiratory_rate", "respiration rate", unit="/min", low=0, high=100, bounds="plausible"),
        Input("systolic_bp", "systolic blood pressure", unit="mm[Hg]", low=0, high=350, bounds="plausible"),
        Input("altered_mentation", "altered mentation (Glasgow Coma Scale < 15)", "boolean"),
    ),
    outputs=(
        Output("qsofa", "score 0–3"),
        Output("positive", "true when qsofa ≥ 2"),
    ),
    compute=compute,
    notes="For adults with suspected infection. Ranges are plausibility checks.",
)
