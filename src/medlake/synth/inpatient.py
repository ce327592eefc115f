"""Inpatient courses: ward observation rounds whose vital signs follow a hidden severity curve.

An early-warning score (NEWS2) can only be evaluated on data where deterioration is gradual and
observations get more frequent as patients get sicker, which is how wards work: a stable patient
is seen every 8 hours, a sick one hourly.  Each course is driven by a latent severity ``s``
(0 = well, about 1 = critically ill) and every vital sign is a noisy function of it, so
deteriorating courses show a coherent worsening of respiratory rate, SpO2, blood pressure, heart
rate, temperature and consciousness hours before the escalation recorded in the truth file.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

HOUR = 60


@dataclass(slots=True)
class Round:
    """One set of ward observations."""

    minute: int
    respiratory_rate: int
    spo2: int
    oxygen_flow: float | None  # L/min; None when breathing air
    systolic: int
    diastolic: int
    heart_rate: int
    temperature: float
    acvpu: int  # index into terminology.ACVPU_ANSWERS


@dataclass(slots=True)
class Course:
    """A hospital stay: when it starts and ends, its observation rounds, and what happened."""

    admitted: int
    discharged: int
    rounds: list[Round] = field(default_factory=list)
    deterioration_start: int | None = None
    escalation: int | None = None  # transfer to intensive care, or the start of the terminal decline
    icu_until: int | None = None
    died: bool = False

    @property
    def oxygen_started(self) -> int | None:
        return next((r.minute for r in self.rounds if r.oxygen_flow is not None), None)


def _interval(severity: float) -> int:
    """Minutes to the next round, shortening as the patient gets sicker (NEWS2-style escalation)."""
    if severity < 0.25:
        return 8 * HOUR
    if severity < 0.45:
        return 4 * HOUR
    if severity < 0.7:
        return 2 * HOUR
    return HOUR


def observation_round(
    rng: random.Random, minute: int, s: float, baseline_systolic: float, infection: bool
) -> Round:
    oxygen = None
    spo2 = 97.5 - 10 * s + rng.gauss(0, 0.8)
    if s > 0.45:
        oxygen = float(min(15, 2 + round(10 * (s - 0.45))))
        spo2 += 3.0
    systolic = baseline_systolic - 42 * s + rng.gauss(0, 6)
    acvpu = 0
    if s >= 0.75:
        r = rng.random()
        if s >= 0.95:
            acvpu = 1 if r < 0.3 else 2 if r < 0.55 else 3 if r < 0.65 else 0
        elif r < 0.3:
            acvpu = 1
    return Round(
        minute=minute,
        respiratory_rate=max(8, round(15 + 13 * s + rng.gauss(0, 1.3))),
        spo2=max(70, min(100, round(spo2))),
        oxygen_flow=oxygen,
        systolic=max(60, round(systolic)),
        diastolic=max(35, round(0.55 * systolic + 12 + rng.gauss(0, 4))),
        heart_rate=max(40, round(76 + 44 * s + rng.gauss(0, 4))),
        temperature=round(36.8 + (1.8 if infection else 0.35) * s + rng.gauss(0, 0.25), 1),
        acvpu=acvpu,
    )


def _observe(
    rng: random.Random,
    course: Course,
    start: int,
    end: int,
    severity_at: Callable[[int], float],
    baseline_systolic: float,
    infection: bool,
) -> None:
    """Add rounds from ``start`` to ``end`` at the frequency the current severity calls for."""
    minute = start
    while minute < end:
        s = severity_at(minute)
        course.rounds.append(observation_round(rng, minute, s, baseline_systolic, infection))
        minute += _interval(s) + rng.randrange(-15, 16)


def hospital_course(
    rng: random.Random,
    admitted: int,
    length_hours: float,
    baseline_systolic: float,
    infection: bool,
    deteriorating: bool = False,
    dies_at: int | None = None,
    initial_severity: float | None = None,
) -> Course:
    """Draw a stay.  ``dies_at`` forces a terminal course ending in death at that minute."""
    s0 = initial_severity if initial_severity is not None else rng.uniform(0.15, 0.45)
    planned_end = admitted + round(length_hours * HOUR)

    if dies_at is not None:
        course = Course(admitted, dies_at, died=True)
        decline = max(admitted + 2 * HOUR, dies_at - round(rng.uniform(18, 60) * HOUR))
        course.deterioration_start = decline
        course.escalation = decline + (dies_at - decline) // 2
        peak = rng.uniform(1.0, 1.25)

        def terminal(minute: int) -> float:
            if minute < decline:
                return s0
            return s0 + (peak - s0) * min(1.0, (minute - decline) / max(1, dies_at - decline) * 1.4)

        _observe(rng, course, admitted + 20, dies_at, terminal, baseline_systolic, infection)
        return course

    if not deteriorating:
        tau = max(6.0, length_hours / 2.5) * HOUR
        course = Course(admitted, planned_end)
        _observe(
            rng,
            course,
            admitted + 20,
            planned_end - 30,
            lambda m: 0.03 + s0 * math.exp(-(m - admitted) / tau),
            baseline_systolic,
            infection,
        )
        return course

    # Deteriorating: stable for a while, a gradual decline over 10-30 hours, then intensive care.
    decline = admitted + round(rng.uniform(10, 48) * HOUR)
    escalation = decline + round(rng.uniform(10, 30) * HOUR)
    peak = rng.uniform(0.9, 1.15)
    icu_until = escalation + round(rng.uniform(36, 110) * HOUR)
    discharged = icu_until + round(rng.uniform(48, 140) * HOUR)
    course = Course(
        admitted, discharged, deterioration_start=decline, escalation=escalation, icu_until=icu_until
    )
    base = min(s0, 0.3)

    def before_icu(minute: int) -> float:
        if minute < decline:
            return base
        return base + (peak - base) * (minute - decline) / (escalation - decline)

    _observe(rng, course, admitted + 20, escalation, before_icu, baseline_systolic, infection)
    tau = 30 * HOUR
    _observe(
        rng,
        course,
        icu_until,
        discharged - 30,
        lambda m: 0.05 + 0.3 * math.exp(-(m - icu_until) / tau),
        baseline_systolic,
        infection,
    )
    return course
