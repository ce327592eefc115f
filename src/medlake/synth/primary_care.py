"""Health-centre visits: chronic-disease reviews, check-ups, follow-ups, well-child visits, minor illness.

Health centres hold the longitudinal record of every resident: the problem list, the yearly
labs that show whether diabetes and cholesterol are controlled, and the repeat prescriptions.
"""

from __future__ import annotations

from datetime import date

from medlake.synth import terminology as t
from medlake.synth.care import (
    Visit,
    acute_condition,
    clinic_start,
    close_visit,
    fever_vitals,
    lab_panel,
    open_visit,
    record_known_conditions,
    renew_prescriptions,
    routine_vitals,
    short_course,
)
from medlake.synth.life import ResidentLife
from medlake.synth.planning import Event
from medlake.synth.terminology import Concept, Unit

_PANDEMIC_REMOTE_CARE = (date(2020, 3, 16).toordinal(), date(2021, 6, 30).toordinal())


def _pick_class(life: ResidentLife, day: int, remote_share: float) -> dict[str, str]:
    """During the first pandemic year a share of routine contacts happened by phone or video."""
    if _PANDEMIC_REMOTE_CARE[0] <= day <= _PANDEMIC_REMOTE_CARE[1] and life.rng.random() < remote_share:
        return t.CLASS_VIRTUAL
    return t.CLASS_AMBULATORY


def review(life: ResidentLife, event: Event) -> None:
    """The yearly chronic-disease review: vitals, body measures, labs, problem list, repeat prescriptions."""
    rng, health, day = life.rng, life.health, event.day
    chart = life.health_centre_chart(day)
    visit = open_visit(
        chart, t.CLASS_AMBULATORY, t.ENCOUNTER_FOLLOW_UP, clinic_start(rng, day), rng.randrange(15, 35)
    )
    routine_vitals(visit, health, measure_body=True)
    added = record_known_conditions(visit, health)
    lab_panel(visit, _review_labs(life, day))
    renewed = renew_prescriptions(visit, health)
    if (
        health.has("atrial_fibrillation", day) or health.has("coronary_heart_disease", day)
    ) and rng.random() < 0.4:
        chart.procedure(t.ELECTROCARDIOGRAM, visit.start + 12, visit.start + 22, visit.ref, visit.meta)
        visit.items.append((t.ELECTROCARDIOGRAM.codeable(), 28.0))
    if renewed >= 4 and rng.random() < 0.5:
        chart.procedure(
            t.MEDICATION_RECONCILIATION, visit.start + 20, visit.start + 30, visit.ref, visit.meta
        )
        visit.items.append((t.MEDICATION_RECONCILIATION.codeable(), 18.0))
    close_visit(visit, rng.uniform(42, 62), tuple(added))


def _review_labs(life: ResidentLife, day: int) -> list[tuple[Concept, float, Unit]]:
    rng, health = life.rng, life.health
    age = health.resident.age_on(day)
    labs: list[tuple[Concept, float, Unit]] = []
    diabetic = health.has("diabetes", day)
    if diabetic or (age >= 40 and rng.random() < 0.5):
        hba1c = health.hba1c(rng, day)
        labs.append((t.GLUCOSE, health.glucose_mg_dl(rng, hba1c), t.MG_PER_DL))
        if diabetic or rng.random() < 0.4:
            labs.append((t.HBA1C, hba1c, t.PERCENT))
    if age >= 40 and (
        health.has("hyperlipidaemia", day) or health.has("coronary_heart_disease", day) or rng.random() < 0.5
    ):
        total, hdl = health.cholesterol_mg_dl(rng, day)
        labs += [(t.TOTAL_CHOLESTEROL, total, t.MG_PER_DL), (t.HDL_CHOLESTEROL, hdl, t.MG_PER_DL)]
    if diabetic or health.has("hypertension", day) or health.has("chronic_kidney_disease", day) or age >= 65:
        labs.append((t.EGFR, health.egfr(rng, day), t.EGFR_UNIT))
    return labs


def checkup(life: ResidentLife, event: Event) -> None:
    """A health check for someone without chronic disease: measures, and screening labs after 40."""
    rng, health, day = life.rng, life.health, event.day
    chart = life.health_centre_chart(day)
    visit = open_visit(
        chart, t.CLASS_AMBULATORY, t.ENCOUNTER_CHECK_UP, clinic_start(rng, day), rng.randrange(15, 30)
    )
    routine_vitals(visit, health, measure_body=True)
    added = record_known_conditions(visit, health)
    if health.resident.age_on(day) >= 40:
        lab_panel(visit, _review_labs(life, day))
    renew_prescriptions(visit, health)
    close_visit(visit, rng.uniform(40, 58), tuple(added))


def follow_up(life: ResidentLife, event: Event) -> None:
    """A short visit between reviews: blood pressure and pulse, sometimes an HbA1c, repeat prescriptions."""
    rng, health, day = life.rng, life.health, event.day
    chart = life.health_centre_chart(day)
    encounter_class = _pick_class(life, day, 0.35)
    minutes = rng.randrange(8, 20)
    visit = open_visit(chart, encounter_class, t.ENCOUNTER_FOLLOW_UP, clinic_start(rng, day), minutes)
    if encounter_class is not t.CLASS_VIRTUAL:
        routine_vitals(visit, health, measure_body=rng.random() < 0.2)
        if health.has("diabetes", day) and rng.random() < 0.4:
            lab_panel(visit, [(t.HBA1C, health.hba1c(rng, day), t.PERCENT)])
    added = record_known_conditions(visit, health)
    renew_prescriptions(visit, health)
    close_visit(
        visit,
        rng.uniform(22, 30) if encounter_class is t.CLASS_VIRTUAL else rng.uniform(30, 45),
        tuple(added),
    )


def well_child(life: ResidentLife, event: Event) -> None:
    """Growth monitoring in the first six years."""
    rng, health, day = life.rng, life.health, event.day
    chart = life.health_centre_chart(day)
    visit = open_visit(
        chart, t.CLASS_AMBULATORY, t.ENCOUNTER_WELL_CHILD, clinic_start(rng, day), rng.randrange(15, 30)
    )
    routine_vitals(visit, health, measure_body=True)
    record_known_conditions(visit, health)
    close_visit(visit, rng.uniform(38, 52))


_MINOR_ILLNESSES: dict[str, tuple[Concept, bool, float, int]] = {
    # key: (diagnosis, respiratory, typical fever in degrees above normal, days to resolution)
    "upper-respiratory": (t.UPPER_RESPIRATORY_INFECTION, True, 0.6, 7),
    "otitis-media": (t.OTITIS_MEDIA, False, 1.0, 7),
    "urinary-tract-infection": (t.URINARY_TRACT_INFECTION, False, 0.3, 5),
    "bronchitis": (t.ACUTE_BRONCHITIS, True, 0.7, 14),
}


def minor_illness(life: ResidentLife, event: Event) -> None:
    """A same-day appointment for a common infection, treated in primary care."""
    rng, health, day = life.rng, life.health, event.day
    concept, respiratory, fever, lasts = _MINOR_ILLNESSES[event.detail]
    chart = life.health_centre_chart(day)
    encounter_class = _pick_class(life, day, 0.3)
    visit = open_visit(
        chart, encounter_class, t.ENCOUNTER_SYMPTOM, clinic_start(rng, day), rng.randrange(8, 20), concept
    )
    if encounter_class is not t.CLASS_VIRTUAL:
        fever_vitals(visit, health, max(0.0, rng.gauss(fever, 0.4)), respiratory)
    onset = day - rng.randrange(0, 4)
    acute_condition(visit, concept, onset, lasts + rng.randrange(-2, 5))
    antibiotic = {
        "otitis-media": (t.AMOXICILLIN, 0.6),
        "urinary-tract-infection": (t.NITROFURANTOIN, 0.9),
        "bronchitis": (t.AMOXICILLIN, 0.3),
        "upper-respiratory": (t.PARACETAMOL, 0.15),
    }[event.detail]
    if rng.random() < antibiotic[1]:
        short_course(visit, antibiotic[0], concept, 5 if antibiotic[0] is not t.PARACETAMOL else 3)
    close_visit(visit, rng.uniform(28, 42), (concept,))


def consult_for_infection(
    life: ResidentLife, day: int, concept: Concept, fever: float, respiratory: bool, remote_share: float = 0.3
) -> Visit:
    """Open (and leave open) a health-centre consultation for an epidemic infection; the caller closes it."""
    rng, health = life.rng, life.health
    chart = life.health_centre_chart(day)
    encounter_class = _pick_class(life, day, remote_share)
    visit = open_visit(
        chart, encounter_class, t.ENCOUNTER_SYMPTOM, clinic_start(rng, day), rng.randrange(8, 20), concept
    )
    if encounter_class is not t.CLASS_VIRTUAL:
        fever_vitals(visit, health, max(0.0, rng.gauss(fever, 0.4)), respiratory)
    return visit
