"""NEWS2, the National Early Warning Score 2 (Royal College of Physicians, 2017).

Each parameter scores 0–3 by the RCP chart; the aggregate and the single-parameter "red score"
set the clinical risk and the RCP's clinical response. Every band is read as "up to and
including its top value", so a value between two chart rows (a respiration rate of 20.5/min, a
temperature of 38.05 °C) belongs to the higher row; integer readings, as the chart is drawn, are
unaffected. Respiration 21–24/min scores 2, as the chart says (some libraries score it 1).
"""

from __future__ import annotations

import numpy as np

from medlake.warn.scores.registry import Computed, Input, Output, Score


def _bands(values: np.ndarray, tops: tuple[float, ...], points: tuple[int, ...]) -> np.ndarray:
    """Points for each value: ``points[i]`` up to and including ``tops[i]``, the last beyond."""
    return np.asarray(points)[np.searchsorted(np.asarray(tops), values, side="left")]


def respiration_points(rate: np.ndarray) -> np.ndarray:
    return _bands(rate, (8, 11, 20, 24), (3, 1, 0, 2, 3))


def spo2_points(spo2: np.ndarray, scale: np.ndarray, on_oxygen: np.ndarray) -> np.ndarray:
    """Scale 1 for most patients; scale 2 (target 88–92 %, hypercapnic respiratory failure) as prescribed."""
    scale_1 = _bands(spo2, (91, 93, 95), (3, 2, 1, 0))
    on_air_2 = _bands(spo2, (83, 85, 87), (3, 2, 1, 0))
    on_oxygen_2 = _bands(spo2, (83, 85, 87, 92, 94, 96), (3, 2, 1, 0, 1, 2, 3))
    scale_2 = np.where(on_oxygen == 1, on_oxygen_2, on_air_2)
    return np.where(scale == "2", scale_2, scale_1)


def systolic_points(sbp: np.ndarray) -> np.ndarray:
    return _bands(sbp, (90, 100, 110, 219), (3, 2, 1, 0, 3))


def pulse_points(rate: np.ndarray) -> np.ndarray:
    return _bands(rate, (40, 50, 90, 110, 130), (3, 1, 0, 1, 2, 3))


def temperature_points(celsius: np.ndarray) -> np.ndarray:
    return _bands(celsius, (35.0, 36.0, 38.0, 39.0), (3, 1, 0, 1, 2))


# The RCP's clinical response to each risk (NEWS2 chart 4 "Clinical response to NEWS trigger thresholds").
MONITORING = {
    "zero": "minimum 12-hourly",
    "low": "minimum 4–6-hourly",
    "low-medium": "minimum 1-hourly",
    "medium": "minimum 1-hourly",
    "high": "continuous monitoring of vital signs",
}
RESPONSE = {
    "zero": "continue routine NEWS monitoring",
    "low": "inform registered nurse, who must assess the patient and decide whether increased "
    "frequency of monitoring or escalation of care is required",
    "low-medium": "registered nurse to inform the medical team caring for the patient, who will review "
    "and decide whether escalation of care is necessary",
    "medium": "registered nurse to immediately inform the medical team caring for the patient and request "
    "urgent assessment by a clinician or team with core competencies in the care of acutely ill patients; "
    "provide care in an environment with monitoring facilities",
    "high": "registered nurse to immediately inform the medical team caring for the patient (at least "
    "specialist registrar level); emergency assessment by a team with critical-care competencies, including "
    "advanced airway management; consider transfer to a level 2 or 3 care facility (HDU or ICU)",
}


RISKS = ("low", "low-medium", "medium", "high")
RESPONSE_KEYS = ("zero", *RISKS)  # an aggregate of 0 has its own response within "low"


def compute(x: dict[str, np.ndarray]) -> Computed:
    parts = np.stack(
        [
            respiration_points(x["respiratory_rate"]),
            spo2_points(x["spo2"], x["spo2_scale"], x["on_oxygen"]),
            np.where(x["on_oxygen"] == 1, 2, 0),
            systolic_points(x["systolic_bp"]),
            pulse_points(x["heart_rate"]),
            np.where(x["consciousness"] == "A", 0, 3),
            temperature_points(x["temperature"]),
        ]
    )
    total = parts.sum(axis=0)
    red = (parts == 3).any(axis=0)
    risk = np.select([total >= 7, total >= 5, red], [3, 2, 1], 0)
    response = np.where((risk == 0) & (total == 0), 0, risk + 1)
    return Computed(
        {
            "news2": total,
            "risk": np.asarray(RISKS, dtype=object)[risk],
            "monitoring": np.asarray([MONITORING[k] for k in RESPONSE_KEYS], dtype=object)[response],
            "response": np.asarray([RESPONSE[k] for k in RESPONSE_KEYS], dtype=object)[response],
        }
    )


SCORE = Score(
    name="news2",
    title="NEWS2 — National Early Warning Score 2 (acute-illness severity from vital signs)",
    citation="Royal College of Physicians. National Early Warning Score (NEWS) 2: Standardising the "
    "assessment of acute-illness severity in the NHS. Updated report of a working party. London: RCP, 2017.",
    validation="every band edge of the RCP NEWS2 chart (both sides of each threshold, SpO2 scales 1 and 2 on "
    "air and on oxygen), the aggregate bands and the single-parameter red score (tests/warn/test_news2.py)",
    inputs=(
        Input("respiratory_rate", "respiration rate", unit="/min", low=0, high=100, bounds="plausible"),
        Input("spo2", "peripheral oxygen saturation", unit="%", low=0, high=100, bounds="plausible"),
        Input(
            "spo2_scale", "SpO2 scale: 1, or 2 for prescribed target 88–92 %", "choice", choices=("1", "2")
        ),
        Input("on_oxygen", "on supplemental oxygen (false = air)", "boolean"),
        Input("systolic_bp", "systolic blood pressure", unit="mm[Hg]", low=0, high=350, bounds="plausible"),
        Input("heart_rate", "pulse", unit="/min", low=0, high=350, bounds="plausible"),
        Input(
            "consciousness",
            "ACVPU: alert, new confusion, voice, pain, unresponsive",
            "choice",
            choices=("A", "C", "V", "P", "U"),
        ),
        Input("temperature", "body temperature", unit="Cel", low=25, high=45, bounds="plausible"),
    ),
    outputs=(
        Output("news2", "aggregate score 0–20"),
        Output(
            "risk",
            "clinical risk: low (0–4), low-medium (a single parameter scoring 3), medium (5–6), high (≥ 7)",
        ),
        Output("monitoring", "RCP minimum monitoring frequency"),
        Output("response", "RCP clinical response (escalation)"),
    ),
    compute=compute,
    notes="Ranges are plausibility bounds that catch unit errors (98.6 for a temperature is °F, not °C); the "
    "chart itself has no lower or upper limit. spo2_scale 2 is for patients with a prescribed target of "
    "88–92 % (hypercapnic respiratory failure) only.",
)
