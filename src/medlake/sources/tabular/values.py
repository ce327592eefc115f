"""Typed cell values: from what a CSV, a sheet or a database gives to what FHIR needs.

A CSV gives text; a spreadsheet gives numbers, dates and text as the person typed them;
a database gives typed values. Each column declares one type, and a cell of any origin
converts to it or fails with a reason that names the value and what was expected (the
caller adds the column's name). The converted values render into FHIR JSON with
:func:`fhir_value` (numbers stay numbers) or into text with :func:`text_value`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from medlake.errors import InvalidRecord
from medlake.sources.tabular.codes import Code, CodeTable

TYPES = ("string", "integer", "decimal", "boolean", "date", "datetime", "code")
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})
_INTEGER = re.compile(r"^[-+]?\d+$")
_COMPARATOR = re.compile(r"^(<=|>=|<|>)\s*(.+)$")


class CellError(InvalidRecord):
    """A cell that does not convert to its column's type; the message names value and type."""


@dataclass(frozen=True, slots=True)
class Measured:
    """A number with a comparator, as labs report values beyond the measuring range ("<0.5")."""

    comparator: str | None
    value: Decimal


@dataclass(frozen=True)
class Column:
    """One declared column: where its cells come from and what they must be.

    ``required``: a row whose cell is empty does not convert. ``optional``: the file or
    table may lack the column altogether (its cells then count as empty); without it a
    missing column is an error for every row, so a renamed header never loses data
    silently.
    """

    name: str
    source: str
    type: str = "string"
    formats: tuple[str, ...] = ()
    required: bool = False
    optional: bool = False
    codes: CodeTable | None = None
    timezone: ZoneInfo | None = None
    decimal_separator: str = "."
    comparator: bool = False
    true_words: frozenset[str] = TRUE_WORDS
    false_words: frozenset[str] = FALSE_WORDS

    def convert(self, raw: Any) -> Any:
        """The cell as this column's type; ``None`` when empty. Raises :class:`CellError`."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise CellError("empty, but required")
            return None
        return _CONVERTERS[self.type](self, raw)


def _shown(raw: Any) -> str:
    return repr(raw.strip()) if isinstance(raw, str) else repr(raw)


def _string(column: Column, raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))  # a spreadsheet holds the code 12345 as the number 12345.0
    if isinstance(raw, datetime | date | time):
        return raw.isoformat()
    return str(raw).strip()


def _integer(column: Column, raw: Any) -> int:
    if isinstance(raw, bool):
        raise CellError(f"{_shown(raw)} is not an integer")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float | Decimal) and raw == int(raw):
        return int(raw)
    text = str(raw).strip()
    if isinstance(raw, str) and _INTEGER.match(text):
        return int(text)
    raise CellError(f"{_shown(raw)} is not an integer")


def _number(column: Column, raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise CellError(f"{_shown(raw)} is not a number")
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))  # the shortest text that round-trips, not the binary expansion
    else:
        text = str(raw).strip().replace(" ", "")
        if column.decimal_separator != ".":
            if "." in text:
                raise CellError(
                    f"{_shown(raw)} is not a number with decimal separator {column.decimal_separator!r}"
                )
            text = text.replace(column.decimal_separator, ".")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise CellError(f"{_shown(raw)} is not a number") from None
    if not value.is_finite():
        raise CellError(f"{_shown(raw)} is not a finite number")
    return value


def _decimal(column: Column, raw: Any) -> Decimal | Measured:
    if column.comparator and isinstance(raw, str) and (match := _COMPARATOR.match(raw.strip())):
        return Measured(match[1], _number(column, match[2]))
    try:
        return _number(column, raw)
    except CellError:
        if isinstance(raw, str) and _COMPARATOR.match(raw.strip()):
            raise CellError(
                f"{_shown(raw)} is not a number (declare comparator: true to accept <, >)"
            ) from None
        raise


def _boolean(column: Column, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(_integer(column, raw) if isinstance(raw, int | float) else raw).strip().casefold()
    if word in column.true_words:
        return True
    if word in column.false_words:
        return False
    allowed = ", ".join(sorted(column.true_words | column.false_words))
    raise CellError(f"{_shown(raw)} is not a boolean (one of {allowed})")


def _formats(column: Column) -> str:
    return " or ".join(column.formats) if column.formats else "ISO 8601"


def _date(column: Column, raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    for fmt in column.formats or ("%Y-%m-%d",):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellError(f"{_shown(raw)} is not a date in format {' or '.join(column.formats or ('%Y-%m-%d',))}")


def _datetime(column: Column, raw: Any) -> datetime | date:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        return raw  # a day without a time is a valid FHIR dateTime
    else:
        text = str(raw).strip()
        value = _parse_datetime(text, column.formats)
        if value is None:
            raise CellError(f"{_shown(raw)} is not a date and time in format {_formats(column)}")
    if value.tzinfo is None:
        if column.timezone is None:
            raise CellError(f"{_shown(raw)} has no time zone and the mapping declares none")
        value = value.replace(tzinfo=column.timezone)
    return value


def _parse_datetime(text: str, formats: tuple[str, ...]) -> datetime | None:
    if not formats:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _code(column: Column, raw: Any) -> Code:
    assert column.codes is not None  # checked when the mapping is loaded
    local = _string(column, raw)
    code = column.codes.lookup(local)
    if code is None:
        raise CellError(f"{local!r} is not in code table '{column.codes.name}'")
    return code


_CONVERTERS = {
    "string": _string,
    "integer": _integer,
    "decimal": _decimal,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "code": _code,
}


def json_number(value: Decimal) -> int | float:
    """A decimal as a JSON number: an integer when it is whole, so 70 stays 70, not 70.0."""
    return int(value) if value == value.to_integral_value() else float(value)


def fhir_value(value: Any) -> Any:
    """A converted value as FHIR JSON: dates as FHIR date/dateTime text, numbers as numbers."""
    if isinstance(value, Code):
        return value.code
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, Measured):
        if value.comparator:
            return f"{value.comparator}{value.value}"
        return json_number(value.value)
    return value


def text_value(value: Any) -> str:
    """A converted value inside text (ids, references, display strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, Measured):
        return f"{value.comparator or ''}{text_value(value.value)}"
    return str(fhir_value(value))
