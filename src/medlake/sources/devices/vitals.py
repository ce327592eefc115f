"""The vital signs bedside devices report, coded the way the lake expects them.

A compact reading names its measurement by LOINC code only; this table gives the display,
the UCUM unit a numeric value must carry, and the plausible range used to reject readings
that can only be device faults (a heart rate of 900 is a loose lead, not a patient). The
codes are the ones NEWS2 scores, so readings landed here feed the early-warning work as is.
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


@dataclass(frozen=True, slots=True)
class VitalSign:
    loinc: str
    display: str
    unit: str | None  # UCUM; None for coded values
    low: float | None = None
    high: float | None = None


HEART_RATE = VitalSign("8867-4", "Heart rate", "/min", 0, 350)
RESPIRATORY_RATE = VitalSign("9279-1", "Respiratory rate", "/min", 0, 120)
OXYGEN_SATURATION = VitalSign("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 0, 100)
BODY_TEMPERATURE = VitalSign("8310-5", "Body temperature", "Cel", 20, 45)
SYSTOLIC_BP = VitalSign("8480-6", "Systolic blood pressure", "mm[Hg]", 0, 350)
CONSCIOUSNESS = VitalSign("67775-7", "Level of responsiveness", None)

VITAL_SIGNS: dict[str, VitalSign] = {
    v.loinc: v
    for v in (HEART_RATE, RESPIRATORY_RATE, OXYGEN_SATURATION, BODY_TEMPERATURE, SYSTOLIC_BP, CONSCIOUSNESS)
}

#: ACVPU letter → SNOMED CT finding, as NEWS2 charts consciousness.
ACVPU: dict[str, tuple[str, str]] = {
    "A": ("248234008", "Mentally alert (finding)"),
    "C": ("130987000", "Acute confusion (finding)"),
    "V": ("300202002", "Responds to voice (finding)"),
    "P": ("450847001", "Responds to pain (finding)"),
    "U": ("422768004", "Unresponsive (finding)"),
}

VITAL_SIGNS_CATEGORY = {
    "coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]
}
