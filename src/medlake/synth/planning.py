"""A resident's six years of care, planned as a dated list of events before any resource is written.

Planning first and writing second keeps causality simple: the writer walks the events in date
order and always knows what was diagnosed and prescribed before.  Rates are per person-year and
were tuned so that a region averages roughly 60-80 resources per resident (see ``sizing``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from medlake.synth import clock
from medlake.synth.epidemiology import DailyCurve, RegionEpidemics, poisson
from medlake.synth.health import ACUTE_ONSET, HealthProfile
from medlake.synth.population import Resident

# Event kinds, in the order they are handled when they fall on the same day.
REGISTER = "register"
WELL_CHILD = "well-child"
REVIEW = "review"
CHECKUP = "checkup"
FOLLOW_UP = "follow-up"
MINOR_ILLNESS = "minor-illness"
INFECTION = "infection"
CHRONIC_EMERGENCY = "chronic-emergency"
SEVERE_INFECTION = "severe-infection"
INJURY = "injury"
ELECTIVE = "elective"
VACCINATION = "vaccination"
TERMINAL_ADMISSION = "terminal-admission"
DEATH = "death"
_ORDER = {
    kind: n
    for n, kind in enumerate(
        (
            REGISTER,
            WELL_CHILD,
            REVIEW,
            CHECKUP,
            FOLLOW_UP,
            MINOR_ILLNESS,
            INFECTION,
            CHRONIC_EMERGENCY,
            SEVERE_INFECTION,
            INJURY,
            ELECTIVE,
            VACCINATION,
            TERMINAL_ADMISSION,
            DEATH,
        )
    )
}

_WELL_CHILD_MONTHS = (1, 2, 4, 6, 9, 12, 18, 24, 36, 48, 60, 72)


@dataclass(slots=True)
class Event:
    """Something that happens to a resident on ``day``; ``detail`` depends on ``kind``."""

    day: int
    kind: str
    detail: Any = None

    def sort_key(self) -> tuple[int, int]:
        return self.day, _ORDER[self.kind]


class _Planner:
    """Collects the events of one resident; a class only to share the resident's alive range."""

    def __init__(self, rng: random.Random, resident: Resident, health: HealthProfile) -> None:
        self.rng = rng
        self.resident = resident
        self.health = health
        self.first = max(clock.START_DAY, resident.birth_day)
        self.last = resident.last_day
        self.events: list[Event] = []

    def add(self, day: int, kind: str, detail: Any = None) -> None:
        if self.first <= day <= self.last:
            self.events.append(Event(day, kind, detail))

    def age(self, day: int) -> float:
        return self.resident.age_on(day)

    def scatter(self, kind: str, curve: DailyCurve, annual_rate: float, detail: Any = None) -> None:
        """Poisson-many events of ``kind`` over the resident's time in the window, following ``curve``."""
        count = poisson(self.rng, annual_rate * curve.mass(self.first, self.last))
        for _ in range(count):
            self.add(curve.sample(self.rng, self.first, self.last), kind, detail)


def plan_life(
    rng: random.Random, resident: Resident, health: HealthProfile, epidemics: RegionEpidemics
) -> list[Event]:
    """Every care event of a resident within the window, sorted by day."""
    planner = _Planner(rng, resident, health)
    if planner.first > planner.last:
        return []
    _registrations(planner)
    _primary_care(planner, epidemics)
    _infections(planner, epidemics)
    _hospital(planner, epidemics)
    _vaccinations(planner)
    if resident.death_day is not None:
        if rng.random() < 0.45 and resident.age_on(resident.death_day) > 40:
            planner.add(max(planner.first, resident.death_day - rng.randrange(1, 9)), TERMINAL_ADMISSION)
        planner.add(resident.death_day, DEATH)
    planner.events.sort(key=Event.sort_key)
    return planner.events


def _registrations(p: _Planner) -> None:
    """Everyone is on a health centre's list; a move to another catchment re-registers them."""
    first_residence = p.resident.residence_on(p.first)
    p.add(p.first, REGISTER, first_residence)
    for residence in p.resident.residences[1:]:
        if residence.town.health_centre != first_residence.town.health_centre:
            p.add(min(p.last, residence.since + p.rng.randrange(0, 45)), REGISTER, residence)


def _primary_care(p: _Planner, epidemics: RegionEpidemics) -> None:
    rng, resident, health = p.rng, p.resident, p.health
    for months in _WELL_CHILD_MONTHS:
        if rng.random() < 0.85:
            p.add(resident.birth_day + round(months * 30.44) + rng.randrange(-7, 15), WELL_CHILD)
    for year in range(date.fromordinal(p.first).year, date.fromordinal(p.last).year + 1):
        year_start, year_end = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
        day = rng.randrange(year_start, year_end + 1)
        age = p.age(day)
        if health.chronic_count(day) > 0 and rng.random() < 0.92:
            p.add(day, REVIEW)
        else:
            checkup_rate = 0.3 if age >= 40 else 0.12 if age >= 18 else 0.15 if age >= 7 else 0.0
            if rng.random() < checkup_rate:
                p.add(day, CHECKUP)
    # Chronic patients come back between reviews; everyone old sees the doctor more often.
    for diagnosis in sorted(health.diagnoses.values(), key=lambda d: d.onset_day)[:3]:
        start = max(p.first, diagnosis.onset_day)
        years = max(0.0, (p.last - start) / clock.DAYS_PER_YEAR)
        for _ in range(poisson(rng, 0.9 * years)):
            p.add(rng.randrange(start, p.last + 1), FOLLOW_UP)
    elderly_years = max(
        0.0, (p.last - max(p.first, resident.birth_day + round(65 * clock.DAYS_PER_YEAR))) / 365.25
    )
    for _ in range(poisson(rng, 0.4 * elderly_years)):
        p.add(rng.randrange(p.last - round(elderly_years * 365.25), p.last + 1), FOLLOW_UP)
    # Minor illnesses seen at the health centre (not notifiable, not epidemic-driven).
    end_age = p.age(p.last)
    respiratory_rate = 0.25 if end_age < 10 else 0.06
    p.scatter(MINOR_ILLNESS, epidemics.other_respiratory, respiratory_rate, "upper-respiratory")
    if end_age < 10:
        p.scatter(MINOR_ILLNESS, epidemics.other_respiratory, 0.12, "otitis-media")
    if resident.sex == "female" and end_age >= 16:
        p.scatter(MINOR_ILLNESS, epidemics.flat, 0.03, "urinary-tract-infection")
    if end_age >= 18:
        p.scatter(MINOR_ILLNESS, epidemics.other_respiratory, 0.04 if end_age >= 65 else 0.015, "bronchitis")


def _infections(p: _Planner, epidemics: RegionEpidemics) -> None:
    """Epidemic and notifiable infections; seasonality comes from the region's curves."""
    end_age = p.age(p.last)
    child = end_age < 15
    elderly = end_age >= 65
    p.scatter(INFECTION, epidemics.other_respiratory, 0.05 if child else 0.025, "ili")
    p.scatter(INFECTION, epidemics.influenza, 0.06 if child else (0.045 if elderly else 0.03), "influenza")
    p.scatter(INFECTION, epidemics.covid, 0.03 if child else 0.075, "covid-19")
    p.scatter(INFECTION, epidemics.gastroenteritis, 0.05 if end_age < 5 else 0.02, "gastroenteritis")
    p.scatter(INFECTION, epidemics.salmonellosis, 0.0015, "salmonellosis")
    for outbreak in epidemics.outbreaks:
        if not p.first <= outbreak.start_day <= p.last:
            continue
        if p.resident.residence_on(outbreak.start_day).town is not outbreak.town:
            continue
        if p.rng.random() < outbreak.attack_rate:
            p.add(outbreak.sample_onset(p.rng), INFECTION, outbreak.disease)


def _hospital(p: _Planner, epidemics: RegionEpidemics) -> None:
    rng, health = p.rng, p.health
    for key in ACUTE_ONSET:
        diagnosis = health.diagnoses.get(key)
        if diagnosis is None or diagnosis.onset_day < p.first:
            continue
        if key == "atrial_fibrillation" and rng.random() < 0.4:
            continue  # found at a health-centre check instead (irregular pulse, ECG)
        if key == "coronary_heart_disease" and rng.random() < 0.35:
            p.add(diagnosis.onset_day + rng.randrange(20, 90), ELECTIVE, "coronary-angiography")
            continue
        p.add(diagnosis.onset_day, CHRONIC_EMERGENCY, key)
    end_age = p.age(p.last)
    pneumonia_rate = 0.03 if end_age >= 80 else 0.012 if end_age >= 65 else 0.0015
    p.scatter(SEVERE_INFECTION, epidemics.other_respiratory, pneumonia_rate, "pneumonia")
    p.scatter(SEVERE_INFECTION, epidemics.flat, 0.008 if end_age >= 75 else 0.0008, "sepsis")
    injury_rate = 0.05 if end_age < 18 else 0.045 if end_age >= 75 else 0.025
    p.scatter(INJURY, epidemics.flat, injury_rate)
    if end_age >= 55:
        p.scatter(ELECTIVE, epidemics.flat, 0.015, "colonoscopy")
    if end_age >= 65:
        p.scatter(ELECTIVE, epidemics.flat, 0.03, "cataract")
        p.scatter(ELECTIVE, epidemics.flat, 0.006, "knee-replacement")


def _vaccinations(p: _Planner) -> None:
    _childhood_schedule(p)
    _seasonal_influenza(p)
    _covid_campaigns(p)
    _adult_boosters(p)


# (age in days, vaccine key) of the routine childhood schedule.
# fmt: off
_CHILDHOOD_SCHEDULE: tuple[tuple[int, str], ...] = (
    (0, "hep-b"), (30, "hep-b"), (61, "dtap"), (61, "ipv"), (61, "hib"), (122, "dtap"), (122, "ipv"),
    (122, "hib"), (183, "dtap"), (183, "ipv"), (183, "hep-b"), (365, "mmr"), (365, "varicella"),
    (365, "hib"), (456, "dtap"), (1461, "dtap"), (1461, "ipv"), (1461, "mmr"), (1461, "varicella"),
    (4018, "tdap"), (4018, "meningococcal"), (4200, "hpv"), (4383, "hpv"),
)
# fmt: on


def _childhood_schedule(p: _Planner) -> None:
    rng, birth = p.rng, p.resident.birth_day
    if rng.random() < 0.05:
        return  # unvaccinated family
    doses: dict[str, int] = {}
    for age_days, vaccine in _CHILDHOOD_SCHEDULE:
        doses[vaccine] = doses.get(vaccine, 0) + 1
        if rng.random() < 0.95:
            p.add(birth + age_days + rng.randrange(0, 28), VACCINATION, (vaccine, doses[vaccine]))


def _seasonal_influenza(p: _Planner) -> None:
    rng = p.rng
    keen = rng.random() < 0.55  # vaccination habits persist from year to year
    for year in range(2019, 2025):
        day = date(year, 10, 1).toordinal() + round(rng.triangular(0, 75, 15))
        age = p.age(day)
        if age < 0.5:
            continue
        chronic = p.health.chronic_count(day) > 0
        base = 0.7 if age >= 65 else 0.3 if age >= 50 else 0.12 if age >= 18 else 0.15
        if chronic and age < 65:
            base += 0.2
        if year >= 2020:
            base += 0.08
        if rng.random() < min(0.95, base * (1.45 if keen else 0.35)):
            p.add(
                day,
                VACCINATION,
                ("influenza-high-dose" if age >= 65 and rng.random() < 0.4 else "influenza", 1),
            )


def _covid_campaigns(p: _Planner) -> None:
    rng, resident = p.rng, p.resident
    campaign_start = date(2021, 1, 4).toordinal()
    age = resident.age_on(campaign_start)
    if age < 12:
        return
    uptake = 0.88 if age >= 60 else 0.74 if age >= 18 else 0.5
    if rng.random() >= uptake:
        return
    # Oldest first: the primary series reached 80-year-olds in January and teenagers by the summer.
    offset = round(max(0.0, (90 - min(age, 90)) / 78) * 200) + rng.randrange(0, 30)
    first = campaign_start + offset
    vaccine = "covid-moderna" if rng.random() < 0.25 else "covid-pfizer"
    p.add(first, VACCINATION, (vaccine, 1))
    p.add(first + rng.randrange(21, 43), VACCINATION, (vaccine, 2))
    dose = 2
    boosters = (
        (date(2021, 10, 15), 0.75 if age >= 50 else 0.55, 12),
        (date(2022, 9, 20), 0.55 if age >= 60 else 0.12, 18),
        (date(2023, 10, 1), 0.42 if age >= 60 else 0.05, 18),
        (date(2024, 10, 1), 0.35 if age >= 65 else 0.03, 18),
    )
    for opens, probability, min_age in boosters:
        if resident.age_on(opens.toordinal()) >= min_age and rng.random() < probability:
            dose += 1
            p.add(opens.toordinal() + round(rng.triangular(0, 110, 20)), VACCINATION, ("covid-pfizer", dose))
        elif opens.year >= 2022:
            break  # people who skip one autumn campaign rarely come back


def _adult_boosters(p: _Planner) -> None:
    rng, resident = p.rng, p.resident
    turns_65 = resident.birth_day + round(65 * clock.DAYS_PER_YEAR)
    if p.first <= turns_65 <= p.last and rng.random() < 0.5:
        p.add(turns_65 + rng.randrange(0, 300), VACCINATION, ("pneumococcal", 1))
    zoster_from = max(p.first, date(2020, 1, 1).toordinal())
    if p.age(p.last) >= 52 and zoster_from <= p.last and rng.random() < 0.12:
        day = rng.randrange(zoster_from, p.last + 1)
        if p.age(day) >= 50:
            p.add(day, VACCINATION, ("zoster", 1))
            p.add(day + rng.randrange(60, 180), VACCINATION, ("zoster", 2))
    if p.age(p.last) >= 25 and rng.random() < 0.12:
        p.add(rng.randrange(p.first, p.last + 1), VACCINATION, ("td", 1))
