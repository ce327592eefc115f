"""What a FHIRPath result is worth to each kind of search index (token, string, date, reference, quantity).

A search parameter's expression yields FHIR elements — a ``CodeableConcept``, a ``HumanName``,
a ``Period`` — and each search type reads them its own way (FHIR R4 §3.1.1.4 "Search
parameter types"): a token is a ``system|code`` pair, a string is matched case- and
accent-insensitively from its start, a date is the interval its precision covers. These
functions turn the elements into the rows the index stores, so the search side compares plain
columns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

#: Far ends of time for open periods, in the index's fixed-width UTC text (sorts as it compares).
MIN_INSTANT = "0001-01-01T00:00:00.000000"
MAX_INSTANT = "9999-12-31T23:59:59.999999"
_STAMP = "%Y-%m-%dT%H:%M:%S.%f"

_DATE = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d+)?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_HUMAN_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")


def normalise(text: str) -> str:
    """Case- and accent-insensitive form of a string, as string search compares them."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _unwrap(value: Any) -> Any:
    """An Extension's ``value[x]``, or the value itself."""
    if isinstance(value, dict) and "url" in value:
        inner = [v for k, v in value.items() if k.startswith("value")]
        if len(inner) == 1:
            return inner[0]
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def token_values(values: Iterable[Any]) -> list[tuple[str | None, str]]:
    """(system, code) pairs: Coding, CodeableConcept, Identifier, ContactPoint, code, boolean, id, uri."""
    rows: list[tuple[str | None, str]] = []
    for value in map(_unwrap, values):
        if isinstance(value, bool):
            rows.append((None, "true" if value else "false"))
        elif isinstance(value, dict):
            if "coding" in value:
                rows += [(c.get("system"), c["code"]) for c in value["coding"] if c.get("code")]
            elif "value" in value and isinstance(value["value"], str):  # Identifier, ContactPoint
                rows.append((value.get("system"), value["value"]))
            elif isinstance(value.get("code"), str):  # Coding
                rows.append((value.get("system"), value["code"]))
        elif value is not None:
            rows.append((None, _text(value)))
    return rows


def string_values(values: Iterable[Any]) -> list[tuple[str, str]]:
    """(normalised, as written) strings: a plain string, or each part of a HumanName or an Address."""
    rows: list[tuple[str, str]] = []
    for value in map(_unwrap, values):
        if isinstance(value, dict):
            parts = _HUMAN_NAME_PARTS if "family" in value or "given" in value else _ADDRESS_PARTS
            for key in parts:
                part = value.get(key)
                for item in part if isinstance(part, list) else [part]:
                    if isinstance(item, str) and item.strip():
                        rows.append((normalise(item), item))
        elif isinstance(value, str) and value.strip():
            rows.append((normalise(value), value))
    return rows


def date_interval(text: str) -> tuple[str, str] | None:
    """The UTC interval [low, high) a FHIR date, dateTime or instant covers at its precision.

    ``2021`` is the whole year, ``2021-03-04`` the whole day, ``2021-03-04T10:00:00+02:00`` one
    second. A value without a time zone (a date, or a dateTime without one) is read as UTC.
    """
    match = _DATE.match(text.strip())
    if not match:
        return None
    parts = match.groupdict()
    try:
        year, month, day = int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1)
        start = datetime(
            year,
            month,
            day,
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if parts["fraction"]:
        digits = parts["fraction"][1:7]
        start = start.replace(microsecond=int(digits.ljust(6, "0")))
    zone = parts["zone"]
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        start -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    if parts["fraction"]:
        end = start + timedelta(microseconds=1)
    elif parts["second"]:
        end = start + timedelta(seconds=1)
    elif parts["minute"]:
        end = start + timedelta(minutes=1)
    elif parts["day"]:
        end = start + timedelta(days=1)
    elif parts["month"]:
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    else:
        end = datetime(year + 1, 1, 1, tzinfo=UTC)
    return start.strftime(_STAMP), end.strftime(_STAMP)


def date_values(values: Iterable[Any]) -> list[tuple[str, str]]:
    """[low, high) intervals of dates, dateTimes, instants and Periods (open ends reach far)."""
    rows: list[tuple[str, str]] = []
    for value in map(_unwrap, values):
        if isinstance(value, dict):  # Period
            start = date_interval(_text(value["start"])) if value.get("start") else None
            end = date_interval(_text(value["end"])) if value.get("end") else None
            if start or end:
                rows.append((start[0] if start else MIN_INSTANT, end[1] if end else MAX_INSTANT))
        elif value is not None and not isinstance(value, bool):
            interval = date_interval(_text(value))
            if interval:
                rows.append(interval)
    return rows


def reference_values(values: Iterable[Any]) -> list[tuple[str, str]]:
    """(target type, target id) of literal references, relative or absolute (``…/Type/id``)."""
    rows: list[tuple[str, str]] = []
    for value in map(_unwrap, values):
        reference = value.get("reference") if isinstance(value, dict) else value
        if not isinstance(reference, str):
            continue
        parts = reference.split("/_history/", 1)[0].rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2][:1].isupper() and parts[-1]:
            rows.append((parts[-2], parts[-1]))
    return rows


def quantity_values(values: Iterable[Any]) -> list[tuple[float, str | None, str | None]]:
    """(value, system, code or unit) of Quantities (Age, Duration …) and plain numbers."""
    rows: list[tuple[float, str | None, str | None]] = []
    for value in map(_unwrap, values):
        if isinstance(value, dict) and "value" in value:
            number = _number(value["value"])
            if number is not None:
                rows.append((number, value.get("system"), value.get("code") or value.get("unit")))
        elif not isinstance(value, (bool, dict)) and value is not None:
            number = _number(value)
            if number is not None:
                rows.append((number, None, None))
    return rows


def _number(value: Any) -> float | None:
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None
