"""Time in the synthetic region: a fixed window, integer minutes, and cheap ISO formatting.

The region's clinical history covers a fixed window (2019-2024) that never depends on the wall
clock, so one seed gives the same bytes whenever and wherever it runs.  Times are integers
(day ordinals, or minutes since ordinal 0) because integer arithmetic plus lookup tables formats
an order of magnitude faster than ``datetime.isoformat`` and the generator formats a timestamp
for nearly every resource it writes.
"""

from __future__ import annotations

from datetime import date

WINDOW_START = date(2019, 1, 1)
WINDOW_END = date(2024, 12, 31)
#: The day the institutions exported their data: a quarter after the window, so that every lag in
#: the model (stays running into January, billing, registry reporting, death notices) has passed.
#: Statuses (active prescriptions, open cases) are judged as of this day.
AS_OF = date(2025, 4, 1)

START_DAY = WINDOW_START.toordinal()
END_DAY = WINDOW_END.toordinal()
AS_OF_DAY = AS_OF.toordinal()
WINDOW_DAYS = END_DAY - START_DAY + 1
MINUTES_PER_DAY = 1440
DAYS_PER_YEAR = 365.25

# Days around the window are pre-formatted; birth dates and older onsets fall back to datetime.
_FIRST_CACHED = START_DAY - 3 * 366
_LAST_CACHED = AS_OF_DAY + 366
_DAY_TEXT = [date.fromordinal(o).isoformat() for o in range(_FIRST_CACHED, _LAST_CACHED + 1)]
_CLOCK_TEXT = [f"T{m // 60:02d}:{m % 60:02d}:00Z" for m in range(MINUTES_PER_DAY)]


def day_text(day: int) -> str:
    """ISO date (``YYYY-MM-DD``) of a day ordinal."""
    if _FIRST_CACHED <= day <= _LAST_CACHED:
        return _DAY_TEXT[day - _FIRST_CACHED]
    return date.fromordinal(day).isoformat()


def instant_text(minute: int) -> str:
    """FHIR ``instant``/``dateTime`` text (UTC, second precision) of a minute count."""
    day, minute_of_day = divmod(minute, MINUTES_PER_DAY)
    return day_text(day) + _CLOCK_TEXT[minute_of_day]


def at(day: int, minute_of_day: int) -> int:
    """Minute count of a day ordinal plus minutes since midnight."""
    return day * MINUTES_PER_DAY + minute_of_day


def minute_of(instant: str) -> int:
    """Minute count of an ``instant_text`` string (inverse of :func:`instant_text`)."""
    day = date.fromisoformat(instant[:10]).toordinal()
    return at(day, int(instant[11:13]) * 60 + int(instant[14:16]))


def day_of(minute: int) -> int:
    """Day ordinal that contains a minute count."""
    return minute // MINUTES_PER_DAY


def age_on(birth_day: int, day: int) -> float:
    """Age in (fractional) years; precise enough for epidemiology, not for birthdays."""
    return (day - birth_day) / DAYS_PER_YEAR


def years_later(day: int, years: float) -> int:
    """Day ordinal ``years`` after ``day``."""
    return day + round(years * DAYS_PER_YEAR)


def month_of(day: int) -> int:
    """Calendar month (1-12) of a day ordinal."""
    return date.fromordinal(day).month


def date_of(day: int) -> date:
    """The calendar date of a day ordinal."""
    return date.fromordinal(day)
