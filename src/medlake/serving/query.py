"""Parsing a FHIR search's query string into a checked :class:`SearchQuery`.

Everything a client may send is checked here, before any SQL exists: a parameter the type does
not define, a modifier or prefix the index cannot honour, a malformed date or number, a
chained parameter — each is a :class:`SearchError` naming what was wrong (HTTP 400), never a
silently ignored filter that would return more than was asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medlake.errors import InputError, NotFound
from medlake.serving.definitions import RESULT_PARAMETERS, SearchParameter, search_parameters, served_types
from medlake.serving.values import date_interval

DEFAULT_COUNT = 50
MAX_COUNT = 1_000
DATE_PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge")
_UNSUPPORTED_PREFIXES = ("sa", "eb", "ap")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
#: Modifiers each search type takes (None is "no modifier").
MODIFIERS: dict[str, tuple[str | None, ...]] = {
    "token": (None, "missing"),
    "uri": (None, "missing"),
    "string": (None, "exact", "contains", "missing"),
    "date": (None, "missing"),
    "reference": (None, "missing"),
    "quantity": (None, "missing"),
    "number": (None, "missing"),
}


class SearchError(InputError):
    """A search the index cannot answer as asked: an unknown parameter, modifier, prefix or value."""


class UnknownResourceType(NotFound):
    """A resource type the server does not serve."""


@dataclass(frozen=True)
class Criterion:
    """One search parameter as sent: its values are alternatives (OR); criteria combine with AND."""

    parameter: SearchParameter
    modifier: str | None
    values: tuple[str, ...]


@dataclass(frozen=True)
class SearchQuery:
    resource_type: str
    criteria: tuple[Criterion, ...]
    count: int = DEFAULT_COUNT
    sort: tuple[tuple[SearchParameter, bool], ...] = ()  # (parameter, descending)
    include: tuple[tuple[SearchParameter, str | None], ...] = ()  # (reference parameter, target type)
    summary_count: bool = False


def check_type(resource_type: str) -> str:
    if resource_type not in served_types():
        raise UnknownResourceType(f"resource type {resource_type!r} is not served here")
    return resource_type


def parse_search(resource_type: str, params: list[tuple[str, str]]) -> SearchQuery:
    """The query ``params`` (name, value pairs, as sent) ask of ``resource_type``."""
    check_type(resource_type)
    definitions = search_parameters(resource_type)
    criteria: list[Criterion] = []
    count, summary_count = DEFAULT_COUNT, False
    sort: list[tuple[SearchParameter, bool]] = []
    include: list[tuple[SearchParameter, str | None]] = []
    for name, value in params:
        if name == "_count":
            count = _count(value)
        elif name == "_summary":
            if value not in ("count", "false"):
                raise SearchError(f"_summary={value!r} is not supported (only count and false)")
            summary_count = value == "count"
        elif name == "_format":
            if value not in ("json", "application/json", "application/fhir+json"):
                raise SearchError(f"_format={value!r}: this server speaks JSON only")
        elif name == "_total":
            if value not in ("accurate", "estimate", "none"):
                raise SearchError(f"_total={value!r} is not one of accurate, estimate, none")
        elif name == "_sort":
            sort += [_sort_key(definitions, key, resource_type) for key in value.split(",") if key]
        elif name == "_include":
            include.append(_include(definitions, value, resource_type))
        elif name in RESULT_PARAMETERS:
            raise SearchError(f"{name} cannot be combined with other search parameters")
        else:
            criteria.append(_criterion(definitions, name, value, resource_type))
    return SearchQuery(resource_type, tuple(criteria), count, tuple(sort), tuple(include), summary_count)


def _count(value: str) -> int:
    if not value.isdigit():
        raise SearchError(f"_count must be a whole number, not {value!r}")
    return min(int(value), MAX_COUNT)


def _sort_key(
    definitions: dict[str, SearchParameter], key: str, resource_type: str
) -> tuple[SearchParameter, bool]:
    descending = key.startswith("-")
    code = key.lstrip("-")
    if code not in definitions:
        raise SearchError(
            f"cannot sort {resource_type} by {code!r}: not a search parameter of {resource_type}"
        )
    return definitions[code], descending


def _include(
    definitions: dict[str, SearchParameter], value: str, resource_type: str
) -> tuple[SearchParameter, str | None]:
    parts = value.split(":")
    if len(parts) not in (2, 3) or parts[0] != resource_type:
        raise SearchError(f"_include={value!r}: expected {resource_type}:<reference parameter>[:<type>]")
    parameter = definitions.get(parts[1])
    if parameter is None or parameter.type != "reference":
        raise SearchError(f"_include={value!r}: {parts[1]!r} is not a reference parameter of {resource_type}")
    target = parts[2] if len(parts) == 3 else None
    if target is not None and (target not in parameter.target or target not in served_types()):
        raise SearchError(f"_include={value!r}: {target!r} is not a served target of {parts[1]!r}")
    return parameter, target


def _criterion(
    definitions: dict[str, SearchParameter], name: str, value: str, resource_type: str
) -> Criterion:
    code, _, modifier = name.partition(":")
    if "." in code:
        raise SearchError(f"chained search ({name}) is not supported")
    parameter = definitions.get(code)
    if parameter is None:
        known = ", ".join(sorted(definitions))
        raise SearchError(f"unknown search parameter {code!r} for {resource_type}; known: {known}")
    if modifier and parameter.type == "reference" and modifier in parameter.target:
        pass  # a type modifier: patient:Patient=123
    elif (modifier or None) not in MODIFIERS[parameter.type]:
        raise SearchError(f"modifier :{modifier} is not supported on {code} ({parameter.type})")
    if modifier == "missing":
        if value not in ("true", "false"):
            raise SearchError(f"{name} takes true or false, not {value!r}")
        return Criterion(parameter, modifier, (value,))
    values = tuple(_split_values(value))
    if not values:
        raise SearchError(f"{name} needs a value")
    for item in values:
        _check_value(parameter, name, item)
    return Criterion(parameter, modifier or None, values)


def _split_values(value: str) -> list[str]:
    """Comma-separated alternatives; ``\\,`` is a literal comma."""
    parts, current, escaped = [], [], False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p != ""]


def split_prefix(value: str) -> tuple[str, str]:
    """(prefix, rest) of a date or number value; eq when it has none."""
    head = value[:2]
    if head in DATE_PREFIXES and len(value) > 2 and not value[2:3].isalpha():
        return head, value[2:]
    if head in _UNSUPPORTED_PREFIXES and len(value) > 2:
        raise SearchError(f"the {head} prefix is not supported (use eq, ne, lt, le, gt or ge)")
    return "eq", value


def _check_value(parameter: SearchParameter, name: str, value: str) -> None:
    if parameter.type == "date":
        _, rest = split_prefix(value)
        if date_interval(rest) is None:
            raise SearchError(
                f"{name}={value!r}: not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD[Thh:mm[:ss][zone]])"
            )
    elif parameter.type in ("quantity", "number"):
        _, rest = split_prefix(value)
        number = rest.split("|", 1)[0]
        if not _NUMBER.match(number) or (parameter.type == "number" and "|" in rest):
            raise SearchError(
                f"{name}={value!r}: expected [prefix]number"
                + ("|system|code" if parameter.type == "quantity" else "")
            )
