"""Epidemic and notifiable infections, followed from symptom onset through care to notification.

One episode can leave traces in three institutions: a health-centre consultation or an
emergency visit or an admission, a laboratory test, and, when the test is positive for a
notifiable disease, a case report at the agency.  Most episodes are never tested, which is why
notified counts are a fraction of consultations, and why both are worth surveilling.
"""

from __future__ import annotations

from datetime import date

from medlake.synth import clock, hospital_care
from medlake.synth import terminology as t
from medlake.synth.care import Visit, acute_condition, close_visit, short_course, test_result
from medlake.synth.life import ResidentLife
from medlake.synth.planning import Event
from medlake.synth.primary_care import consult_for_infection
from medlake.synth.public_health import notify

_PANDEMIC_TESTING = date(2020, 3, 1).toordinal()
_MASS_TESTING_ENDED = date(2023, 1, 1).toordinal()


def infection(life: ResidentLife, event: Event) -> None:
    """Follow one infectious episode (``event.detail`` names the disease) from its onset day."""
    _PATHWAYS[event.detail](life, event.day)


def _is_virtual(visit: Visit) -> bool:
    return visit.encounter["class"] is t.CLASS_VIRTUAL


def _influenza_like(life: ResidentLife, onset: int) -> None:
    """A consultation for influenza-like illness caused by something other than influenza."""
    rng = life.rng
    day = onset + rng.randrange(1, 4)
    visit = consult_for_infection(life, day, t.INFLUENZA_LIKE_ILLNESS, 1.3, respiratory=True)
    if not _is_virtual(visit):
        if rng.random() < 0.2:
            test_result(visit, t.INFLUENZA_A_PCR, t.NOT_DETECTED)
        if day >= _PANDEMIC_TESTING and rng.random() < 0.35:
            test_result(visit, t.SARS_COV_2_PCR, t.NOT_DETECTED)
    acute_condition(visit, t.INFLUENZA_LIKE_ILLNESS, onset, rng.randrange(6, 13))
    if rng.random() < 0.3:
        short_course(visit, t.PARACETAMOL, t.INFLUENZA_LIKE_ILLNESS, 3)
    close_visit(visit, rng.uniform(28, 42), (t.INFLUENZA_LIKE_ILLNESS,))


def _influenza(life: ResidentLife, onset: int) -> None:
    """Influenza: admission for the frail, a consultation for most, a swab and a notification for some."""
    rng, health = life.rng, life.health
    age = life.resident.age_on(onset)
    high_risk = age >= 65 or health.chronic_count(onset) > 0
    admit_probability = 0.06 if age >= 75 else 0.03 if age >= 65 else 0.02 if age < 5 else 0.004
    test = t.INFLUENZA_A_PCR if rng.random() < 0.75 else t.INFLUENZA_B_PCR
    if rng.random() < admit_probability * (1.8 if high_risk else 1.0):
        visit, _ = hospital_care.admit(life, onset + rng.randrange(2, 6), hospital_care.INFLUENZA)
        lab = test_result(visit, test, t.DETECTED, (4, 20))
        notify(life, t.INFLUENZA, onset, test, t.DETECTED, lab.specimen, lab.resulted)
        return
    if rng.random() >= 0.8:
        return  # stayed at home: never seen, never counted
    visit = consult_for_infection(
        life, onset + rng.randrange(1, 4), t.INFLUENZA_LIKE_ILLNESS, 1.6, respiratory=True
    )
    evidence = None
    if not _is_virtual(visit) and rng.random() < 0.3:
        lab = test_result(visit, test, t.DETECTED)
        evidence = lab.ref
        notify(life, t.INFLUENZA, onset, test, t.DETECTED, lab.specimen, lab.resulted)
    diagnosis = t.INFLUENZA if evidence else t.INFLUENZA_LIKE_ILLNESS
    acute_condition(visit, diagnosis, onset, rng.randrange(7, 15), evidence)
    if evidence and high_risk and rng.random() < 0.7:
        short_course(visit, t.OSELTAMIVIR, diagnosis, 5, per_day=2)
    elif rng.random() < 0.35:
        short_course(visit, t.PARACETAMOL, diagnosis, 3)
    close_visit(visit, rng.uniform(28, 42), (diagnosis,))


def _covid(life: ResidentLife, onset: int) -> None:
    """COVID-19: mostly a community test reported straight to the agency; admissions rise steeply with age."""
    rng = life.rng
    age = life.resident.age_on(onset)
    admit_probability = 0.1 if age >= 80 else 0.04 if age >= 65 else 0.012 if age >= 50 else 0.002
    if rng.random() < admit_probability * (1.5 if life.health.chronic_count(onset) else 1.0):
        visit, _ = hospital_care.admit(life, onset + rng.randrange(4, 10), hospital_care.COVID_19)
        lab = test_result(visit, t.SARS_COV_2_PCR, t.DETECTED, (3, 16))
        notify(life, t.COVID_19, onset, t.SARS_COV_2_PCR, t.DETECTED, lab.specimen, lab.resulted)
        return
    tested = rng.random() < (0.9 if onset < _MASS_TESTING_ENDED else 0.4)
    if tested:  # community testing site: the agency gets the lab result directly
        specimen = clock.at(onset + rng.randrange(0, 3), rng.randrange(8 * 60, 19 * 60))
        resulted = specimen + rng.randrange(8 * 60, 48 * 60)
        notify(life, t.COVID_19, onset, t.SARS_COV_2_PCR, t.DETECTED, specimen, resulted)
    if rng.random() < 0.12:
        diagnosis = t.COVID_19 if tested else t.INFLUENZA_LIKE_ILLNESS
        visit = consult_for_infection(
            life, onset + rng.randrange(2, 7), diagnosis, 1.0, True, remote_share=0.5
        )
        acute_condition(visit, diagnosis, onset, rng.randrange(7, 21))
        close_visit(visit, rng.uniform(25, 40), (diagnosis,))


def _gastroenteritis(life: ResidentLife, onset: int) -> None:
    """Gastroenteritis (norovirus-like): seen, rarely cultured, never notified."""
    rng = life.rng
    age = life.resident.age_on(onset)
    day = onset + rng.randrange(0, 3)
    if rng.random() < (0.15 if age < 5 or age >= 75 else 0.05):
        visit = hospital_care.emergency_visit(
            life, day, t.GASTROENTERITIS, rng.uniform(0.05, 0.3), infection=True
        )
        fee = hospital_care.ed_fee(life)
    else:
        visit = consult_for_infection(life, day, t.GASTROENTERITIS, 0.6, respiratory=False)
        fee = rng.uniform(28, 42)
    if not _is_virtual(visit) and rng.random() < 0.15:
        test_result(visit, t.STOOL_CULTURE, t.NO_PATHOGEN_ISOLATED, (24, 72))
    acute_condition(visit, t.GASTROENTERITIS, onset, rng.randrange(3, 8))
    close_visit(visit, fee, (t.GASTROENTERITIS,), urgent=visit.encounter["class"] is t.CLASS_EMERGENCY)


def _salmonellosis(life: ResidentLife, onset: int) -> None:
    """Salmonellosis: notified only when a stool culture is taken, which is why outbreaks are undercounted."""
    rng = life.rng
    age = life.resident.age_on(onset)
    if age >= 70 and rng.random() < 0.15:
        visit, _ = hospital_care.admit(life, onset + rng.randrange(1, 4), hospital_care.SALMONELLOSIS)
        lab = test_result(visit, t.STOOL_CULTURE, t.SALMONELLA_ORGANISM, (24, 72))
        notify(
            life,
            t.SALMONELLOSIS,
            onset,
            t.STOOL_CULTURE,
            t.SALMONELLA_ORGANISM,
            lab.specimen,
            lab.resulted,
        )
        return
    r = rng.random()
    if r >= 0.9:
        return  # mild, never seen
    day = onset + rng.randrange(1, 4)
    if r < 0.2:
        visit = hospital_care.emergency_visit(
            life, day, t.GASTROENTERITIS, rng.uniform(0.1, 0.35), infection=True
        )
        fee, cultured = hospital_care.ed_fee(life), rng.random() < 0.9
    else:
        visit = consult_for_infection(life, day, t.GASTROENTERITIS, 1.0, respiratory=False, remote_share=0.1)
        fee, cultured = rng.uniform(28, 42), not _is_virtual(visit) and rng.random() < 0.75
    diagnosis, evidence = t.GASTROENTERITIS, None
    if cultured:
        lab = test_result(visit, t.STOOL_CULTURE, t.SALMONELLA_ORGANISM, (24, 72))
        diagnosis, evidence = t.SALMONELLOSIS, lab.ref
        notify(
            life,
            t.SALMONELLOSIS,
            onset,
            t.STOOL_CULTURE,
            t.SALMONELLA_ORGANISM,
            lab.specimen,
            lab.resulted,
        )
        if rng.random() < 0.3:
            short_course(visit, t.CIPROFLOXACIN, diagnosis, 5, per_day=2)
    acute_condition(visit, diagnosis, onset, rng.randrange(4, 10), evidence)
    close_visit(visit, fee, (diagnosis,), urgent=visit.encounter["class"] is t.CLASS_EMERGENCY)


_PATHWAYS = {
    "ili": _influenza_like,
    "influenza": _influenza,
    "covid-19": _covid,
    "gastroenteritis": _gastroenteritis,
    "salmonellosis": _salmonellosis,
}
