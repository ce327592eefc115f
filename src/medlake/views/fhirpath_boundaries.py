"""``lowBoundary([precision])`` and ``highBoundary([precision])`` on every type FHIRPath gives them.

A FHIR value stands for every value it could be at its precision: ``1.587`` for anything in
[1.5865, 1.5875], ``@2014`` for any moment of that year. The boundaries are the ends of that
range, optionally to a coarser or finer ``precision`` (digits after the point for a
decimal; 4/6/8 digits of a date, up to 17 of a dateTime, up to 9 of a time):

* Decimal (and Integer, a decimal with no digits after the point): the value minus (plus)
  half a unit of its last digit, computed exactly in SQL ``DECIMAL``; at a given precision
  rounded down (up), so it still bounds the range — ``1.587.lowBoundary(2)`` is ``1.58``,
  ``(-1.587).lowBoundary(2)`` is ``-1.59``, as the FHIRPath specification's examples say.
* Date, DateTime, Instant, Time: see :func:`medlake.views.fhirpath_temporal.boundary`.
* Period (as SQL-on-FHIR asks): the low boundary of ``start``, the high boundary of ``end``.

A precision outside what the type has (negative, between a date's parts, finer than the
implementation holds) gives empty, as the specification says. The precision must be an
integer literal: it decides the result's shape, which the compiled SQL fixes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from medlake.engine.dialect import Dialect
from medlake.views.fhirpath_ast import Literal, Unary
from medlake.views.fhirpath_temporal import TEMPORAL_TYPES, boundary
from medlake.views.fhirpath_values import Kind, Value

if TYPE_CHECKING:
    from medlake.views.fhirpath_compiler import FhirPathCompiler, Scope
    from medlake.views.fhirpath_functions import Args, Function

#: How many digits after the point a decimal boundary is computed with: the bound needs one
#: more digit than the value, so values with up to 17 decimals have exact boundaries.
DECIMAL_SCALE = 18
#: The greatest precision a decimal boundary can be asked for; beyond it the result is empty.
MAX_DECIMAL_PRECISION = DECIMAL_SCALE - 1
# Groups: 1 digits after the point, 2 exponent.
_DECIMAL_TEXT = r"^[+-]?[0-9]*(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$"


def boundary_function(high: bool) -> Function:
    name = "highBoundary" if high else "lowBoundary"

    def fn(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
        precision = _precision(c, args, name)
        value = c.ops.singleton(c.ops.materialize(base), c.many_message(f"{name}()"))
        fhir_type = value.fhir_type
        if fhir_type == "Period":
            value = c.ops.singleton(c.navigate(value, "end" if high else "start"), c.many_message(name))
            fhir_type = value.fhir_type
        kind = value.natural_kind
        if fhir_type in TEMPORAL_TYPES:
            text = c.ops.as_kind(value, Kind.STRING).sql
            sql = boundary(c.d, text, fhir_type, high, precision, c.fresh("t"))
            return _result(c, sql, Kind.STRING, fhir_type)
        if kind in (Kind.DECIMAL, Kind.INTEGER):
            text = decimal_text(c, value)
            return _result(c, _decimal_boundary(c, text, high, precision), Kind.DECIMAL, "decimal")
        hint = {
            None: " (narrow it first, e.g. value.ofType(dateTime))",
            "Quantity": " (take the boundary of its value: value.ofType(Quantity).value)",
        }.get(fhir_type, f", not a {fhir_type}")
        raise c.error(f"{name}() needs a decimal, date, dateTime, instant, time or Period{hint}")

    return fn


def _precision(c: FhirPathCompiler, args: Args, name: str) -> int | None:
    if not args:
        return None
    node = args[0]
    negative = isinstance(node, Unary) and node.op == "-"
    if negative:
        node = node.operand  # type: ignore[union-attr]
    if not (isinstance(node, Literal) and node.type == "integer"):
        raise c.error(f"{name}(precision) takes an integer literal, e.g. {name}(6)")
    return -int(node.value) if negative else int(node.value)  # type: ignore[arg-type]


def decimal_text(c: FhirPathCompiler, value: Value) -> str:
    """SQL: the digits that decide a number's precision.

    A literal keeps what was written (``1.50`` has two decimals); a number read from a
    resource has the engine's JSON text of it (``1.0``, ``1e-7``; DuckDB writes ``1.50`` as
    ``1.5``); a computed one (``toDecimal()``, arithmetic) has no written digits, and its
    shortest form counts (``1`` for 1.0).
    """
    if value.is_literal:
        return c.d.string_literal(str(value.literal))
    text = c.ops.as_kind(value, Kind.STRING).sql
    if value.kind is Kind.JSON:
        return text
    return c.d.regexp_replace(text, c.d.string_literal(r"\.0$"), "''")


def decimal_places(d: Dialect, text: str, *, significant_only: bool = False) -> str:
    """SQL: how many digits after the point a decimal text has (``1.587`` 3, ``1e-7`` 7, ``120`` 0);
    with ``significant_only`` trailing zeros do not count (``1.10`` 1)."""
    fraction = d.regexp_extract(text, _DECIMAL_TEXT, 1)
    if significant_only:
        fraction = f"rtrim({fraction}, '0')"
    exponent_text = f"nullif({d.regexp_extract(text, _DECIMAL_TEXT, 2)}, '')"
    exponent = f"coalesce({d.try_cast(exponent_text, 'INTEGER')}, 0)"
    return f"greatest(length({fraction}) - {exponent}, 0)"


def _result(c: FhirPathCompiler, sql: str | None, kind: Kind, fhir_type: str) -> Value:
    if sql is None:  # a precision the type does not have: empty
        return c.ops.empty(kind, fhir_type)
    return Value(sql, False, kind, fhir_type)


def _decimal_boundary(c: FhirPathCompiler, text: str, high: bool, precision: int | None) -> str | None:
    """SQL: the boundary of a decimal given as text (``1.587``, ``-1e-7``, ``120``), as a DOUBLE."""
    if precision is not None and not 0 <= precision <= MAX_DECIMAL_PRECISION:
        return None
    d = c.d
    var = c.fresh("t")
    exact = f"DECIMAL(38, {DECIMAL_SCALE})"
    digits = decimal_places(d, var)
    half = d.cast(f"'0.' || repeat('0', {digits}) || '5'", exact)
    bound = f"({d.try_cast(var, exact)} {'+' if high else '-'} {half})"
    if precision is None:
        value = bound
    else:  # round down (up) to a multiple of 10^-precision, with the exact remainder
        unit = d.cast(d.string_literal(f"{Decimal(1).scaleb(-precision):f}"), exact)
        rest = f"({bound} % {unit})"
        away = f"{bound} - {rest} {'+' if high else '-'} {unit}"
        toward_zero = f"{bound} - {rest}"
        up, down = (away, toward_zero) if high else (toward_zero, away)
        value = f"(CASE WHEN {rest} = 0 THEN {bound} WHEN {bound} > 0 THEN {up} ELSE {down} END)"
    test = d.regexp_matches(var, d.string_literal(_DECIMAL_TEXT))
    body = (
        f"(CASE WHEN {test} AND {digits} < {DECIMAL_SCALE} THEN {d.cast(value, d.sql_type('decimal'))} END)"
    )
    return d.let(text, var, body)
