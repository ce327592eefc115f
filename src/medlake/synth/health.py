"""One resident's health: chronic diagnoses with onset dates, prescriptions, and physiology.

Measurements are drawn from a per-person physiology (baseline, slow drift, treatment effect,
visit-to-visit noise) rather than independently per visit, so that repeated blood pressures of a
treated hypertensive fall after treatment starts and a diabetic's HbA1c stays high: the
trajectories that cohort analytics and early-warning models are supposed to find.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from medlake.synth import clock
from medlake.synth import terminology as t
from medlake.synth.epidemiology import EARLIEST_ONSET_AGE, prevalence
from medlake.synth.population import Resident
from medlake.synth.terminology import Concept, FhirDict

CHRONIC_CONCEPTS: dict[str, Concept] = {
    "hypertension": t.HYPERTENSION,
    "diabetes": t.DIABETES_T2,
    "atrial_fibrillation": t.ATRIAL_FIBRILLATION,
    "coronary_heart_disease": t.CORONARY_HEART_DISEASE,
    "stroke": t.STROKE,
    "hyperlipidaemia": t.HYPERLIPIDAEMIA,
    "chronic_kidney_disease": t.CHRONIC_KIDNEY_DISEASE_3,
    "asthma": t.ASTHMA,
}
#: Conditions whose first appearance is an emergency (the rest are found at a health-centre visit).
ACUTE_ONSET: tuple[str, ...] = ("stroke", "coronary_heart_disease", "atrial_fibrillation")


def _dosage(text: str, per_day: int = 1) -> list[FhirDict]:
    return [{"text": text, "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}}}]


ONCE_DAILY = _dosage("1 tablet by mouth once daily")
TWICE_DAILY = _dosage("1 tablet by mouth twice daily", 2)
INSULIN_NIGHTLY = _dosage("10-30 units subcutaneously at bedtime, titrated to fasting glucose")
STATINS = (t.ATORVASTATIN, t.SIMVASTATIN)
ANTIHYPERTENSIVES = (t.LISINOPRIL, t.AMLODIPINE, t.HYDROCHLOROTHIAZIDE)
#: From mid-2020 new atrial-fibrillation patients are started on a DOAC rather than warfarin.
_DOACS_PREFERRED = date(2020, 6, 1).toordinal()
INHALER_AS_NEEDED = [{"text": "2 puffs inhaled as needed for wheeze", "asNeededBoolean": True}]


@dataclass(slots=True)
class Diagnosis:
    """A chronic condition and the day it began."""

    key: str
    concept: Concept
    onset_day: int


@dataclass(slots=True)
class Prescription:
    """A long-term drug a resident takes from ``start_day`` until ``end_day`` (None: still taking)."""

    drug: Concept
    reason: str
    start_day: int
    end_day: int | None
    dosage: list[FhirDict]

    def active_on(self, day: int) -> bool:
        return self.start_day <= day and (self.end_day is None or day < self.end_day)


@dataclass(slots=True)
class HealthProfile:
    """Diagnoses, prescriptions and physiological baselines of one resident."""

    resident: Resident
    diagnoses: dict[str, Diagnosis]
    prescriptions: list[Prescription]
    adult_height_cm: float
    growth_factor: float
    adult_bmi: float
    weight_trend_kg_per_year: float
    systolic_base: float
    heart_rate_base: float
    hba1c_base: float
    cholesterol_base: float
    hdl_base: float
    egfr_base: float
    smoker: bool

    # ------------------------------------------------------------------ state on a day
    def has(self, key: str, day: int) -> bool:
        diagnosis = self.diagnoses.get(key)
        return diagnosis is not None and diagnosis.onset_day <= day

    def on_drug(self, drugs: tuple[Concept, ...], day: int) -> bool:
        return any(p.drug in drugs and p.active_on(day) for p in self.prescriptions)

    def chronic_count(self, day: int) -> int:
        return sum(1 for d in self.diagnoses.values() if d.onset_day <= day)

    # ------------------------------------------------------------------ measurements
    def height_cm(self, day: int) -> float:
        age = self.resident.age_on(day)
        if age >= 18:
            return self.adult_height_cm
        # Roughly the WHO median: 50 cm at birth, 75 at 1, 87 at 2, then about 6 cm a year.
        if age < 1:
            median = 50 + 25 * age
        elif age < 2:
            median = 75 + 12 * (age - 1)
        else:
            median = 87 + 6.1 * (age - 2)
        return min(self.adult_height_cm, median * self.growth_factor)

    def weight_kg(self, rng: random.Random, day: int) -> float:
        age = self.resident.age_on(day)
        height_m = self.height_cm(day) / 100
        if age < 18:
            child_bmi = 16.5 + max(0.0, age - 6) * (self.adult_bmi - 16.5) / 12 if age > 6 else 16.0
            return round(child_bmi * height_m * height_m * rng.uniform(0.97, 1.03), 1)
        years = clock.age_on(clock.START_DAY, day)
        weight = self.adult_bmi * height_m * height_m + self.weight_trend_kg_per_year * years
        return round(max(35.0, weight + rng.gauss(0, 0.8)), 1)

    def blood_pressure(self, rng: random.Random, day: int) -> tuple[int, int]:
        """Systolic and diastolic pressure on ``day``.

        Hypertension builds up over the two years before it is diagnosed (+24 mmHg at onset),
        and treatment takes most of the excess away, so a patient's series rises, gets
        diagnosed, and falls again once the first antihypertensive is taken.
        """
        age = self.resident.age_on(day)
        if age < 12:
            return round(95 + 1.5 * age + rng.gauss(0, 6)), round(60 + age + rng.gauss(0, 5))
        systolic = self.systolic_base + 0.45 * max(0.0, age - 30)
        diagnosis = self.diagnoses.get("hypertension")
        if diagnosis is not None:
            since_onset = day - diagnosis.onset_day
            if since_onset < 0:
                systolic += 24 * max(0.0, 1 + since_onset / (2 * 365))
            elif self.on_drug(ANTIHYPERTENSIVES, day):
                systolic += 6
            else:
                systolic += 24
        systolic += rng.gauss(0, 7)
        diastolic = 0.5 * systolic + 18 + rng.gauss(0, 5) - 0.1 * max(0.0, age - 60)
        return round(systolic), round(diastolic)

    def heart_rate(self, rng: random.Random, day: int) -> int:
        age = self.resident.age_on(day)
        rate = self.heart_rate_base + (max(0.0, 10 - age) * 4.5)
        if self.has("atrial_fibrillation", day):
            rate += 12 + abs(rng.gauss(0, 12))
        if self.on_drug((t.METOPROLOL,), day):
            rate -= 10
        return round(rate + rng.gauss(0, 5))

    def hba1c(self, rng: random.Random, day: int) -> float:
        value = self.hba1c_base + 0.008 * max(0.0, self.resident.age_on(day) - 40)
        if self.has("diabetes", day):
            treated = self.on_drug((t.METFORMIN, t.INSULIN_GLARGINE, t.EMPAGLIFLOZIN), day)
            value += 1.6 if treated else 2.9
        return round(max(4.0, value + rng.gauss(0, 0.25)), 1)

    def glucose_mg_dl(self, rng: random.Random, hba1c: float) -> int:
        """Random blood glucose, from the ADAG relation between HbA1c and mean glucose."""
        return round(max(55.0, 28.7 * hba1c - 46.7 + rng.gauss(0, 14)))

    def cholesterol_mg_dl(self, rng: random.Random, day: int) -> tuple[int, int]:
        total = self.cholesterol_base + 0.6 * max(0.0, self.resident.age_on(day) - 30)
        if self.has("hyperlipidaemia", day):
            total += 45
        if self.on_drug(STATINS, day):
            total *= 0.72
        return round(total + rng.gauss(0, 12)), round(max(20.0, self.hdl_base + rng.gauss(0, 4)))

    def egfr(self, rng: random.Random, day: int) -> int:
        age = self.resident.age_on(day)
        value = self.egfr_base - 0.9 * max(0.0, age - 35)
        if self.has("diabetes", day):
            value -= 8
        if self.has("hypertension", day):
            value -= 5
        if self.has("chronic_kidney_disease", day):
            value = min(value, 48.0)
        return round(min(125.0, max(8.0, value + rng.gauss(0, 4))))


def draw_health(rng: random.Random, resident: Resident) -> HealthProfile:
    """Draw a resident's chronic conditions (prevalence rising with age) and the treatment they get."""
    male = resident.sex == "male"
    end_age = resident.age_on(resident.last_day)
    adult_bmi = min(52.0, max(16.5, rng.gauss(26.8 if male else 26.0, 4.6)))
    smoker = end_age >= 16 and rng.random() < 0.2
    risk = {
        "hypertension": 1 + 0.05 * (adult_bmi - 26),
        "diabetes": 1 + 0.16 * (adult_bmi - 26),
        "coronary_heart_disease": (1.25 if male else 0.7) * (1.3 if smoker else 1.0),
        "stroke": 1.1 if male else 0.9,
        "atrial_fibrillation": 1.2 if male else 0.85,
    }
    diagnoses: dict[str, Diagnosis] = {}
    for key in (
        "hypertension",
        "diabetes",
        "hyperlipidaemia",
        "asthma",
        "atrial_fibrillation",
        "coronary_heart_disease",
        "stroke",
        "chronic_kidney_disease",
    ):
        p = prevalence(key, end_age) * max(0.2, risk.get(key, 1.0))
        if key in ("coronary_heart_disease", "stroke") and "hypertension" in diagnoses:
            p *= 1.25
        if key == "coronary_heart_disease" and "diabetes" in diagnoses:
            p *= 1.3
        if key == "stroke" and "atrial_fibrillation" in diagnoses:
            p *= 2.5
        if key == "chronic_kidney_disease" and "diabetes" in diagnoses:
            p *= 2.0
        if rng.random() < p:
            onset_age = _onset_age(rng, key, end_age)
            onset_day = resident.birth_day + round(onset_age * clock.DAYS_PER_YEAR)
            diagnoses[key] = Diagnosis(key, CHRONIC_CONCEPTS[key], min(onset_day, resident.last_day))

    profile = HealthProfile(
        resident=resident,
        diagnoses=diagnoses,
        prescriptions=[],
        adult_height_cm=rng.gauss(177.5 if male else 164.5, 7.0 if male else 6.5),
        growth_factor=rng.gauss(1.0, 0.035),
        adult_bmi=adult_bmi,
        weight_trend_kg_per_year=rng.gauss(0.3, 0.7),
        systolic_base=rng.gauss(116 if male else 111, 9),
        heart_rate_base=rng.gauss(71, 8),
        hba1c_base=rng.gauss(5.3, 0.25),
        cholesterol_base=rng.gauss(175, 28),
        hdl_base=rng.gauss(48 if male else 60, 10),
        egfr_base=rng.gauss(108, 10),
        smoker=smoker,
    )
    profile.prescriptions = _prescriptions(rng, profile)
    return profile


def _onset_age(rng: random.Random, key: str, end_age: float) -> float:
    """Onsets cluster in the later part of life: most prevalent cases are recent, not lifelong."""
    earliest = min(EARLIEST_ONSET_AGE[key], end_age)
    return end_age - (end_age - earliest) * rng.random() ** 1.6


def _prescriptions(rng: random.Random, profile: HealthProfile) -> list[Prescription]:
    """Guideline-shaped treatment: first-line drugs at diagnosis, add-ons and switches years later."""
    found: list[Prescription] = []
    last = profile.resident.last_day

    def start(drug: Concept, reason: str, day: int, dosage: list[FhirDict] = ONCE_DAILY) -> Prescription:
        prescription = Prescription(drug, reason, day, None, dosage)
        found.append(prescription)
        return prescription

    def later(day: int, low: float, high: float) -> int | None:
        when = clock.years_later(day, rng.uniform(low, high))
        return when if when < last else None

    diagnoses = profile.diagnoses
    statin_started = False
    if (d := diagnoses.get("hypertension")) and rng.random() < 0.85:
        begin = d.onset_day + rng.randrange(14, 120)
        start(t.LISINOPRIL if rng.random() < 0.65 else t.AMLODIPINE, "hypertension", begin)
        if rng.random() < 0.35 and (add_on := later(begin, 0.5, 5)):
            start(t.HYDROCHLOROTHIAZIDE if rng.random() < 0.5 else t.AMLODIPINE, "hypertension", add_on)
    if d := diagnoses.get("diabetes"):
        begin = d.onset_day + rng.randrange(14, 90)
        start(t.METFORMIN, "diabetes", begin, TWICE_DAILY)
        if rng.random() < 0.2 and (insulin := later(begin, 2, 8)):
            start(t.INSULIN_GLARGINE, "diabetes", insulin, INSULIN_NIGHTLY)
        sglt2 = later(max(begin, clock.START_DAY + 400), 0, 3)
        if rng.random() < 0.15 and sglt2:
            start(t.EMPAGLIFLOZIN, "diabetes", sglt2)
    if d := diagnoses.get("atrial_fibrillation"):
        begin = d.onset_day + rng.randrange(1, 21)
        if begin < _DOACS_PREFERRED and rng.random() < 0.55:
            warfarin = start(t.WARFARIN, "atrial_fibrillation", begin)
            switch = later(max(begin, clock.START_DAY), 0.5, 5)
            if rng.random() < 0.5 and switch:
                warfarin.end_day = switch
                start(t.APIXABAN, "atrial_fibrillation", switch, TWICE_DAILY)
        else:
            start(t.APIXABAN, "atrial_fibrillation", begin, TWICE_DAILY)
    if d := diagnoses.get("coronary_heart_disease"):
        begin = d.onset_day + rng.randrange(1, 10)
        start(t.ASPIRIN, "coronary_heart_disease", begin)
        start(t.ATORVASTATIN, "coronary_heart_disease", begin)
        statin_started = True
        if rng.random() < 0.5:
            start(t.METOPROLOL, "coronary_heart_disease", begin)
    if d := diagnoses.get("stroke"):
        begin = d.onset_day + rng.randrange(2, 14)
        start(t.CLOPIDOGREL, "stroke", begin)
        if not statin_started:
            start(t.ATORVASTATIN, "stroke", begin)
            statin_started = True
    if (d := diagnoses.get("hyperlipidaemia")) and not statin_started and rng.random() < 0.8:
        start(
            t.ATORVASTATIN if rng.random() < 0.6 else t.SIMVASTATIN,
            "hyperlipidaemia",
            d.onset_day + rng.randrange(30, 180),
        )
    if d := diagnoses.get("asthma"):
        start(t.SALBUTAMOL, "asthma", d.onset_day + rng.randrange(1, 30), INHALER_AS_NEEDED)
    return [p for p in found if p.start_day <= last]
