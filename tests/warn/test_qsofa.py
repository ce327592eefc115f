"""qSOFA against Sepsis-3's criteria (Seymour et al., JAMA 2016): respiration ≥ 22/min, systolic ≤ 100 mmHg,
altered mentation, one point each; two or more is positive."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from medlake.warn.scores import score_frame


@pytest.mark.parametrize(
    ("rate", "sbp", "altered"), list(itertools.product((21, 22), (101, 100), (False, True)))
)
def test_every_combination_at_the_threshold_edges(rate, sbp, altered):
    row = {"respiratory_rate": rate, "systolic_bp": sbp, "altered_mentation": altered}
    expected = (rate >= 22) + (sbp <= 100) + altered
    result = score_frame("qsofa", pd.DataFrame([row])).iloc[0]
    assert (result["qsofa"], result["positive"]) == (expected, expected >= 2)


def test_systolic_pressure_in_kilopascals():
    row = {"respiratory_rate": 18, "systolic_bp": 13.3, "systolic_bp_unit": "kPa", "altered_mentation": "no"}
    assert score_frame("qsofa", pd.DataFrame([row])).iloc[0]["qsofa"] == 1  # 13.3 kPa = 99.8 mmHg
