"""Region-wide epidemiology: chronic prevalence by age, seasonal epidemics, and outbreaks.

Everything here depends on the seed only, never on the number of residents, so resident ``i``
is the same person in a region of 100 and of 1,000,000, and the outbreak calendar that the
surveillance module must detect is a property of the seed (written to ``truth/outbreaks.csv``).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from datetime import date
from itertools import accumulate

from medlake.synth import clock
from medlake.synth.geography import TOWNS, Town

# ----------------------------------------------------------------------------- chronic disease
#: Prevalence at a given age (piecewise linear between points, flat outside), from European surveys
#: rounded generously; multipliers for risk factors are applied on top in ``health``.
# fmt: off
CHRONIC_PREVALENCE: dict[str, tuple[tuple[float, float], ...]] = {
    "hypertension": (
        (18, 0.01), (30, 0.04), (40, 0.10), (50, 0.22), (60, 0.36), (70, 0.50), (80, 0.60), (90, 0.64),
    ),
    "diabetes": ((20, 0.002), (35, 0.015), (45, 0.045), (55, 0.09), (65, 0.14), (75, 0.18), (85, 0.17)),
    "atrial_fibrillation": ((40, 0.002), (50, 0.007), (60, 0.022), (70, 0.055), (80, 0.10), (90, 0.15)),
    "coronary_heart_disease": ((35, 0.002), (45, 0.01), (55, 0.03), (65, 0.065), (75, 0.11), (85, 0.15)),
    "stroke": ((40, 0.002), (50, 0.007), (60, 0.018), (70, 0.035), (80, 0.065), (90, 0.09)),
    "hyperlipidaemia": ((25, 0.01), (40, 0.07), (50, 0.16), (60, 0.25), (70, 0.30), (85, 0.28)),
    "chronic_kidney_disease": ((50, 0.008), (60, 0.025), (70, 0.06), (80, 0.12), (90, 0.18)),
    "asthma": ((3, 0.08), (15, 0.09), (30, 0.07), (90, 0.06)),
}
# fmt: on
#: Youngest plausible age of onset, used to spread onsets over a resident's life.
EARLIEST_ONSET_AGE: dict[str, float] = {
    "hypertension": 20,
    "diabetes": 25,
    "atrial_fibrillation": 40,
    "coronary_heart_disease": 35,
    "stroke": 35,
    "hyperlipidaemia": 25,
    "chronic_kidney_disease": 45,
    "asthma": 2,
}


def prevalence(condition: str, age: float) -> float:
    """Age-specific prevalence of a chronic condition: zero before the first point, linear between points."""
    points = CHRONIC_PREVALENCE[condition]
    if age < points[0][0]:
        return 0.0
    for (age_a, p_a), (age_b, p_b) in itertools.pairwise(points):
        if age <= age_b:
            return p_a + (p_b - p_a) * (age - age_a) / (age_b - age_a)
    return points[-1][1]


# ----------------------------------------------------------------------------- seasonal curves
class DailyCurve:
    """Relative incidence per day of the window, scaled so that one year holds 1.0 on average.

    ``rate * mass(a, b)`` is then the expected number of events for a person with an annual
    rate ``rate`` alive from day ``a`` to ``b``; events are placed by inverse-CDF sampling.
    """

    __slots__ = ("_cumulative", "_weights")

    def __init__(self, weights: list[float]) -> None:
        if len(weights) != clock.WINDOW_DAYS:
            raise ValueError(f"a daily curve needs {clock.WINDOW_DAYS} weights, got {len(weights)}")
        scale = (clock.WINDOW_DAYS / clock.DAYS_PER_YEAR) / sum(weights)
        self._weights = [w * scale for w in weights]
        self._cumulative = list(accumulate(self._weights))

    def _before(self, day: int) -> float:
        index = day - clock.START_DAY
        if index <= 0:
            return 0.0
        return self._cumulative[min(index, clock.WINDOW_DAYS) - 1]

    def weight(self, day: int) -> float:
        index = day - clock.START_DAY
        return self._weights[index] if 0 <= index < clock.WINDOW_DAYS else 0.0

    def mass(self, first_day: int, last_day: int) -> float:
        """Integral of the curve over ``[first_day, last_day]`` (clipped to the window)."""
        if last_day < first_day:
            return 0.0
        return self._before(last_day + 1) - self._before(first_day)

    def sample(self, rng: random.Random, first_day: int, last_day: int) -> int:
        """A day in ``[first_day, last_day]`` drawn in proportion to the curve."""
        low = self._before(first_day)
        target = low + rng.random() * (self._before(last_day + 1) - low)
        index = bisect.bisect_right(self._cumulative, target)
        return clock.START_DAY + min(index, clock.WINDOW_DAYS - 1)


def _gaussian(day: int, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((day - centre) / width) ** 2)


def _annual_cosine(day: int, peak_month_day: tuple[int, int], depth: float) -> float:
    """1 + depth*cos, peaking on the given (month, day) each year."""
    year = date.fromordinal(day).year
    peak = date(year, *peak_month_day).toordinal()
    return 1.0 + depth * math.cos(2 * math.pi * (day - peak) / 365.25)


def _window_days() -> range:
    return range(clock.START_DAY, clock.END_DAY + 1)


@dataclass(frozen=True, slots=True)
class Outbreak:
    """A point-source outbreak: residents of ``town`` fall ill between ``start_day`` and ``end_day``."""

    outbreak_id: str
    disease: str  # "salmonellosis" | "gastroenteritis"
    town: Town
    start_day: int
    end_day: int
    attack_rate: float

    def sample_onset(self, rng: random.Random) -> int:
        """Onsets bunch early (a shared meal or water source), then tail off."""
        span = self.end_day - self.start_day
        return self.start_day + round(rng.triangular(0, span, span * 0.2))


@dataclass(frozen=True, slots=True)
class RegionEpidemics:
    """The seed's calendar of infections; identical for every resident of the region."""

    influenza: DailyCurve
    other_respiratory: DailyCurve
    covid: DailyCurve
    gastroenteritis: DailyCurve
    salmonellosis: DailyCurve
    flat: DailyCurve
    influenza_seasons: tuple[tuple[int, float], ...]  # (peak day, relative size) per season
    outbreaks: tuple[Outbreak, ...]

    @classmethod
    def for_seed(cls, seed: int) -> RegionEpidemics:
        rng = random.Random(f"medlake-synth/{seed}/epidemics")
        seasons, influenza = _influenza_curve(rng)
        return cls(
            influenza=influenza,
            other_respiratory=DailyCurve([_annual_cosine(d, (12, 1), 0.55) for d in _window_days()]),
            covid=_covid_curve(rng),
            gastroenteritis=DailyCurve([_annual_cosine(d, (1, 20), 0.45) for d in _window_days()]),
            salmonellosis=DailyCurve([_annual_cosine(d, (8, 10), 0.7) for d in _window_days()]),
            flat=DailyCurve([1.0] * clock.WINDOW_DAYS),
            influenza_seasons=seasons,
            outbreaks=_outbreaks(rng),
        )


def _influenza_curve(rng: random.Random) -> tuple[tuple[tuple[int, float], ...], DailyCurve]:
    """One epidemic per winter; the 2020/21 season all but vanished and 2021/22 came late, as in Europe."""
    seasons = []
    for first_year in range(2018, 2025):
        peak = date(first_year + 1, 1, 25).toordinal() + round(max(-40.0, min(40.0, rng.gauss(0, 18))))
        amplitude = rng.uniform(0.6, 1.5)
        width = rng.uniform(11, 20)
        if first_year == 2020:
            amplitude *= 0.03
        elif first_year == 2021:
            peak = date(2022, 3, 25).toordinal() + round(rng.gauss(0, 10))
            amplitude *= 0.5
        seasons.append((peak, amplitude, width))
    weights = [
        0.004 + sum(a * _gaussian(d, p, w) for p, a, w in seasons if abs(d - p) < 6 * w)
        for d in _window_days()
    ]
    peaks = tuple((p, round(a, 3)) for p, a, _ in seasons if clock.START_DAY <= p <= clock.END_DAY)
    return peaks, DailyCurve(weights)


# (centre, relative size, width in days) of the pandemic waves, loosely after European reporting.
# fmt: off
_COVID_WAVES: tuple[tuple[date, float, float], ...] = (
    (date(2020, 4, 1), 0.4, 16), (date(2020, 11, 10), 1.0, 22), (date(2021, 1, 10), 0.8, 20),
    (date(2021, 4, 10), 0.6, 20), (date(2021, 8, 20), 0.6, 24), (date(2021, 12, 30), 2.5, 18),
    (date(2022, 3, 20), 2.0, 20), (date(2022, 7, 10), 1.2, 20), (date(2022, 10, 15), 0.8, 20),
    (date(2022, 12, 20), 0.5, 20), (date(2023, 9, 10), 0.3, 30), (date(2023, 12, 28), 0.35, 25),
    (date(2024, 8, 5), 0.25, 30), (date(2024, 12, 20), 0.2, 25),
)
# fmt: on
_PANDEMIC_START = date(2020, 2, 20).toordinal()


def _covid_curve(rng: random.Random) -> DailyCurve:
    waves = [
        (centre.toordinal() + round(rng.gauss(0, 6)), size * rng.uniform(0.8, 1.2), width)
        for centre, size, width in _COVID_WAVES
    ]
    weights = [
        0.0
        if d < _PANDEMIC_START
        else 0.01 + sum(s * _gaussian(d, c, w) for c, s, w in waves if abs(d - c) < 6 * w)
        for d in _window_days()
    ]
    return DailyCurve(weights)


def _outbreaks(rng: random.Random) -> tuple[Outbreak, ...]:
    """Five summer salmonellosis outbreaks and two winter norovirus-like gastroenteritis outbreaks."""
    outbreaks = []
    years = rng.sample(range(2019, 2025), 5)
    for number, year in enumerate(sorted(years), start=1):
        town = rng.choices(TOWNS, weights=[t.share for t in TOWNS])[0]
        start = date(year, 6, 1).toordinal() + rng.randrange(0, 100)
        outbreaks.append(
            Outbreak(
                f"salm-{number}",
                "salmonellosis",
                town,
                start,
                start + rng.randrange(14, 29),
                rng.uniform(0.006, 0.014),
            )
        )
    for number, year in enumerate(sorted(rng.sample(range(2019, 2024), 2)), start=1):
        town = rng.choices(TOWNS, weights=[t.share for t in TOWNS])[0]
        start = date(year, 11, 1).toordinal() + rng.randrange(0, 60)
        outbreaks.append(
            Outbreak(
                f"gastro-{number}",
                "gastroenteritis",
                town,
                start,
                start + rng.randrange(10, 22),
                rng.uniform(0.01, 0.02),
            )
        )
    return tuple(outbreaks)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    threshold = math.exp(-mean)
    count, product = 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count
