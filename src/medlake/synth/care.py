"""Building blocks shared by every kind of visit: vitals, labs, diagnoses, prescriptions, the bill.

A :class:`Visit` is an open Encounter that collects billable items as things are done in it;
closing it writes the Claim.  The prices are list prices of a statutory fee schedule, in euros,
with some spread between institutions and visits so that cost analytics has variance to explain.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from medlake.synth import clock
from medlake.synth import terminology as t
from medlake.synth.chart import COMMUNITY, Chart, lab_code, meta, newer_version, reference
from medlake.synth.health import HealthProfile
from medlake.synth.terminology import Concept, FhirDict, Unit

#: Price of a laboratory test, by concept text.
# fmt: off
LAB_PRICES: dict[str, float] = {
    "Glucose": 4.5, "HbA1c": 11.0, "Total cholesterol": 5.0, "HDL cholesterol": 6.0, "eGFR": 6.5,
    "CRP": 8.0, "White cell count": 5.5, "SARS-CoV-2 PCR": 45.0, "Influenza A PCR": 38.0,
    "Influenza B PCR": 38.0, "Stool culture": 24.0,
}
# fmt: on
_VITAL_CODE = {
    "hr": t.HEART_RATE.codeable(),
    "rr": t.RESPIRATORY_RATE.codeable(),
    "temp": t.BODY_TEMPERATURE.codeable(),
    "weight": t.BODY_WEIGHT.codeable(),
    "height": t.BODY_HEIGHT.codeable(),
    "bmi": t.BMI.codeable(),
    "o2": t.INHALED_OXYGEN_FLOW.codeable(),
    "acvpu": t.LEVEL_OF_RESPONSIVENESS.codeable(),
}


@dataclass(slots=True)
class Visit:
    """An encounter being written: where to attach resources and what to bill."""

    chart: Chart
    encounter: FhirDict
    ref: FhirDict
    start: int
    end: int
    when: str
    meta: FhirDict
    items: list[tuple[FhirDict, float]] = field(default_factory=list)

    @property
    def rng(self) -> random.Random:
        return self.chart.rng

    @property
    def day(self) -> int:
        return clock.day_of(self.start)


def open_visit(
    chart: Chart,
    encounter_class: FhirDict,
    kind: Concept,
    start: int,
    minutes: int,
    reason: Concept | None = None,
    hospitalization: FhirDict | None = None,
) -> Visit:
    """Write the Encounter of a visit that starts at ``start`` and lasts ``minutes``."""
    end = start + minutes
    record = meta(end + chart.rng.randrange(5, 240))
    encounter = chart.encounter(encounter_class, kind, start, end, record, reason, hospitalization)
    return Visit(chart, encounter, reference(encounter), start, end, clock.instant_text(start + 5), record)


def close_visit(visit: Visit, fee: float, diagnoses: tuple[Concept, ...] = (), urgent: bool = False) -> None:
    """Bill the visit: the consultation itself first, then everything done during it."""
    items = [(visit.encounter["type"][0], fee), *visit.items]
    created = visit.end + visit.rng.randrange(60, 4 * 1440)
    visit.chart.claim(
        visit.ref, visit.start, visit.end, created, items, meta(created + 30), diagnoses, urgent
    )


def clinic_start(rng: random.Random, day: int) -> int:
    """A consultation slot in opening hours."""
    return clock.at(day, rng.randrange(8 * 60, 17 * 60 + 30))


# ----------------------------------------------------------------------------- vital signs
def vital(visit: Visit, key: str, value: float, unit: Unit) -> None:
    visit.chart.quantity(_VITAL_CODE[key], t.VITAL_SIGNS, value, unit, visit.when, visit.ref, visit.meta)


def spo2(visit: Visit, value: int, when: str | None = None, record_meta: FhirDict | None = None) -> None:
    visit.chart.quantity(
        t.OXYGEN_SATURATION,
        t.VITAL_SIGNS,
        value,
        t.PERCENT,
        when or visit.when,
        visit.ref,
        record_meta or visit.meta,
    )


def routine_vitals(visit: Visit, health: HealthProfile, measure_body: bool) -> None:
    """Blood pressure and pulse for everyone over 3; weight, height and BMI when ``measure_body``."""
    rng, day = visit.rng, visit.day
    age = health.resident.age_on(day)
    if age >= 3:
        systolic, diastolic = health.blood_pressure(rng, day)
        visit.chart.blood_pressure(systolic, diastolic, visit.when, visit.ref, visit.meta)
    vital(visit, "hr", health.heart_rate(rng, day), t.PER_MINUTE)
    if measure_body:
        weight = health.weight_kg(rng, day)
        height = health.height_cm(day)
        vital(visit, "weight", weight, t.KILOGRAM)
        if age < 18 or rng.random() < 0.3:
            vital(visit, "height", round(height, 1), t.CENTIMETRE)
        if age >= 2:
            vital(visit, "bmi", round(weight / (height / 100) ** 2, 1), t.KG_PER_M2)


def fever_vitals(visit: Visit, health: HealthProfile, fever: float, respiratory: bool) -> None:
    """Temperature and pulse for an acute illness; respiratory rate and SpO2 for chest symptoms."""
    rng = visit.rng
    vital(visit, "temp", round(36.7 + fever + rng.gauss(0, 0.3), 1), t.CELSIUS)
    vital(visit, "hr", health.heart_rate(rng, visit.day) + round(fever * 9), t.PER_MINUTE)
    if respiratory:
        vital(visit, "rr", round(16 + 2.5 * fever + rng.gauss(0, 1.5)), t.PER_MINUTE)
        spo2(visit, min(100, round(97.5 - 1.2 * fever + rng.gauss(0, 0.8))))


# ----------------------------------------------------------------------------- laboratory
def lab_panel(visit: Visit, results: list[tuple[Concept, float, Unit]], specimen: int | None = None) -> None:
    """Write lab results taken during the visit and reported hours later.

    A few results first arrive as ``preliminary`` and are re-sent as ``final`` (a second version
    of the same resource), which is how laboratory interfaces really behave.
    """
    chart, rng = visit.chart, visit.rng
    if specimen is None:
        specimen = visit.start + 10
    issued = specimen + rng.randrange(3 * 60, 30 * 60)
    record = meta(issued + rng.randrange(1, 30))
    specimen_text, issued_text = clock.instant_text(specimen), clock.instant_text(issued)
    for concept, value, unit in results:
        code = lab_code(chart.institution, concept)
        preliminary = rng.random() < 0.03
        observation = chart.quantity(
            code,
            t.LABORATORY,
            value,
            unit,
            specimen_text,
            visit.ref,
            record,
            issued_text,
            "preliminary" if preliminary else "final",
        )
        if preliminary:
            chart.emit(newer_version(observation, issued + rng.randrange(6 * 60, 48 * 60), status="final"))
        visit.items.append((code, LAB_PRICES[concept.text]))


@dataclass(frozen=True, slots=True)
class LabResult:
    """A coded result and when its specimen was taken and its result released (minutes)."""

    observation: FhirDict
    specimen: int
    resulted: int

    @property
    def ref(self) -> FhirDict:
        return reference(self.observation)


def test_result(
    visit: Visit, concept: Concept, value: FhirDict, hours: tuple[int, int] = (12, 48)
) -> LabResult:
    """A coded test result (PCR, culture) for a specimen taken during the visit."""
    chart, rng = visit.chart, visit.rng
    specimen = visit.start + 10
    issued = specimen + rng.randrange(hours[0] * 60, hours[1] * 60)
    code = lab_code(chart.institution, concept)
    visit.items.append((code, LAB_PRICES[concept.text]))
    observation = chart.coded_result(
        code,
        t.LABORATORY,
        value,
        clock.instant_text(specimen),
        visit.ref,
        meta(issued + 15),
        clock.instant_text(issued),
    )
    return LabResult(observation, specimen, issued)


# ----------------------------------------------------------------------------- diagnoses
def record_known_conditions(visit: Visit, health: HealthProfile) -> list[Concept]:
    """Put every chronic diagnosis known by now on this institution's problem list (once)."""
    chart, day = visit.chart, visit.day
    added = []
    for key, diagnosis in health.diagnoses.items():
        if diagnosis.onset_day <= day and key not in chart.chronic_recorded:
            chart.chronic_recorded.add(key)
            chart.condition(
                diagnosis.concept,
                t.PROBLEM_LIST,
                clock.day_text(diagnosis.onset_day),
                visit.when,
                visit.ref,
                visit.meta,
            )
            added.append(diagnosis.concept)
    return added


def acute_condition(
    visit: Visit, concept: Concept, onset_day: int, lasts_days: int, evidence: FhirDict | None = None
) -> FhirDict:
    """An encounter diagnosis for a self-limiting illness.

    Some records are written active and resolved later (a second version of the resource); some
    systems only send a diagnosis once its episode is closed (one version, already resolved, last
    updated at closing); and some records are never closed, as in real problem lists.
    """
    chart, rng = visit.chart, visit.rng
    abated = onset_day + lasts_days
    onset = clock.day_text(onset_day)
    closing = clock.at(max(abated, visit.day + 1), rng.randrange(8 * 60, 18 * 60))
    r = rng.random()
    if abated >= clock.AS_OF_DAY or r < 0.2:
        return chart.condition(
            concept, t.ENCOUNTER_DIAGNOSIS, onset, visit.when, visit.ref, visit.meta, evidence=evidence
        )
    resolved = {"clinicalStatus": t.RESOLVED, "abatementDateTime": clock.day_text(abated)}
    if r < 0.45:
        first = chart.condition(
            concept, t.ENCOUNTER_DIAGNOSIS, onset, visit.when, visit.ref, visit.meta, evidence=evidence
        )
        second = newer_version(first, closing, **resolved)
        chart.emit(second)
        return second
    return chart.condition(
        concept,
        t.ENCOUNTER_DIAGNOSIS,
        onset,
        visit.when,
        visit.ref,
        meta(closing),
        clinical=t.RESOLVED,
        abatement=clock.day_text(abated),
        evidence=evidence,
    )


# ----------------------------------------------------------------------------- prescriptions
def renew_prescriptions(visit: Visit, health: HealthProfile, category: list[FhirDict] = COMMUNITY) -> int:
    """Issue or renew (yearly) every long-term drug the resident is on; stop those that ended."""
    chart, day = visit.chart, visit.day
    issued = 0
    for prescription in health.prescriptions:
        key = prescription.drug.text
        last = chart.prescribed.get(key)
        if prescription.end_day is not None and prescription.end_day <= day:
            if last is not None and last[1]["status"] != "stopped":
                stop = clock.at(prescription.end_day, visit.rng.randrange(8 * 60, 18 * 60))
                stopped = newer_version(last[1], max(stop, clock.at(last[0] + 1, 0)), status="stopped")
                chart.emit(stopped)
                chart.prescribed[key] = (last[0], stopped)
            continue
        if not prescription.active_on(day) or (last is not None and day - last[0] < 330):
            continue
        resource = chart.medication_request(
            prescription.drug,
            health.diagnoses[prescription.reason].concept,
            day,
            365,
            prescription.dosage,
            visit.ref,
            visit.meta,
            category,
            repeats=3,
        )
        chart.prescribed[key] = (day, resource)
        issued += 1
    return issued


def short_course(visit: Visit, drug: Concept, reason: Concept, days: int, per_day: int = 3) -> None:
    """A short course of an acute medicine (antibiotic, antiviral, analgesic)."""
    dosage = [
        {
            "text": f"1 dose {per_day} times daily for {days} days",
            "timing": {
                "repeat": {
                    "frequency": per_day,
                    "period": 1,
                    "periodUnit": "d",
                    "boundsDuration": {"value": days, "unit": "d", "system": t.UCUM, "code": "d"},
                }
            },
        }
    ]
    visit.chart.medication_request(drug, reason, visit.day, days, dosage, visit.ref, visit.meta)
