"""Hospital care: emergency-department visits, emergency and elective admissions, deaths in hospital.

Admissions carry the data the early-warning work needs: ward observation rounds (NEWS2 vital
signs, consciousness and supplemental oxygen) at a frequency that rises with severity, and, for
the deteriorating minority, the escalation to intensive care that the truth file
``truth/deteriorations.csv`` records so that a score can be evaluated against it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from medlake.synth import clock
from medlake.synth import terminology as t
from medlake.synth.care import (
    Visit,
    acute_condition,
    close_visit,
    lab_panel,
    open_visit,
    record_known_conditions,
    spo2,
    vital,
)
from medlake.synth.chart import DISCHARGE, INPATIENT, Chart, meta, newer_version, reference
from medlake.synth.health import ONCE_DAILY, HealthProfile
from medlake.synth.inpatient import Course, Round, hospital_course, observation_round
from medlake.synth.life import ResidentLife
from medlake.synth.planning import Event
from medlake.synth.terminology import Concept, FhirDict, Unit

DETERIORATION_HEADER = (
    "institution",
    "patient_id",
    "encounter_id",
    "admitted",
    "deterioration_start",
    "escalation",
    "outcome",
)
_WARD_DAY_PRICE = (680.0, 980.0)
_ICU_DAY_PRICE = 2450.0


@dataclass(frozen=True, slots=True)
class Procedure:
    """A procedure done during a stay: ``offset`` minutes after admission, lasting ``minutes``."""

    concept: Concept
    offset: int
    minutes: int
    price: float


@dataclass(frozen=True, slots=True)
class Admission:
    """What a stay is for and how it is treated."""

    diagnosis: Concept
    infection: bool
    length_hours: tuple[float, float]
    deterioration_risk: float
    procedures: tuple[Procedure, ...] = ()
    drugs: tuple[Concept, ...] = ()
    kind: Concept = t.ENCOUNTER_EMERGENCY_ADMISSION
    chronic_key: str | None = None
    elective: bool = False


_RESPIRATORY_RATE = t.RESPIRATORY_RATE.codeable()
_OXYGEN_FLOW = t.INHALED_OXYGEN_FLOW.codeable()
_HEART_RATE = t.HEART_RATE.codeable()
_TEMPERATURE = t.BODY_TEMPERATURE.codeable()
_RESPONSIVENESS = t.LEVEL_OF_RESPONSIVENESS.codeable()


def ward_round(chart: Chart, encounter_ref: FhirDict, observation: Round) -> None:
    """One set of NEWS2 observations, each its own Observation resource, recorded minutes after."""
    when = clock.instant_text(observation.minute)
    record = meta(observation.minute + chart.rng.randrange(2, 25))
    vitals: list[tuple[FhirDict, float, Unit]] = [
        (_RESPIRATORY_RATE, observation.respiratory_rate, t.PER_MINUTE),
        (t.OXYGEN_SATURATION, observation.spo2, t.PERCENT),
    ]
    if observation.oxygen_flow is not None:
        vitals.append((_OXYGEN_FLOW, observation.oxygen_flow, t.LITRE_PER_MINUTE))
    for code, value, unit in vitals:
        chart.quantity(code, t.VITAL_SIGNS, value, unit, when, encounter_ref, record)
    chart.blood_pressure(observation.systolic, observation.diastolic, when, encounter_ref, record)
    chart.quantity(
        _HEART_RATE, t.VITAL_SIGNS, observation.heart_rate, t.PER_MINUTE, when, encounter_ref, record
    )
    chart.quantity(
        _TEMPERATURE, t.VITAL_SIGNS, observation.temperature, t.CELSIUS, when, encounter_ref, record
    )
    chart.coded_result(
        _RESPONSIVENESS, t.VITAL_SIGNS, t.ACVPU_ANSWERS[observation.acvpu], when, encounter_ref, record
    )


def admit(
    life: ResidentLife,
    day: int,
    admission: Admission,
    dies_at: int | None = None,
) -> tuple[Visit, Course]:
    """Write a whole inpatient stay and return the visit (for extra results) and its course."""
    rng, health = life.rng, life.health
    chart = life.hospital_chart(day)
    admitted = clock.at(day, rng.randrange(8 * 60, 15 * 60) if admission.elective else rng.randrange(0, 1440))
    if dies_at is not None:
        dies_at = max(dies_at, admitted + 12 * 60)
    deteriorating = dies_at is None and rng.random() < admission.deterioration_risk
    systolic, _ = health.blood_pressure(rng, day)
    course = hospital_course(
        rng,
        admitted,
        rng.uniform(*admission.length_hours),
        systolic,
        admission.infection,
        deteriorating=deteriorating,
        dies_at=dies_at,
        initial_severity=0.1 if admission.elective else None,
    )
    disposition = (
        t.DISCHARGED_DECEASED
        if course.died
        else (
            t.DISCHARGED_REHAB
            if admission.chronic_key == "stroke" and rng.random() < 0.4
            else t.DISCHARGED_HOME
        )
    )
    admit_source = {"admitSource": t.ADMIT_FROM_HOME if admission.elective else t.ADMIT_FROM_EMERGENCY}
    hospitalization = {**admit_source, "dischargeDisposition": disposition}
    # hosp-north's interface sends the encounter on admission and again at discharge (two versions).
    in_progress = chart.institution.id == "hosp-north" and rng.random() < 0.3
    encounter = chart.encounter(
        t.CLASS_INPATIENT,
        admission.kind,
        admitted,
        course.discharged,
        meta(admitted + 30 if in_progress else course.discharged + rng.randrange(10, 600)),
        admission.diagnosis,
        admit_source if in_progress else hospitalization,
        status="in-progress" if in_progress else "finished",
    )
    ref = reference(encounter)
    record = meta(admitted + rng.randrange(30, 240))
    visit = Visit(
        chart, encounter, ref, admitted, course.discharged, clock.instant_text(admitted + 15), record
    )

    if admission.chronic_key:
        chart.chronic_recorded.add(admission.chronic_key)
    chart.condition(admission.diagnosis, t.ENCOUNTER_DIAGNOSIS, clock.day_text(day), visit.when, ref, record)
    comorbidities = tuple(record_known_conditions(visit, health))

    for observation in course.rounds:
        ward_round(chart, ref, observation)
    _inpatient_labs(visit, course, admission.infection, health)
    for procedure in admission.procedures:
        start = admitted + procedure.offset
        chart.procedure(procedure.concept, start, start + procedure.minutes, ref, record, admission.diagnosis)
        visit.items.append((procedure.concept.codeable(), procedure.price * rng.uniform(0.9, 1.15)))
    _escalation(visit, course, admission.diagnosis)
    _medication(visit, course, admission, health)

    ward_days = max(1, round((course.discharged - admitted) / clock.MINUTES_PER_DAY))
    if course.icu_until is not None and course.escalation is not None:
        icu_days = max(1, round((course.icu_until - course.escalation) / clock.MINUTES_PER_DAY))
        ward_days = max(1, ward_days - icu_days)
        visit.items.append((t.ICU_ADMISSION.codeable(), icu_days * _ICU_DAY_PRICE))
    fee = ward_days * rng.uniform(*_WARD_DAY_PRICE)
    if in_progress:
        chart.emit(
            newer_version(
                encounter,
                course.discharged + rng.randrange(10, 600),
                status="finished",
                period={"start": clock.instant_text(admitted), "end": clock.instant_text(course.discharged)},
                hospitalization=hospitalization,
            )
        )
    close_visit(visit, fee, (admission.diagnosis, *comorbidities), urgent=not admission.elective)

    if course.deterioration_start is not None:
        life.context.writer.truth_row(
            "deteriorations",
            (
                chart.institution.id,
                chart.patient_id,
                encounter["id"],
                clock.instant_text(admitted),
                clock.instant_text(course.deterioration_start),
                clock.instant_text(course.escalation or admitted),
                "died" if course.died else "intensive-care",
            ),
        )
    if course.died:
        life.died_in = chart.institution.id
        chart.update_patient(
            course.discharged + rng.randrange(20, 180), deceasedDateTime=clock.instant_text(course.discharged)
        )
    return visit, course


def _inpatient_labs(visit: Visit, course: Course, infection: bool, health: HealthProfile) -> None:
    """Admission bloods, then daily inflammation markers for infections (rising while deteriorating)."""
    rng, day = visit.rng, visit.day
    hba1c = health.hba1c(rng, day)
    crp = rng.uniform(60, 220) if infection else rng.uniform(2, 15)
    lab_panel(
        visit,
        [
            (t.C_REACTIVE_PROTEIN, round(crp, 1), t.MG_PER_L),
            (
                t.LEUKOCYTES,
                round(rng.uniform(11, 19) if infection else rng.uniform(5, 10), 1),
                t.THOUSAND_PER_UL,
            ),
            (t.GLUCOSE, health.glucose_mg_dl(rng, hba1c), t.MG_PER_DL),
            (t.EGFR, health.egfr(rng, day), t.EGFR_UNIT),
        ],
        specimen=course.admitted + 40,
    )
    if not infection:
        return
    specimen = course.admitted + clock.MINUTES_PER_DAY
    for _ in range(6):
        if specimen >= course.discharged - 6 * 60:
            break
        worsening = (
            course.deterioration_start is not None
            and specimen >= course.deterioration_start
            and (course.died or specimen < (course.escalation or specimen))
        )
        crp = max(3.0, crp * (1.3 if worsening else 0.7) * rng.uniform(0.85, 1.1))
        lab_panel(
            visit,
            [
                (t.C_REACTIVE_PROTEIN, round(crp, 1), t.MG_PER_L),
                (t.LEUKOCYTES, round(max(3.0, rng.gauss(15 if worsening else 9, 2)), 1), t.THOUSAND_PER_UL),
            ],
            specimen=specimen,
        )
        specimen += clock.MINUTES_PER_DAY


def _escalation(visit: Visit, course: Course, diagnosis: Concept) -> None:
    chart = visit.chart
    started = course.oxygen_started
    if started is not None:
        end = course.escalation if course.escalation and course.escalation > started else course.discharged
        chart.procedure(t.OXYGEN_THERAPY, started, end, visit.ref, visit.meta, diagnosis)
        visit.items.append((t.OXYGEN_THERAPY.codeable(), 60.0))
    if course.icu_until is not None and course.escalation is not None:
        chart.procedure(
            t.ICU_ADMISSION, course.escalation, course.escalation + 45, visit.ref, visit.meta, diagnosis
        )


def _medication(visit: Visit, course: Course, admission: Admission, health: HealthProfile) -> None:
    """Inpatient drugs for the stay, then discharge prescriptions for newly started long-term drugs."""
    chart = visit.chart
    stay_days = max(1, round((course.discharged - course.admitted) / clock.MINUTES_PER_DAY))
    for drug in admission.drugs:
        chart.medication_request(
            drug, admission.diagnosis, visit.day, stay_days, ONCE_DAILY, visit.ref, visit.meta, INPATIENT
        )
    if course.died:
        return
    discharge_day = clock.day_of(course.discharged)
    discharge_meta = meta(course.discharged + visit.rng.randrange(10, 240))
    for prescription in health.prescriptions:
        if visit.day - 3 <= prescription.start_day <= discharge_day + 14:
            chart.medication_request(
                prescription.drug,
                health.diagnoses[prescription.reason].concept,
                discharge_day,
                30,
                prescription.dosage,
                visit.ref,
                discharge_meta,
                DISCHARGE,
            )


# ----------------------------------------------------------------------------- admissions by cause
_CHEST_X_RAY = Procedure(t.CHEST_X_RAY, 60, 15, 85.0)
STROKE = Admission(
    t.STROKE,
    False,
    (96, 300),
    0.08,
    (Procedure(t.CT_OF_HEAD, 40, 20, 320.0),),
    (t.ASPIRIN,),
    chronic_key="stroke",
)
MYOCARDIAL_INFARCTION = Admission(
    t.MYOCARDIAL_INFARCTION,
    False,
    (60, 150),
    0.08,
    (
        Procedure(t.ELECTROCARDIOGRAM, 10, 10, 35.0),
        Procedure(t.CORONARY_ANGIOGRAPHY, 120, 45, 1500.0),
        Procedure(t.PERCUTANEOUS_CORONARY_INTERVENTION, 170, 60, 5200.0),
    ),
    (t.ASPIRIN,),
)
ATRIAL_FIBRILLATION = Admission(
    t.ATRIAL_FIBRILLATION,
    False,
    (20, 60),
    0.03,
    (Procedure(t.ELECTROCARDIOGRAM, 10, 10, 35.0),),
    (t.METOPROLOL,),
    chronic_key="atrial_fibrillation",
)
PNEUMONIA = Admission(t.PNEUMONIA, True, (72, 200), 0.14, (_CHEST_X_RAY,), (t.AMOXICILLIN,))
SEPSIS = Admission(t.SEPSIS, True, (96, 290), 0.3, (), (t.CEFTRIAXONE,))
INFLUENZA = Admission(t.INFLUENZA, True, (72, 170), 0.18, (_CHEST_X_RAY,), (t.OSELTAMIVIR,))
COVID_19 = Admission(t.COVID_19, True, (96, 340), 0.28, (_CHEST_X_RAY,), (t.DEXAMETHASONE,))
SALMONELLOSIS = Admission(t.SALMONELLOSIS, True, (48, 100), 0.04, (), (t.CIPROFLOXACIN,))
KNEE_REPLACEMENT = Admission(
    t.OSTEOARTHRITIS_OF_KNEE,
    False,
    (60, 120),
    0.01,
    (Procedure(t.TOTAL_KNEE_REPLACEMENT, 180, 120, 8200.0),),
    kind=t.ENCOUNTER_ELECTIVE_ADMISSION,
    elective=True,
)


def ed_fee(life: ResidentLife) -> float:
    return life.rng.uniform(180, 420)


def emergency_visit(
    life: ResidentLife, day: int, diagnosis: Concept, severity: float, infection: bool
) -> Visit:
    """Open an emergency-department visit with one set of triage observations; the caller closes it."""
    rng, health = life.rng, life.health
    chart = life.hospital_chart(day)
    visit = open_visit(
        chart,
        t.CLASS_EMERGENCY,
        t.ENCOUNTER_EMERGENCY,
        clock.at(day, rng.randrange(0, 1440)),
        rng.randrange(90, 420),
        diagnosis,
    )
    systolic, _ = health.blood_pressure(rng, day)
    ward_round(chart, visit.ref, observation_round(rng, visit.start + 10, severity, systolic, infection))
    return visit


def chronic_emergency(life: ResidentLife, event: Event) -> None:
    """The first, acute presentation of a chronic cardiovascular disease."""
    key, day, rng = event.detail, event.day, life.rng
    if key == "stroke":
        admit(life, day, STROKE)
    elif key == "coronary_heart_disease":
        admit(life, day, MYOCARDIAL_INFARCTION)
    elif rng.random() < 0.35:
        admit(life, day, ATRIAL_FIBRILLATION)
    else:
        visit = emergency_visit(life, day, t.ATRIAL_FIBRILLATION, 0.2, infection=False)
        chart = visit.chart
        chart.procedure(t.ELECTROCARDIOGRAM, visit.start + 15, visit.start + 25, visit.ref, visit.meta)
        visit.items.append((t.ELECTROCARDIOGRAM.codeable(), 35.0))
        chart.chronic_recorded.add("atrial_fibrillation")
        chart.condition(
            t.ATRIAL_FIBRILLATION,
            t.ENCOUNTER_DIAGNOSIS,
            clock.day_text(day),
            visit.when,
            visit.ref,
            visit.meta,
        )
        for prescription in life.health.prescriptions:
            if prescription.reason == "atrial_fibrillation" and day <= prescription.start_day <= day + 21:
                chart.medication_request(
                    prescription.drug,
                    t.ATRIAL_FIBRILLATION,
                    day,
                    30,
                    prescription.dosage,
                    visit.ref,
                    visit.meta,
                    DISCHARGE,
                )
        close_visit(visit, ed_fee(life), (t.ATRIAL_FIBRILLATION,), urgent=True)


def severe_infection(life: ResidentLife, event: Event) -> None:
    """Community-acquired pneumonia or sepsis needing admission (mostly the elderly)."""
    admission = PNEUMONIA if event.detail == "pneumonia" else SEPSIS
    if life.resident.age_on(event.day) >= 75:
        admission = replace(admission, deterioration_risk=admission.deterioration_risk * 1.4)
    admit(life, event.day, admission)


_INJURIES: dict[str, tuple[Concept, Procedure, int]] = {
    "fracture": (t.FRACTURE_OF_FOREARM, Procedure(t.BONE_IMMOBILIZATION, 60, 30, 180.0), 42),
    "sprain": (t.SPRAIN_OF_ANKLE, Procedure(t.ANKLE_X_RAY, 30, 15, 65.0), 21),
    "laceration": (t.LACERATION_OF_HAND, Procedure(t.SUTURE_OF_WOUND, 40, 25, 120.0), 14),
    "concussion": (t.CONCUSSION, Procedure(t.CT_OF_HEAD, 50, 20, 320.0), 14),
}


def injury(life: ResidentLife, event: Event) -> None:
    """An emergency-department visit for an injury: falls in the old, sport and play in the young."""
    rng, day = life.rng, event.day
    age = life.resident.age_on(day)
    weights = (50, 15, 20, 15) if age >= 65 else (28, 32, 25, 15)
    kind = rng.choices(tuple(_INJURIES), weights=weights)[0]
    concept, procedure, heals = _INJURIES[kind]
    visit = emergency_visit(life, day, concept, rng.uniform(0.0, 0.2), infection=False)
    chart = visit.chart
    acute_condition(visit, concept, day, heals + rng.randrange(-5, 10))
    if kind != "concussion" or rng.random() < 0.4:
        start = visit.start + procedure.offset
        chart.procedure(procedure.concept, start, start + procedure.minutes, visit.ref, visit.meta, concept)
        visit.items.append((procedure.concept.codeable(), procedure.price))
    if rng.random() < 0.5:
        chart.medication_request(t.PARACETAMOL, concept, day, 5, ONCE_DAILY, visit.ref, visit.meta, DISCHARGE)
    close_visit(visit, ed_fee(life), (concept,), urgent=True)


def elective(life: ResidentLife, event: Event) -> None:
    """Planned hospital care: endoscopy and eye surgery as day cases, joint replacement as a stay."""
    rng, day, kind = life.rng, event.day, event.detail
    if kind == "knee-replacement":
        admit(life, day, KNEE_REPLACEMENT)
        return
    chart = life.hospital_chart(day)
    diagnosis = {"cataract": t.CATARACT, "coronary-angiography": t.CORONARY_HEART_DISEASE}.get(kind)
    visit = open_visit(
        chart,
        t.CLASS_AMBULATORY,
        t.ENCOUNTER_PROBLEM,
        clock.at(day, rng.randrange(7 * 60, 14 * 60)),
        rng.randrange(120, 360),
        diagnosis,
    )
    systolic, diastolic = life.health.blood_pressure(rng, day)
    chart.blood_pressure(systolic, diastolic, visit.when, visit.ref, visit.meta)
    vital(visit, "hr", life.health.heart_rate(rng, day), t.PER_MINUTE)
    spo2(visit, min(100, round(rng.gauss(97, 1))))
    procedures: list[Procedure] = []
    if kind == "colonoscopy":
        procedures.append(Procedure(t.COLONOSCOPY, 45, 35, 520.0))
    elif kind == "cataract":
        procedures.append(Procedure(t.CATARACT_EXTRACTION, 60, 30, 1050.0))
        chart.condition(
            t.CATARACT,
            t.ENCOUNTER_DIAGNOSIS,
            clock.day_text(day - rng.randrange(60, 400)),
            visit.when,
            visit.ref,
            visit.meta,
        )
    else:
        procedures.append(Procedure(t.CORONARY_ANGIOGRAPHY, 60, 45, 1500.0))
        if rng.random() < 0.5:
            procedures.append(Procedure(t.PERCUTANEOUS_CORONARY_INTERVENTION, 110, 60, 5200.0))
        chart.chronic_recorded.add("coronary_heart_disease")
        chart.condition(
            t.CORONARY_HEART_DISEASE,
            t.PROBLEM_LIST,
            clock.day_text(life.health.diagnoses["coronary_heart_disease"].onset_day),
            visit.when,
            visit.ref,
            visit.meta,
        )
    for procedure in procedures:
        start = visit.start + procedure.offset
        chart.procedure(procedure.concept, start, start + procedure.minutes, visit.ref, visit.meta, diagnosis)
        visit.items.append((procedure.concept.codeable(), procedure.price * rng.uniform(0.9, 1.1)))
    close_visit(visit, rng.uniform(140, 260), (diagnosis,) if diagnosis else ())


def terminal_admission(life: ResidentLife, event: Event) -> None:
    """The last admission of a resident who dies in hospital: a deterioration that ends in death."""
    rng, resident = life.rng, life.resident
    death_day = resident.death_day
    if death_day is None:
        return
    cause = rng.choices((PNEUMONIA, SEPSIS, STROKE, MYOCARDIAL_INFARCTION), weights=(45, 30, 15, 10))[0]
    dies_at = clock.at(death_day, rng.randrange(0, 1440))
    admitted_floor = clock.at(event.day, 0) + 4 * 60
    dies_at = max(dies_at, admitted_floor + 20 * 60)
    admit(life, event.day, cause, dies_at=dies_at)
