"""The incremental import's last value (Sqoop's ``--last-value``), kept in the catalog as typed JSON.

A check column holds integers, timestamps, dates, decimals or text; its last value is
stored with its type so the next run binds exactly the same kind of value. The key
includes the mode and the check column, so changing either starts afresh instead of
reading a last value that means something else.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from medlake.errors import InputError
from medlake.sources.tabular.mapping import SqlOptions, TableMapping
from medlake.sources.tabular.values import Column


def state_key(table: TableMapping, options: SqlOptions) -> str:
    return f"sql.{table.name}.{options.incremental}.{options.check_column}"


def encode(value: Any) -> str:
    if isinstance(value, bool):
        raise TypeError("a boolean cannot be a check column's value")
    if isinstance(value, datetime):
        kind, text = "datetime", value.isoformat()
    elif isinstance(value, date):
        kind, text = "date", value.isoformat()
    elif isinstance(value, int):
        kind, text = "integer", str(value)
    elif isinstance(value, Decimal | float):
        kind, text = "decimal", str(value)
    elif isinstance(value, str):
        kind, text = "text", value
    else:
        raise TypeError(f"a {type(value).__name__} cannot be a check column's value")
    return json.dumps({"type": kind, "value": text})


def decode(stored: str) -> Any:
    data = json.loads(stored)
    kind, text = data["type"], data["value"]
    return {
        "datetime": datetime.fromisoformat,
        "date": date.fromisoformat,
        "integer": int,
        "decimal": Decimal,
        "text": str,
    }[kind](text)


def parse_last_value(text: str, column: Column | None) -> Any:
    """A ``--last-value`` given on the command line, as the check column's type (guessed if undeclared)."""
    kind = column.type if column is not None else None
    try:
        if kind == "integer":
            return int(text)
        if kind == "decimal":
            return Decimal(text)
        if kind == "datetime":
            return datetime.fromisoformat(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind is not None:
            return text
    except (ValueError, InvalidOperation):
        raise InputError(f"--last-value {text!r} is not a {kind} (the check column's type)") from None
    for guess in (int, datetime.fromisoformat):
        try:
            return guess(text)
        except ValueError:
            continue
    return text
