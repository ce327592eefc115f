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
    """SQL reading each part of one bound text value (``''`` where the value stops)."""

    part: Callable[[int], str]
    is_time: bool

    def present(self, group: int) -> str:
        return f"({self.part(group)} <> '')"


def parts(d: Dialect, text: str, is_time: bool) -> Parts:
    pattern = TIME if is_time else DATE_TIME
    return Parts(lambda group: d.regexp_extract(text, pattern, group), is_time)


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
        utc = d.utc_date_time_text(*(p.part(g) for g in (1, 2, 3, 4, 5, 6)), _offset_minutes(p.part(8)))
        moved = f"substring({utc} || '.' || {_milliseconds(d, p.part(7))}, 1, length({local}))"
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
