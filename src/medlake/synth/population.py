"""The true residents of the region: who each person really is, before any system records them.

A :class:`Resident` is the ground truth that institutions record imperfectly; it never reaches
the FHIR output directly, only through :mod:`medlake.synth.variation`.  The age pyramid and
mortality follow a mid-sized European region closely enough that age-dependent disease
prevalence, and hence the platform's cohort statistics, look plausible.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from medlake.synth import clock, names
from medlake.synth.geography import Address, Town, new_address, new_phone, pick_other_town, pick_town
from medlake.synth.identifiers import NumberScrambler, national_id

# (lowest age, highest age, share of residents) for the age pyramid at the end of the window.
# fmt: off
_AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 4, 0.050), (5, 14, 0.105), (15, 24, 0.110), (25, 34, 0.125), (35, 44, 0.130),
    (45, 54, 0.140), (55, 64, 0.135), (65, 74, 0.110), (75, 84, 0.068), (85, 99, 0.027),
)
# fmt: on
_BAND_WEIGHTS = [band[2] for band in _AGE_BANDS]


@dataclass(frozen=True, slots=True)
class Residence:
    """Where a resident lives from ``since`` (day ordinal) until the next residence."""

    since: int
    town: Town
    address: Address
    home_phone: str


@dataclass(slots=True)
class Resident:
    """One real person.  ``person_id`` is the ground-truth key and never appears in FHIR."""

    index: int
    person_id: str
    sex: str  # "male" | "female"
    given: str
    middle: str | None
    family: str
    former_family: str | None  # family name before marriage, still on older records
    birth_day: int
    death_day: int | None
    residences: list[Residence]
    mobile_phone: str | None
    former_mobile_phone: str | None
    national_id: str

    def residence_on(self, day: int) -> Residence:
        current = self.residences[0]
        for residence in self.residences[1:]:
            if residence.since <= day:
                current = residence
        return current

    def age_on(self, day: int) -> float:
        return clock.age_on(self.birth_day, day)

    @property
    def last_day(self) -> int:
        """Last day the resident can generate data (death or the end of the window)."""
        return self.death_day if self.death_day is not None else clock.END_DAY


def person_id(index: int) -> str:
    """The ground-truth id of resident ``index`` (stable across N, so truth files can be compared)."""
    return f"person-{index + 1:07d}"


def annual_mortality(age: float) -> float:
    """Gompertz law of mortality, fitted loosely to European life tables (about 1% at 70)."""
    return min(0.5, math.exp(-10.2 + 0.085 * age))


def draw_resident(rng: random.Random, index: int, national_scrambler: NumberScrambler) -> Resident:
    """Draw one resident's identity, life span and residential history."""
    low, high, _ = rng.choices(_AGE_BANDS, weights=_BAND_WEIGHTS)[0]
    age_at_end = rng.uniform(low, high + 1)
    birth_day = clock.END_DAY - round(age_at_end * clock.DAYS_PER_YEAR)
    sex = "female" if rng.random() < (0.5 + 0.1 * max(0.0, age_at_end - 70) / 30) else "male"
    given = rng.choice(names.FEMALE_GIVEN if sex == "female" else names.MALE_GIVEN)
    middle_pool = names.FEMALE_GIVEN if sex == "female" else names.MALE_GIVEN
    middle = rng.choice(middle_pool) if rng.random() < 0.35 else None
    if middle == given:
        middle = None
    family = rng.choice(names.FAMILY)
    former_family = None
    if sex == "female" and age_at_end > 22 and rng.random() < 0.06:
        former_family = rng.choice(names.FAMILY)
        if former_family == family:
            former_family = None

    death_day = _draw_death(rng, birth_day)
    residences = _draw_residences(rng, birth_day, death_day)
    mobile = (
        new_phone(rng, residences[0].town, mobile=True) if age_at_end >= 12 and rng.random() < 0.9 else None
    )
    former_mobile = new_phone(rng, residences[0].town, mobile=True) if mobile and rng.random() < 0.1 else None
    return Resident(
        index=index,
        person_id=person_id(index),
        sex=sex,
        given=given,
        middle=middle,
        family=family,
        former_family=former_family,
        birth_day=birth_day,
        death_day=death_day,
        residences=residences,
        mobile_phone=mobile,
        former_mobile_phone=former_mobile,
        national_id=national_id(national_scrambler, index),
    )


def _draw_death(rng: random.Random, birth_day: int) -> int | None:
    """Death within the window, year by year; the age pyramid is for survivors and the dead alike."""
    year_start = max(clock.START_DAY, birth_day)
    while year_start <= clock.END_DAY:
        age = clock.age_on(birth_day, year_start)
        if rng.random() < annual_mortality(age):
            return min(clock.END_DAY, year_start + rng.randrange(0, 365))
        year_start += 365
    return None


def _draw_residences(rng: random.Random, birth_day: int, death_day: int | None) -> list[Residence]:
    """One address for most people; about one in eight moves once during the window."""
    town = pick_town(rng)
    first = Residence(birth_day, town, new_address(rng, town), new_phone(rng, town, mobile=False))
    residences = [first]
    last_day = death_day if death_day is not None else clock.END_DAY
    earliest_move = max(clock.START_DAY + 60, birth_day + 365)
    if rng.random() < 0.13 and earliest_move < last_day - 60:
        move_day = rng.randrange(earliest_move, last_day - 30)
        new_town = town if rng.random() < 0.55 else pick_other_town(rng, town)
        phone = (
            first.home_phone if new_town is town and rng.random() < 0.3 else new_phone(rng, new_town, False)
        )
        residences.append(Residence(move_day, new_town, new_address(rng, new_town), phone))
    return residences
