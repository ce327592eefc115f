"""NEWS2 against the Royal College of Physicians' chart (NEWS2 report, 2017, chart 1 and chart 2).

Every expected number below is read off the RCP chart: for each parameter, both edges of every band,
scored with every other parameter in its zero band, so the aggregate is that parameter's points
alone. Respiration 21–24/min scores 2, as the chart prints (not 1, as some libraries have it).
"""

from __future__ import annotations

import pandas as pd
import pytest

from medlake.warn.scores import score_frame

NORMAL = {
    "respiratory_rate": 16,
    "spo2": 97,
    "spo2_scale": 1,
    "on_oxygen": False,
    "systolic_bp": 120,
    "heart_rate": 70,
    "consciousness": "A",
    "temperature": 37.0,
}

# (parameter, value, points on the RCP chart)
CHART = [
    ("respiratory_rate", 8, 3),
    ("respiratory_rate", 9, 1),
    ("respiratory_rate", 11, 1),
    ("respiratory_rate", 12, 0),
    ("respiratory_rate", 20, 0),
    ("respiratory_rate", 21, 2),
    ("respiratory_rate", 24, 2),
    ("respiratory_rate", 25, 3),
    ("spo2", 91, 3),
    ("spo2", 92, 2),
    ("spo2", 93, 2),
    ("spo2", 94, 1),
    ("spo2", 95, 1),
    ("spo2", 96, 0),
    ("systolic_bp", 90, 3),
    ("systolic_bp", 91, 2),
    ("systolic_bp", 100, 2),
    ("systolic_bp", 101, 1),
    ("systolic_bp", 110, 1),
    ("systolic_bp", 111, 0),
    ("systolic_bp", 219, 0),
    ("systolic_bp", 220, 3),
    ("heart_rate", 40, 3),
    ("heart_rate", 41, 1),
    ("heart_rate", 50, 1),
    ("heart_rate", 51, 0),
    ("heart_rate", 90, 0),
    ("heart_rate", 91, 1),
    ("heart_rate", 110, 1),
    ("heart_rate", 111, 2),
    ("heart_rate", 130, 2),
    ("heart_rate", 131, 3),
    ("consciousness", "A", 0),
    ("consciousness", "C", 3),
    ("consciousness", "V", 3),
    ("consciousness", "P", 3),
    ("consciousness", "U", 3),
    ("temperature", 35.0, 3),
    ("temperature", 35.1, 1),
    ("temperature", 36.0, 1),
    ("temperature", 36.1, 0),
    ("temperature", 38.0, 0),
    ("temperature", 38.1, 1),
    ("temperature", 39.0, 1),
    ("temperature", 39.1, 2),
]

# SpO2 scale 2 (chart 2), with the air/oxygen parameter's own 2 points when on oxygen:
# (spo2, on oxygen, SpO2 points on the chart)
SCALE_2 = [
    (83, False, 3),
    (84, False, 2),
    (85, False, 2),
    (86, False, 1),
    (87, False, 1),
    (88, False, 0),
    (92, False, 0),
    (93, False, 0),
    (100, False, 0),
    (83, True, 3),
    (88, True, 0),
    (92, True, 0),
    (93, True, 1),
    (94, True, 1),
    (95, True, 2),
    (96, True, 2),
    (97, True, 3),
]


def scored(rows: list[dict]) -> pd.DataFrame:
    return score_frame("news2", pd.DataFrame(rows))


@pytest.mark.parametrize(("parameter", "value", "points"), CHART)
def test_each_band_edge_of_the_chart(parameter, value, points):
    result = scored([{**NORMAL, parameter: value}]).iloc[0]
    assert result["status"] == "ok", result["reason"]
    assert result["news2"] == points


@pytest.mark.parametrize(("spo2", "on_oxygen", "points"), SCALE_2)
def test_spo2_scale_2_on_air_and_on_oxygen(spo2, on_oxygen, points):
    row = {**NORMAL, "spo2": spo2, "spo2_scale": 2, "on_oxygen": on_oxygen}
    assert scored([row]).iloc[0]["news2"] == points + (2 if on_oxygen else 0)


def test_oxygen_scores_two_on_scale_1():
    assert scored([{**NORMAL, "on_oxygen": True}]).iloc[0]["news2"] == 2


def test_whole_column_is_scored_at_once():
    """The same chart edges as one frame: the vectorised path gives each row its own score."""
    frame = scored([{**NORMAL, parameter: value} for parameter, value, _ in CHART])
    assert frame["news2"].tolist() == [points for _, _, points in CHART]


@pytest.mark.parametrize(
    ("changes", "total", "risk", "monitoring"),
    [
        ({}, 0, "low", "minimum 12-hourly"),
        ({"respiratory_rate": 21, "heart_rate": 111}, 4, "low", "minimum 4–6-hourly"),
        ({"consciousness": "C"}, 3, "low-medium", "minimum 1-hourly"),  # a single parameter scoring 3
        ({"temperature": 35.0, "heart_rate": 91}, 4, "low-medium", "minimum 1-hourly"),
        ({"respiratory_rate": 21, "heart_rate": 111, "temperature": 38.1}, 5, "medium", "minimum 1-hourly"),
        ({"respiratory_rate": 25, "heart_rate": 91, "systolic_bp": 101, "temperature": 38.1}, 6, "medium",
         "minimum 1-hourly"),
        ({"respiratory_rate": 25, "heart_rate": 131, "temperature": 38.1}, 7, "high",
         "continuous monitoring of vital signs"),
    ],
)  # fmt: skip
def test_clinical_risk_and_response(changes, total, risk, monitoring):
    result = scored([{**NORMAL, **changes}]).iloc[0]
    assert (result["news2"], result["risk"], result["monitoring"]) == (total, risk, monitoring)


def test_a_reading_between_chart_rows_takes_the_higher_row():
    frame = scored([{**NORMAL, "respiratory_rate": 20.5}, {**NORMAL, "temperature": 38.05}])
    assert frame["news2"].tolist() == [2, 1]


def test_temperature_in_fahrenheit_is_converted_not_rejected():
    row = {**NORMAL, "temperature": 101.3, "temperature_unit": "[degF]"}  # 38.5 °C
    assert scored([row]).iloc[0]["news2"] == 1


def test_fahrenheit_without_its_unit_is_not_computable():
    result = scored([{**NORMAL, "temperature": 98.6}]).iloc[0]
    assert result["status"] == "not computable"
    assert "temperature 98.6 Cel outside the plausible 25–45 Cel" in result["reason"]
    assert pd.isna(result["news2"]) and result["risk"] is None
