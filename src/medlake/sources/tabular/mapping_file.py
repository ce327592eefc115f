"""The schema of a mapping file, as pydantic models: every key it may hold, of what type, with what default.

Loading checks the whole file against these before anything else: an unknown key (a typo such as
``colums``) or a value of the wrong type fails with its place in the file (``tables.labs.colums``)
and, for an unknown key, the keys that place knows. Every model forbids extra keys and is strict,
so ``required: yes`` is an error rather than a quiet ``True``. What the schema cannot say (a code
column's table exists, a datetime column has a time zone, a template names declared columns) is
checked when the mapping is compiled (``mapping.py``).

Shorthands stay as users write them: a column may be just its type (``born: date``), a code-table
entry just its code (``M: male``), a format or a list of names a single string.
"""

from __future__ import annotations

import types
import typing
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from medlake.sources.tabular.values import TYPES

INCREMENTAL_MODES = ("none", "append", "lastmodified")


def _names(value: Any) -> Any:
    """A name or a list of names, as a list."""
    return [value] if isinstance(value, str) else value


def _factor(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise ValueError(f"a conversion factor must be a positive number, got {value!r}")
    return number


Names = Annotated[list[str], BeforeValidator(_names)]
Factor = Annotated[Decimal, BeforeValidator(_factor)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CodeEntry(_Spec):
    code: str
    system: str | None = None
    display: str | None = None
    unit: str | None = None
    convert: dict[str, Factor] = Field(default_factory=dict)
    decimals: int | None = Field(default=None, ge=0)

    @field_validator("code", mode="before")
    @classmethod
    def _code_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class CodeTableSpec(_Spec):
    system: str | None = None
    local_system: str | None = None
    ignore_case: bool = False
    map: dict[str, CodeEntry]

    @field_validator("map", mode="before")
    @classmethod
    def _entries(cls, value: Any) -> Any:
        """Local codes as text (YAML reads ``12`` as a number); an entry written as just its code."""
        if not isinstance(value, dict):
            return value
        shorthand = (str, int)
        return {
            str(local): {"code": entry}
            if isinstance(entry, shorthand) and not isinstance(entry, bool)
            else entry
            for local, entry in value.items()
        }


class Conversion(_Spec):
    source: str = Field(alias="from")
    to: str
    factor: Factor


class ColumnSpec(_Spec):
    type: Literal[*TYPES] = "string"  # type: ignore[valid-type]
    source: str | None = None
    format: Names = Field(default_factory=list)
    required: bool = False
    optional: bool = False
    table: str | None = None
    timezone: str | None = None
    decimal_separator: Literal[".", ","] = "."
    comparator: bool = False
    true_values: Names = Field(default_factory=list)
    false_values: Names = Field(default_factory=list)


class CsvSpec(_Spec):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    encoding: str = "utf-8-sig"
    skip_lines: int = Field(default=0, ge=0)
    max_row_lines: int = Field(default=100, ge=1)


class ExcelSpec(_Spec):
    sheet: str | None = None
    skip_rows: int = Field(default=0, ge=0)


class SqlSpec(_Spec):
    table: str | None = None
    db_schema: str | None = Field(default=None, alias="schema")
    query: str | None = None
    key: Names = Field(default_factory=list)
    incremental: Literal[*INCREMENTAL_MODES] = "none"  # type: ignore[valid-type]
    check_column: str | None = None
    lookback_seconds: int = Field(default=0, ge=0)
    chunk_size: int = Field(default=5_000, ge=1)
    commit_rows: int = Field(default=100_000, ge=1)


class TableSpec(_Spec):
    description: str | None = None
    columns: dict[str, ColumnSpec]
    resources: list[dict[str, Any]] = Field(min_length=1)
    csv: CsvSpec = Field(default_factory=CsvSpec)
    excel: ExcelSpec = Field(default_factory=ExcelSpec)
    sql: SqlSpec | None = None

    @field_validator("columns", mode="before")
    @classmethod
    def _columns(cls, value: Any) -> Any:
        """Column names as text; a column written as just its type, or with nothing at all."""
        if not isinstance(value, dict):
            return value
        return {
            str(name): {"type": spec} if isinstance(spec, str) else {} if spec is None else spec
            for name, spec in value.items()
        }


class MappingFile(_Spec):
    name: str
    description: str = ""
    timezone: str | None = None
    codes: dict[str, CodeTableSpec] = Field(default_factory=dict)
    units: dict[str, str] = Field(default_factory=dict)
    conversions: list[Conversion] = Field(default_factory=list)
    tables: dict[str, TableSpec] = Field(min_length=1)

    @field_validator("codes", "units", "tables", mode="before")
    @classmethod
    def _text_keys(cls, value: Any) -> Any:
        return {str(key): item for key, item in value.items()} if isinstance(value, dict) else value


def problems(error: ValidationError) -> str:
    """The errors of a mapping file, each with its place (``tables.labs.columns.born.type``)."""
    found = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        if item["type"] == "extra_forbidden":
            known = ", ".join(sorted(_known_keys(loc[:-1])))
            found.append(f"{_where(loc)}: unknown key (known: {known})")
        elif item["type"] == "missing":
            found.append(f"{_where(loc[:-1])}: '{loc[-1]}' is required")
        elif item["type"] == "value_error":
            found.append(f"{_where(loc)}: {item['ctx']['error']}")
        else:
            found.append(f"{_where(loc)}: {item['msg'][0].lower()}{item['msg'][1:]}, got {item['input']!r}")
    return "; ".join(found)


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "mapping"


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model at ``loc`` (a place in the file) takes."""
    kind: Any = MappingFile
    for step in loc:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = next(f for name, f in kind.model_fields.items() if (f.alias or name) == step)
            kind = field.annotation
        else:  # a dict's value or a list's item
            kind = typing.get_args(kind)[-1]
        kind = _model_in(kind)
    if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
        return []
    return [f.alias or name for name, f in kind.model_fields.items()]


def _model_in(kind: Any) -> Any:
    """``kind`` without ``| None`` and ``Annotated``."""
    if typing.get_origin(kind) is Annotated:
        kind = typing.get_args(kind)[0]
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    return kind
