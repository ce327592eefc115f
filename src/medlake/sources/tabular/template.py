"""Resource templates: FHIR JSON with ``{column}`` placeholders and three directives.

A template is written as the FHIR resource it makes. A string that is exactly
``"{column}"`` becomes the column's converted value in FHIR form (a number stays a
number, a date becomes ``YYYY-MM-DD``); a string with placeholders among text
(``"Patient/pat-{patient_id}"``) becomes text. An element whose placeholder is empty is
left out, and so is an object or list that ends up empty, so optional data needs no
conditions. Three directives build what a placeholder cannot:

* ``{$concept: "{col}"}`` — a CodeableConcept from a code column (standard coding, plus
  the local one when the code table names a local system); other keys beside the
  directive (``text``) are added to it;
* ``{$coding: "{col}"}`` — a single Coding from a code column;
* ``{$quantity: {value: "{col}", unit: "{col}", analyte: "{col}", to: UCUM, decimals: N}}``
  — a UCUM Quantity, converted to the analyte's unit (or ``to``) with the factors the
  mapping declares; a value with a comparator (``<0.5``) keeps it.

An object with ``$when: column`` (or a list of columns) is left out unless they all have
a value: ``{$when: phone, system: phone, value: "{phone}"}`` makes no ContactPoint that
has a system and no number.

Templates are compiled once when the mapping is loaded, against the R4 element tables of
the FHIR model classes: a misspelt column or element, a list written as a single value,
text where FHIR wants a number are errors in the mapping file, not in every row. The
element types also decide how a value renders: ``"{visit_id}"`` in ``Identifier.value``
(a FHIR string) gives ``"17"``, in ``Timing.repeat.frequency`` (an integer) gives ``17``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from fhirclient.models.fhirabstractbase import FHIRAbstractBase
from fhirclient.models.fhirdate import FHIRDate
from fhirclient.models.resource import Resource

from medlake.errors import InputError, InvalidRecord
from medlake.sources.tabular.codes import UCUM, Code, QuantityError, Units, convert_value
from medlake.sources.tabular.values import Column, Measured, fhir_value, json_number, text_value

DIRECTIVES = ("$concept", "$coding", "$quantity")
DEFAULT_DECIMALS = 2
_FORMATTER = string.Formatter()


class TemplateError(InputError):
    """A template that cannot work: an unknown column, a malformed directive."""


class RowError(InvalidRecord):
    """A row that does not convert; the message names the column and the reason."""


Values = Mapping[str, Any]


class Node:
    def render(self, values: Values, units: Units) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Const(Node):
    value: Any

    def render(self, values: Values, units: Units) -> Any:
        return self.value


@dataclass(frozen=True)
class Field(Node):
    """``"{column}"``: the column's value as FHIR JSON (as text where FHIR wants text)."""

    column: str
    text: bool = False

    def render(self, values: Values, units: Units) -> Any:
        value = values[self.column]
        if value is None:
            return None
        return text_value(value) if self.text else fhir_value(value)


@dataclass(frozen=True)
class Text(Node):
    """Text with placeholders; left out when any placeholder is empty."""

    parts: tuple[tuple[str, str | None], ...]  # (literal text, column or None)
    source: str

    def render(self, values: Values, units: Units) -> str | None:
        out = []
        for literal, column in self.parts:
            out.append(literal)
            if column is not None:
                value = values[column]
                if value is None:
                    return None
                out.append(text_value(value))
        return "".join(out)

    @property
    def columns(self) -> list[str]:
        return [column for _, column in self.parts if column is not None]


@dataclass(frozen=True)
class Obj(Node):
    items: tuple[tuple[str, Node], ...]
    when: tuple[str, ...] = ()  # left out unless all these columns have a value

    def render(self, values: Values, units: Units) -> dict | None:
        if any(values[name] is None for name in self.when):
            return None
        out = {}
        for key, node in self.items:
            value = node.render(values, units)
            if value is not None:
                out[key] = value
        return out or None


@dataclass(frozen=True)
class Array(Node):
    items: tuple[Node, ...]

    def render(self, values: Values, units: Units) -> list | None:
        out = [value for node in self.items if (value := node.render(values, units)) is not None]
        return out or None


@dataclass(frozen=True)
class Concept(Node):
    column: str
    extra: Obj | None
    single: bool  # $coding rather than $concept

    def render(self, values: Values, units: Units) -> dict | None:
        code: Code | None = values[self.column]
        if code is None:
            return None
        out = code.coding() if self.single else {"coding": code.codings()}
        if self.extra is not None:
            out |= self.extra.render(values, units) or {}
        return out


@dataclass(frozen=True)
class Quantity(Node):
    value: str
    unit: Node | None
    unit_column: str | None
    analyte: str | None
    target: str | None
    decimals: int | None
    extra: Obj | None

    def render(self, values: Values, units: Units) -> dict | None:
        raw = values[self.value]
        if raw is None:
            return None
        comparator, number = (raw.comparator, raw.value) if isinstance(raw, Measured) else (None, raw)
        number = Decimal(number) if isinstance(number, int) else number
        out: dict[str, Any] = {}
        if self.unit is None:
            out["value"] = json_number(number)
        else:
            out = self._with_unit(number, values, units)
        if comparator:
            out = {"value": out.pop("value"), "comparator": comparator, **out}
        if self.extra is not None:
            out |= self.extra.render(values, units) or {}
        return out

    def _with_unit(self, number: Decimal, values: Values, units: Units) -> dict[str, Any]:
        assert self.unit is not None
        where = self.unit_column or self.value
        spelling = self.unit.render(values, units)
        if spelling is None:
            raise RowError(f"column '{where}': empty, but the value {text_value(number)} needs a unit")
        analyte: Code | None = values[self.analyte] if self.analyte else None
        try:
            source = units.ucum(str(spelling))
            target = (analyte.unit if analyte is not None and analyte.unit else None) or self.target or source
            factor = units.factor(source, target, analyte)
        except QuantityError as exc:
            raise RowError(f"column '{where}': {exc}") from None
        decimals = next(
            (d for d in (analyte.decimals if analyte else None, self.decimals) if d is not None),
            DEFAULT_DECIMALS,
        )
        value = convert_value(number, factor, decimals)
        return {"value": json_number(value), "unit": target, "system": UCUM, "code": target}


# What FHIR expects at a place in a template: a model class (an object), one of the
# primitive kinds, or None where the model says nothing (inside ``contained``, say).
Shape = type | str | None
TEXT, NUMBER, BOOLEAN = "text", "number", "boolean"
_NUMBER_COLUMNS = ("integer", "decimal")
_DIRECTIVE_TYPES = {"$concept": "CodeableConcept", "$coding": "Coding", "$quantity": "Quantity"}


@cache
def element_types(model: type) -> dict[str, tuple[Shape, bool]]:
    """JSON element name → (shape, is a list) for one FHIR model class."""
    return {
        jsname: (_shape(typ), is_list)
        for _name, jsname, typ, is_list, _group, _required in model().elementProperties()
    }


def _shape(typ: type) -> Shape:
    if typ is bool:
        return BOOLEAN
    if typ in (int, float):
        return NUMBER
    if typ is str or issubclass(typ, FHIRDate):
        return TEXT
    if issubclass(typ, Resource) or not issubclass(typ, FHIRAbstractBase):
        return None  # e.g. contained resources: any type may appear, nothing to check against
    return typ


def compile_template(data: Any, columns: Mapping[str, Column], where: str, shape: Shape = None) -> Node:
    """Compile a template (or a part of one) against the declared columns and the FHIR shape there."""
    if isinstance(data, dict):
        if shape is not None and not isinstance(shape, type):
            raise TemplateError(f"{where}: FHIR expects a {shape} here, not an object")
        when = _when(data.get("$when"), columns, f"{where}.$when")
        data = {k: v for k, v in data.items() if k != "$when"}
        directives = [key for key in data if isinstance(key, str) and key.startswith("$")]
        if not directives:
            return Obj(tuple(_element(str(k), v, columns, where, shape) for k, v in data.items()), when)
        if when:
            raise TemplateError(
                f"{where}: $when goes on an object without a directive (wrap the directive in one)"
            )
        if len(directives) > 1 or directives[0] not in DIRECTIVES:
            raise TemplateError(
                f"{where}: one directive per object, one of {', '.join(DIRECTIVES)}: {directives}"
            )
        directive = directives[0]
        if isinstance(shape, type) and not any(
            cls.__name__ == _DIRECTIVE_TYPES[directive] for cls in shape.__mro__
        ):
            made = _DIRECTIVE_TYPES[directive]
            raise TemplateError(f"{where}: {directive} makes a {made}, FHIR expects a {shape.__name__} here")
        rest = {k: v for k, v in data.items() if k != directive}
        extra = compile_template(rest, columns, where, shape) if rest else None
        assert extra is None or isinstance(extra, Obj)
        if directive == "$quantity":
            return _quantity(data[directive], columns, f"{where}.$quantity", extra)
        column = _single_column(data[directive], columns, f"{where}.{directive}")
        if columns[column].type != "code":
            raise TemplateError(f"{where}.{directive}: column '{column}' is not of type code")
        return Concept(column, extra, single=directive == "$coding")
    if isinstance(data, list):
        return Array(tuple(compile_template(v, columns, f"{where}[{i}]", shape) for i, v in enumerate(data)))
    if isinstance(shape, type):
        raise TemplateError(f"{where}: FHIR expects a {shape.__name__} object here, not {data!r}")
    if isinstance(data, str):
        return _typed_text(_text(data, columns, where), columns, where, shape)
    if isinstance(data, bool):
        if shape not in (None, BOOLEAN):
            raise TemplateError(f"{where}: FHIR expects a {shape} here, not {data!r}")
        return Const(data)
    if isinstance(data, int | float):
        if shape == TEXT:
            return Const(str(data))  # a code or id written without quotes
        if shape == BOOLEAN:
            raise TemplateError(f"{where}: FHIR expects a boolean here, not {data!r}")
        return Const(data)
    if data is None:
        return Const(None)
    raise TemplateError(f"{where}: {type(data).__name__} values cannot appear in a template")


def _when(value: Any, columns: Mapping[str, Column], where: str) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TemplateError(f"{where}: a column name or a list of them")
    for name in names:
        if name not in columns:
            raise TemplateError(f"{where}: {name!r} is not a declared column")
    return tuple(names)


def _element(
    key: str, value: Any, columns: Mapping[str, Column], where: str, model: Shape
) -> tuple[str, Node]:
    at = f"{where}.{key}"
    if not isinstance(model, type) or key.startswith("_"):
        return key, compile_template(value, columns, at)
    elements = element_types(model)
    if key not in elements:
        raise TemplateError(f"{at}: {model.__name__} has no element '{key}'")
    shape, is_list = elements[key]
    if is_list and not isinstance(value, list):
        raise TemplateError(f"{at}: a list in FHIR, write it as [ ... ]")
    if not is_list and isinstance(value, list):
        raise TemplateError(f"{at}: a single value in FHIR, not a list")
    return key, compile_template(value, columns, at, shape)


def _typed_text(node: Node, columns: Mapping[str, Column], where: str, shape: Shape) -> Node:
    """The string node, checked against (and rendering as) the FHIR primitive it fills."""
    if isinstance(node, Field):
        kind = columns[node.column].type
        if shape == TEXT:
            return Field(node.column, text=True)
        if shape == NUMBER and kind not in _NUMBER_COLUMNS:
            raise TemplateError(f"{where}: FHIR expects a number here, column '{node.column}' is {kind}")
        if shape == BOOLEAN and kind != "boolean":
            raise TemplateError(f"{where}: FHIR expects a boolean here, column '{node.column}' is {kind}")
        return node
    if shape in (NUMBER, BOOLEAN):
        raise TemplateError(f"{where}: FHIR expects a {shape} here, not text")
    return node


def _text(data: str, columns: Mapping[str, Column], where: str) -> Node:
    try:
        pieces = list(_FORMATTER.parse(data))
    except ValueError as exc:
        raise TemplateError(f"{where}: {data!r}: {exc} (write a literal brace as {{{{ or }}}})") from None
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in pieces:
        if name is not None:
            if spec or conversion:
                raise TemplateError(f"{where}: {data!r}: placeholders take no format spec or conversion")
            if name not in columns:
                known = ", ".join(columns)
                raise TemplateError(
                    f"{where}: {data!r} uses {{{name}}}, which is not a declared column ({known})"
                )
        parts.append((literal, name or None))
    if len(parts) == 1 and parts[0][0] == "" and parts[0][1] is not None:
        return Field(parts[0][1])
    if all(column is None for _, column in parts):
        return Const("".join(literal for literal, _ in parts))
    return Text(tuple(parts), data)


def _single_column(data: Any, columns: Mapping[str, Column], where: str) -> str:
    node = _text(data, columns, where) if isinstance(data, str) else None
    if not isinstance(node, Field):
        raise TemplateError(f'{where}: expected one placeholder such as "{{column}}", got {data!r}')
    return node.column


def _quantity(args: Any, columns: Mapping[str, Column], where: str, extra: Obj | None) -> Quantity:
    if not isinstance(args, dict):
        raise TemplateError(f'{where}: expected {{value: "{{column}}", unit: ..., analyte: ...}}')
    unknown = set(args) - {"value", "unit", "analyte", "to", "decimals"}
    if unknown:
        raise TemplateError(f"{where}: unknown keys {sorted(unknown)} (value, unit, analyte, to, decimals)")
    if "value" not in args:
        raise TemplateError(f"{where}: 'value' is required")
    value = _single_column(args["value"], columns, f"{where}.value")
    if columns[value].type not in ("decimal", "integer"):
        raise TemplateError(f"{where}.value: column '{value}' must be of type decimal or integer")
    unit = unit_column = None
    if args.get("unit") is not None:
        if not isinstance(args["unit"], str):
            raise TemplateError(f"{where}.unit: expected a unit or a placeholder")
        unit = _text(args["unit"], columns, f"{where}.unit")
        if isinstance(unit, Field):
            unit_column = unit.column
        elif isinstance(unit, Text):
            unit_column = unit.columns[0]
    analyte = None
    if args.get("analyte") is not None:
        analyte = _single_column(args["analyte"], columns, f"{where}.analyte")
        if columns[analyte].type != "code":
            raise TemplateError(f"{where}.analyte: column '{analyte}' is not of type code")
    target = args.get("to")
    if target is not None and (not isinstance(target, str) or unit is None):
        raise TemplateError(f"{where}.to: a UCUM unit, and only together with 'unit'")
    decimals = args.get("decimals")
    if decimals is not None and (not isinstance(decimals, int) or isinstance(decimals, bool) or decimals < 0):
        raise TemplateError(f"{where}.decimals: a number of decimal places (0 or more)")
    return Quantity(value, unit, unit_column, analyte, target, decimals, extra)
