"""FHIRPath's dates, dateTimes and times: partial values, time zones, comparison, boundaries.

FHIR keeps these as text of varying precision (``1970``, ``1970-05``,
``2016-02-03T04:05:06.120+08:00``, ``10:30``), and FHIRPath compares them precision by
precision: equal parts move on to the next one, the first differing part decides, and when
one value stops where the other goes on the answer is *empty* (``@2012-01 = @2012`` is
``{}``); seconds and milliseconds are one precision, a time zone is respected.

The compiler brings each value to a *key* (:func:`comparison_key`): its parts in fixed
width, dateTimes with a time and an offset moved to UTC, seconds always with three
decimals. Two keys then compare as text on their common prefix, which ends at a precision
both have, and the lengths tell whether the precisions differ. A dateTime without an offset
is compared as if it were UTC: FHIRPath leaves the choice to the implementation, and FHIR
requires an offset wherever a time is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from medlake.engine.dialect import Dialect

#: FHIR types FHIRPath treats as Date, DateTime or Time.
TEMPORAL_TYPES = frozenset({"date", "dateTime", "instant", "time"})

# Groups: 1 year, 2 month, 3 day, 4 hour, 5 minute, 6 second, 7 fraction, 8 zone.
DATE_TIME = (
    r"^([0-9]{4})(?:-([0-9]{2}))?(?:-([0-9]{2}))?"
    r"(?:T([0-9]{2})(?::([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?)?)?(Z|[+-][0-9]{2}:[0-9]{2})?$"
)
# Groups: 1 hour, 2 minute, 3 second, 4 fraction.
TIME = r"^([0-9]{2})(?::([0-9]{2}))?(?::([0-9]{2})(?:\.([0-9]+))?)?$"

#: FHIRPath's precisions (digits) of each kind, and the default (the finest) of each.
PRECISIONS = {"date": (4, 6, 8), "dateTime": (4, 6, 8, 10, 12, 14, 17), "time": (2, 4, 6, 9)}


def temporal_kind(fhir_type: str | None) -> str | None:
    """``date``, ``dateTime`` or ``time`` for a FHIR type FHIRPath compares as one (instant is a dateTime)."""
    if fhir_type not in TEMPORAL_TYPES:
        return None
    return "dateTime" if fhir_type == "instant" else fhir_type


@dataclass(frozen=True)
class Parts:
    """SQL reading each part (a regular expression group) of one bound text value; ``''``
    where the value stops."""

    part: Callable[[int], str]

    def present(self, group: int) -> str:
        return f"({self.part(group)} <> '')"


def parts(d: Dialect, text: str, is_time: bool) -> Parts:
    pattern = TIME if is_time else DATE_TIME
    return Parts(lambda group: d.regexp_extract(text, pattern, group))


def _milliseconds(d: Dialect, fraction: str) -> str:
    """Three digits of a fraction (``1`` -> ``100``, ``123456`` -> ``123``)."""
    return f"rpad({d.substring(fraction, '1', '3')}, 3, '0')"


def comparison_key(d: Dialect, text: str, kind: str, var: str) -> str:
    """SQL: the key of a date, dateTime or time text (NULL when the text is not one); ``var``
    is a fresh name to bind the text to, so it is read once."""
    if kind == "time":
        p = parts(d, var, is_time=True)
        key = (
            f"{p.part(1)}"
            f" || CASE WHEN {p.present(2)} THEN ':' || {p.part(2)} ELSE '' END"
            f" || CASE WHEN {p.present(3)} THEN ':' || {p.part(3)} || '.' || {_milliseconds(d, p.part(4))}"
            " ELSE '' END"
        )
        pattern = TIME
    else:
        p = parts(d, var, is_time=False)
        local = (
            f"{p.part(1)}"
            f" || CASE WHEN {p.present(2)} THEN '-' || {p.part(2)} ELSE '' END"
            f" || CASE WHEN {p.present(3)} THEN '-' || {p.part(3)} ELSE '' END"
            f" || CASE WHEN {p.present(4)} THEN 'T' || {p.part(4)} ELSE '' END"
            f" || CASE WHEN {p.present(5)} THEN ':' || {p.part(5)} ELSE '' END"
            f" || CASE WHEN {p.present(6)} THEN ':' || {p.part(6)} || '.' || {_milliseconds(d, p.part(7))}"
            " ELSE '' END"
        )
        offset = _offset_minutes(p.part(8))
        utc = d.date_time_text(*(p.part(g) for g in range(1, 7)), f"-{offset}", "minute")
        whole = f"{d.substring(utc, '1', '19')} || '.' || {_milliseconds(d, p.part(7))}"
        moved = f"substring({whole}, 1, length({local}))"
        key = f"CASE WHEN {p.present(4)} AND {p.present(8)} THEN {moved} ELSE {local} END"
        pattern = DATE_TIME
    body = f"CASE WHEN {d.regexp_matches(var, d.string_literal(pattern))} THEN {key} END"
    return d.let(text, var, body)


def _offset_minutes(zone: str) -> str:
    """Minutes east of UTC of a zone text (``Z``, ``+08:00``, ``-05:30``)."""
    sign = f"CASE WHEN substring({zone}, 1, 1) = '-' THEN -1 ELSE 1 END"
    hours = f"CAST(substring({zone}, 2, 2) AS INTEGER)"
    minutes = f"CAST(substring({zone}, 5, 2) AS INTEGER)"
    return f"(CASE WHEN {zone} IN ('', 'Z') THEN 0 ELSE {sign} * ({hours} * 60 + {minutes}) END)"


def compare_keys(a: str, b: str, op: str) -> str:
    """FHIRPath's ``op`` (``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``) on two keys, as SQL."""
    common = f"least(length({a}), length({b}))"
    pa, pb = f"substring({a}, 1, {common})", f"substring({b}, 1, {common})"
    same_precision = f"length({a}) = length({b})"
    if op in ("=", "!="):
        differ = "TRUE" if op == "!=" else "FALSE"
        same = "FALSE" if op == "!=" else "TRUE"
        return f"(CASE WHEN {pa} <> {pb} THEN {differ} WHEN {same_precision} THEN {same} END)"
    equal = "TRUE" if op in ("<=", ">=") else "FALSE"
    return f"(CASE WHEN {pa} <> {pb} THEN {pa} {op[0]} {pb} WHEN {same_precision} THEN {equal} END)"


def equivalent_keys(a: str, b: str) -> str:
    """FHIRPath's ``~``: equal at the same precision; different precisions are not equivalent."""
    return (
        f"(CASE WHEN {a} IS NULL AND {b} IS NULL THEN TRUE "
        f"WHEN {a} IS NULL OR {b} IS NULL THEN FALSE ELSE {a} = {b} END)"
    )


def boundary(
    d: Dialect, text: str, fhir_type: str, high: bool, precision: int | None, var: str
) -> str | None:
    """SQL of ``lowBoundary(precision)``/``highBoundary(precision)`` of a temporal text, or None
    when FHIRPath gives empty for that precision (none of the kind's, or finer than it has).

    Missing parts are filled with their least (greatest) value, fractions to milliseconds,
    and a missing time zone taken as +14:00 (-12:00), the earliest (latest) on Earth, so the
    result is an instant that bounds every moment the value can mean; a precision coarser
    than the value's cuts the parts after it.
    """
    kind = temporal_kind(fhir_type) or fhir_type
    allowed = PRECISIONS[kind]
    digits = allowed[-1] if precision is None else precision
    if digits not in allowed:
        return None
    month_fill, day_fill, hour_fill, minute_fill, second_fill, digit_fill = (
        ("'12'", None, "'23'", "'59'", "'59'", "'9'")
        if high
        else ("'01'", "'01'", "'00'", "'00'", "'00'", "'0'")
    )
    p = parts(d, var, is_time=kind == "time")

    def part(group: int, default: str) -> str:
        return f"coalesce(nullif({p.part(group)}, ''), {default})"

    def fraction(group: int) -> str:
        given = p.part(group)
        # a finer fraction than milliseconds is kept: cut, a high boundary would fall below the value
        return f"(CASE WHEN length({given}) >= 3 THEN {given} ELSE rpad({given}, 3, {digit_fill}) END)"

    if kind == "time":
        pieces = [
            (2, part(1, hour_fill)),
            (4, f"':' || {part(2, minute_fill)}"),
            (6, f"':' || {part(3, second_fill)}"),
            (9, f"'.' || {fraction(4)}"),
        ]
        zone = None
    else:
        year = p.part(1)
        month = part(2, month_fill)
        last_day = d.last_day_of_month(year, month)
        pieces = [
            (4, year),
            (6, f"'-' || {month}"),
            (8, f"'-' || {part(3, day_fill or last_day)}"),
            (10, f"'T' || {part(4, hour_fill)}"),
            (12, f"':' || {part(5, minute_fill)}"),
            (14, f"':' || {part(6, second_fill)}"),
            (17, f"'.' || {fraction(7)}"),
        ]
        zone = part(8, "'-12:00'" if high else "'+14:00'") if kind == "dateTime" else None
    built = " || ".join(sql for size, sql in pieces if size <= digits)
    if zone is not None and digits >= 10:
        built += f" || {zone}"
    pattern = TIME if kind == "time" else DATE_TIME
    return d.let(
        text, var, f"(CASE WHEN {d.regexp_matches(var, d.string_literal(pattern))} THEN {built} END)"
    )


# -- date/time arithmetic with time-valued quantities --------------------------------------------

#: A time-valued quantity's unit, by calendar keyword or UCUM code. UCUM's 'a' and 'mo' are
#: definite durations (365.25 days, 30.4375 days), which FHIRPath's date arithmetic refuses.
DURATIONS = {
    **{word: unit for unit in ("year", "month", "week", "day", "hour", "minute", "second", "millisecond")
       for word in (unit, unit + "s")},
    "wk": "week", "d": "day", "h": "hour", "min": "minute", "s": "second", "ms": "millisecond",
}  # fmt: skip
_UCUM_DURATIONS = frozenset({"wk", "d", "h", "min", "s", "ms"})
#: The precisions of a date/time value, coarsest first, and where each ends in the full
#: ``YYYY-MM-DDThh:mm:ss`` text (a Time's in ``hh:mm:ss``).
LEVELS = ("year", "month", "day", "hour", "minute", "second")
_LENGTH = {"year": 4, "month": 7, "day": 10, "hour": 13, "minute": 16, "second": 19}
_TIME_LENGTH = {"hour": 2, "minute": 5, "second": 8}
#: Units each kind may be moved by (a Date has no time; a Time has no calendar).
_ALLOWED = {
    "date": ("year", "month", "week", "day"),
    "dateTime": tuple(dict.fromkeys(DURATIONS.values())),
    "time": ("hour", "minute", "second", "millisecond"),
}
#: Where each unit falls among LEVELS (a week is counted in days).
_COARSENESS = {
    "year": 0,
    "month": 1,
    "week": 2,
    "day": 2,
    "hour": 3,
    "minute": 4,
    "second": 5,
    "millisecond": 5,
}
_DAYS = {"week": Decimal(7), "day": Decimal(1), "hour": Decimal(1) / 24, "minute": Decimal(1) / 1440,
         "second": Decimal(1) / 86400, "millisecond": Decimal(1) / 86_400_000}  # fmt: skip
_SECONDS = {
    "hour": Decimal(3600),
    "minute": Decimal(60),
    "second": Decimal(1),
    "millisecond": Decimal("0.001"),
}


def duration_unit(unit: str, calendar: bool) -> str:
    """The duration a quantity's unit means; ValueError for one date arithmetic cannot use."""
    found = DURATIONS.get(unit)
    if found is None or calendar != (unit not in _UCUM_DURATIONS):
        if unit in ("a", "mo"):
            raise ValueError(
                f"'{unit}' is a definite duration in UCUM: date arithmetic takes calendar years and "
                "months (year, month)"
            )
        raise ValueError(
            f"{unit!r} is not a time-valued unit: year, month, week, day, hour, minute, second, "
            "millisecond, or UCUM 'wk', 'd', 'h', 'min', 's', 'ms'"
        )
    return found


def _amount_at(level: str, number: Decimal, unit: str) -> tuple[int, str]:
    """How much to move a value of precision ``level`` by ``number`` ``unit``s: (amount, SQL unit).

    A unit finer than the value is converted to the value's precision (a month is 30 days, a
    year 365; hours, minutes and seconds as they are) and truncated; a coarser one is added as
    it is, its fraction dropped; seconds and milliseconds keep their fraction (as microseconds).
    """
    if unit in ("second", "millisecond") and level == "second":
        return int((number * _SECONDS[unit] * 1_000_000).to_integral_value()), "microsecond"
    if _COARSENESS[unit] <= LEVELS.index(level):  # as coarse as the value, or coarser: as it is
        whole = int(number.to_integral_value(ROUND_DOWN))
        return (whole * 7, "day") if unit == "week" else (whole, unit)
    if level == "year":
        years = number / 12 if unit == "month" else number * _DAYS[unit] / 365
        return int(years.to_integral_value(ROUND_DOWN)), "year"
    if level == "month":
        return int((number * _DAYS[unit] / 30).to_integral_value(ROUND_DOWN)), "month"
    if level == "day":
        return int((number * _DAYS[unit]).to_integral_value(ROUND_DOWN)), "day"
    per = {"hour": Decimal(3600), "minute": Decimal(60)}[level]
    return int((number * _SECONDS[unit] / per).to_integral_value(ROUND_DOWN)), level


def shift(d: Dialect, text: str, fhir_type: str, number: Decimal, unit: str, var: str) -> str:
    """SQL: a date, dateTime or time text moved by ``number`` ``unit``s (FHIRPath's ``+``/``-``
    with a time-valued quantity; ``number`` is negative for ``-``), at its own precision.

    Calendar semantics: a month added to January 31st gives the last day of February; a value
    coarser than the unit takes the unit converted to its precision (``@2014 + 24 months`` is
    ``@2016``; ``@2014 + 11 months`` stays ``@2014``); a Time wraps around midnight; the time
    zone is kept as written.
    """
    kind = temporal_kind(fhir_type)
    if unit not in _ALLOWED[kind]:
        raise ValueError(f"a {fhir_type} cannot be moved by {unit}s")
    p = parts(d, var, is_time=kind == "time")
    groups = (1, 2, 3, 4, 5, 6, 7) if kind != "time" else (None, None, None, 1, 2, 3, 4)
    part = [
        d.string_literal(default) if g is None else p.part(g)
        for g, default in zip(groups, ("2000", "01", "01", "", "", "", ""), strict=True)
    ]
    year, month, day, hour, minute, second, fraction = part
    microseconds = f"CAST(rpad({d.substring(fraction, '1', '6')}, 6, '0') AS BIGINT)"
    levels = LEVELS if kind != "time" else LEVELS[3:]
    cases = []
    start = "12" if kind == "time" else "1"  # where the value's own parts begin in the full text
    has_fraction = p.present(4 if kind == "time" else 7)
    for level in reversed(levels):
        amount, sql_unit = _amount_at(level, number, unit)
        if sql_unit == "microsecond":  # the value's own fraction moves with it, so milliseconds carry
            moved = d.date_time_text(
                year, month, day, hour, minute, second, f"({amount} + {microseconds})", sql_unit
            )
            milliseconds = d.substring(moved, "21", "3")
        else:
            moved = d.date_time_text(year, month, day, hour, minute, second, str(amount), sql_unit)
            milliseconds = _milliseconds(d, fraction)
        cut = d.substring(moved, start, str((_TIME_LENGTH if kind == "time" else _LENGTH)[level]))
        if level == "second":
            cut = f"{cut} || CASE WHEN {has_fraction} THEN '.' || {milliseconds} ELSE '' END"
        present = p.present(LEVELS.index(level) + 1 - (3 if kind == "time" else 0))
        cases.append(f"WHEN {present} THEN {cut}")
    zone = f" || {p.part(8)}" if kind != "time" else ""
    pattern = TIME if kind == "time" else DATE_TIME
    body = (
        f"CASE WHEN {d.regexp_matches(var, d.string_literal(pattern))} "
        f"THEN (CASE {' '.join(cases)} END){zone} END"
    )
    return d.let(text, var, body)
