"""The registry's contract: a row it cannot vouch for gets no number, and says why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medlake.warn.scores import SCORES, ScoreError, score_frame

VITALS = {
    "respiratory_rate": "16",
    "spo2": "97",
    "spo2_scale": "1",
    "on_oxygen": "false",
    "systolic_bp": "120",
    "heart_rate": "70",
    "consciousness": "A",
    "temperature": "37.0",
}


def news2(rows: list[dict], **units: str) -> pd.DataFrame:
    return score_frame("news2", pd.DataFrame(rows, dtype=str), units)


def test_each_problem_is_named_and_all_are_listed():
    rows = [
        VITALS,
        {**VITALS, "respiratory_rate": ""},
        {**VITALS, "heart_rate": "fast", "on_oxygen": "maybe"},
        {**VITALS, "spo2": "101", "consciousness": "Z"},
        {**VITALS, "respiratory_rate": "NA", "temperature": "nan"},
    ]
    scored = news2(rows)
    assert scored["status"].tolist() == ["ok"] + ["not computable"] * 4
    assert scored["reason"].tolist() == [
        "",
        "missing respiratory_rate",
        "on_oxygen 'maybe' is not true|false; heart_rate 'fast' is not 0–350 /min",
        "spo2 101 % outside the plausible 0–100 %; consciousness 'Z' is not A|C|V|P|U",
        "missing respiratory_rate; missing temperature",
    ]
    assert scored.loc[1:, ["news2", "risk", "monitoring", "response"]].isna().all().all()


def test_nan_and_infinity_are_not_numbers_here():
    scored = news2(
        [{**VITALS, "heart_rate": "inf"}, {**VITALS, "heart_rate": " nan "}, {**VITALS, "spo2": " 97 "}]
    )
    assert scored["reason"].tolist() == ["heart_rate 'inf' is not 0–350 /min", "missing heart_rate", ""]


def test_a_long_bad_cell_is_quoted_short():
    reason = news2([{**VITALS, "consciousness": "x" * 500}]).iloc[0]["reason"]
    assert reason == "consciousness '" + "x" * 40 + "…' is not A|C|V|P|U"


def test_the_rest_of_the_rows_are_scored_and_nothing_is_dropped():
    rows = [VITALS, {**VITALS, "spo2": ""}, {**VITALS, "consciousness": "v"}]
    scored = news2(rows)
    assert len(scored) == 3
    assert scored["news2"].tolist()[0::2] == [0, 3]  # lower-case 'v' is accepted as V


def test_input_columns_come_back_unchanged_and_first():
    rows = [{"patient": "p1", **VITALS, "ward": "7B"}]
    scored = news2(rows)
    assert list(scored.columns[:10]) == ["patient", *VITALS, "ward"]
    assert scored.iloc[0]["temperature"] == "37.0"


def test_a_unit_for_the_whole_column_and_an_unknown_unit():
    assert news2([{**VITALS, "temperature": "98.6"}], temperature="[degF]").iloc[0]["news2"] == 0
    result = news2([VITALS], temperature="furlong").iloc[0]
    assert result["status"] == "not computable"
    assert result["reason"] == "temperature: 'furlong' is not a unit convertible to Cel"


def test_a_per_row_unit_overrides_the_column_unit():
    rows = [{**VITALS, "temperature": "310.15", "temperature_unit": "K"}, {**VITALS, "temperature_unit": ""}]
    assert news2(rows, temperature="Cel")["news2"].tolist() == [0, 0]


def test_an_absent_required_column_is_an_error_for_the_whole_input():
    frame = pd.DataFrame([VITALS]).drop(columns=["spo2", "heart_rate"])
    with pytest.raises(ScoreError, match="needs the column\\(s\\) spo2, heart_rate"):
        score_frame("news2", frame)


def test_output_names_that_clash_with_input_columns_are_refused():
    with pytest.raises(ScoreError, match="already has column\\(s\\) risk"):
        score_frame("news2", pd.DataFrame([{**VITALS, "risk": "x"}]))


def test_unknown_score_and_unknown_unit_column():
    with pytest.raises(ScoreError, match="no score 'news3'"):
        score_frame("news3", pd.DataFrame([VITALS]))
    with pytest.raises(ScoreError, match="news2 has no input pulse"):
        score_frame("news2", pd.DataFrame([VITALS]), {"pulse": "/min"})


def test_typed_frames_work_as_well_as_text():
    frame = pd.DataFrame(
        {
            "respiratory_rate": [16.0, np.nan],
            "spo2": [97, 97],
            "spo2_scale": [1, 2],
            "on_oxygen": [False, True],
            "systolic_bp": [120, 120],
            "heart_rate": [70, 70],
            "consciousness": ["A", "A"],
            "temperature": [37.0, 37.0],
        }
    )
    scored = score_frame("news2", frame)
    assert scored["status"].tolist() == ["ok", "not computable"]
    frame["heart_rate"] = [np.inf, 70.0]
    assert score_frame("news2", frame).loc[0, "reason"] == "heart_rate 'inf' is not 0–350 /min"


@pytest.mark.parametrize("name", list(SCORES))
def test_every_score_describes_itself(name):
    described = SCORES[name].describe()
    assert described["citation"] and described["validation"] and described["inputs"]
    assert {o["name"] for o in described["outputs"]} >= {"status", "reason"}
