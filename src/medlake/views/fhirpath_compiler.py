"""FHIRPath syntax trees → SQL expressions over a JSON resource.

Semantics follow FHIRPath as profiled by SQL-on-FHIR v2: paths over collections, empty
collections as SQL NULL (or empty lists), three-valued boolean logic (which SQL's
``AND``/``OR`` already implement), and singleton evaluation for operators. Functions are
compiled set-based – ``where`` becomes ``list_filter`` with a lambda, ``first()`` a JSONPath
index – so a view runs as one vectorised query with no per-row Python.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from medlake.engine.dialect import Dialect
from medlake.fhir.model import (
    ABSTRACT_TYPES,
    SYSTEM_TYPES,
    FhirModel,
    choice_suffix_type,
    type_suffix,
)
from medlake.views.errors import ViewDefinitionError
from medlake.views.fhirpath_ast import (
    Binary,
    Call,
    Constant,
    Indexer,
    IndexVar,
    Literal,
    Member,
    Navigate,
    Node,
    Quantity,
    This,
    TotalVar,
    TypeOp,
    Unary,
    type_name_of,
)
from medlake.views.fhirpath_boundaries import decimal_places, decimal_text
from medlake.views.fhirpath_functions import ARITY, FUNCTIONS
from medlake.views.fhirpath_temporal import (
    compare_keys,
    comparison_key,
    duration_unit,
    equivalent_keys,
    shift,
    temporal_kind,
)
from medlake.views.fhirpath_values import Kind, RootFields, Value, ValueOps, kind_for_type

#: FHIRPath's standard environment variables (besides %resource, %rowIndex …).
STANDARD_CONSTANTS = {
    "ucum": "http://unitsofmeasure.org",
    "sct": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
}

# A reference ``[base/]Type/id[/_history/version]``: group 2 is the type, group 3 the id.
# Ids are not limited to FHIR's 64 characters: the integrated layer prefixes them with the
# institution (``<institution>.<id>``).
ID_PATTERN = r"([^/?#]+)(/_history/[^/?#]+)?$"
REFERENCE_PATTERN = r"(^|/)([A-Z][A-Za-z]+)/" + ID_PATTERN
URN_PATTERN = r"^urn:(uuid|oid):(.+)$"


_NUMBERS = frozenset({Kind.INTEGER, Kind.DECIMAL})
_ARITHMETIC_KINDS = _NUMBERS | {Kind.STRING}

#: Every error the compiled SQL can raise at run time starts with this, so callers can tell
#: a view's own errors from engine failures.
RUNTIME_ERROR_PREFIX = "medlake view"


@dataclass(frozen=True)
class Scope:
    """What names mean where an expression is compiled."""

    this: Value
    resource: Value
    row_index: str
    index: str | None = None


class FhirPathCompiler:
    """Compiles FHIRPath for one ViewDefinition (its constants, its resource type)."""

    def __init__(
        self,
        dialect: Dialect,
        model: FhirModel,
        constants: dict[str, Value],
        counter: itertools.count | None = None,
        root_fields: RootFields | None = None,
    ) -> None:
        self.d = dialect
        self.model = model
        self.constants = constants
        self._counter = counter or itertools.count(1)
        self.ops = ValueOps(dialect, self.fresh, root_fields)
        self.expression = ""  # the expression being compiled, for error messages
        self.warnings: list[str] = []
        self.context = RUNTIME_ERROR_PREFIX  # names the view in run-time error messages

    def fresh(self, prefix: str) -> str:
        """A lambda variable name that cannot clash with another or with a column."""
        return f"_{prefix}{next(self._counter)}"

    def error(self, message: str) -> ViewDefinitionError:
        return ViewDefinitionError(f"{message} (in FHIRPath {self.expression!r})")

    # -- entry points ---------------------------------------------------------------------
    def compile(self, node: Node, scope: Scope, source: str | None = None) -> Value:
        if source is not None:
            self.expression = source
        return self.compile_node(node, scope)

    def compile_node(self, node: Node, scope: Scope) -> Value:
        method: Callable[[Node, Scope], Value] = getattr(self, f"_node_{type(node).__name__}")
        return method(node, scope)

    # -- nodes ----------------------------------------------------------------------------
    def _node_Literal(self, node: Literal, scope: Scope) -> Value:
        return self.ops.literal(node.value, node.type)

    def _node_This(self, node: This, scope: Scope) -> Value:
        return scope.this

    def _node_IndexVar(self, node: IndexVar, scope: Scope) -> Value:
        if scope.index is None:
            raise self.error("$index is only defined inside where(), select(), all() or exists()")
        return Value(scope.index, False, Kind.INTEGER, "integer")

    def _node_TotalVar(self, node: TotalVar, scope: Scope) -> Value:
        raise self.error("$total (aggregate()) is not supported")

    def _node_Constant(self, node: Constant, scope: Scope) -> Value:
        name = node.name
        if name == "rowIndex":
            return Value(scope.row_index, False, Kind.INTEGER, "integer")
        if name in self.constants:
            return self.constants[name]
        if name in ("resource", "rootResource"):
            return scope.resource
        if name == "context":
            return scope.this
        if name in STANDARD_CONSTANTS:
            return self.ops.literal(STANDARD_CONSTANTS[name], "uri")
        raise self.error(f"undefined constant %{name}")

    def _node_Member(self, node: Member, scope: Scope) -> Value:
        this = scope.this
        if (
            node.name[:1].isupper()
            and this.fhir_type is not None
            and self.model.is_known_type(node.name)
            and self.model.element(this.fhir_type, node.name) is None
        ):
            # A type name qualifying the context, as in ``Patient.name``.
            if self.model.is_subtype(this.fhir_type, node.name):
                return this
            raise self.error(f"the context is a {this.fhir_type}, not a {node.name}")
        return self.navigate(this, node.name)

    def _node_Navigate(self, node: Navigate, scope: Scope) -> Value:
        return self.navigate(self.compile_node(node.base, scope), node.name)

    def _node_Indexer(self, node: Indexer, scope: Scope) -> Value:
        base = self.ops.materialize(self.compile_node(node.base, scope))
        index = self.compile_node(node.index, scope)
        if index.is_literal and isinstance(index.literal, int):
            if index.literal < 0:
                return self.ops.empty(base.kind, base.fhir_type)
            return self.ops.index(base, index.literal)
        if index.natural_kind is not Kind.INTEGER:
            raise self.error("an indexer needs an integer")
        position = self.ops.singleton(self.ops.as_kind(index, Kind.INTEGER), self.many_message("indexer"))
        items = self.ops.as_list(base)
        return items.with_sql(self.d.list_element(items.sql, f"({position.sql}) + 1"), many=False)

    def _node_Unary(self, node: Unary, scope: Scope) -> Value:
        if isinstance(node.operand, Literal) and node.operand.type in ("integer", "decimal"):
            # a negative literal keeps the digits it was written with (for lowBoundary, precision)
            value, kind = node.operand.value, node.operand.type
            if node.op == "-":
                value = -value if isinstance(value, int) else f"-{value}"
            return self.ops.literal(value, kind)
        operand = self._scalar(self.compile_node(node.operand, scope), node.op)
        if operand.natural_kind not in (Kind.INTEGER, Kind.DECIMAL):
            raise self.error(f"unary {node.op} needs a number")
        operand = self.ops.as_kind(operand, operand.natural_kind)
        return operand if node.op == "+" else operand.with_sql(f"(-({operand.sql}))")

    def _node_TypeOp(self, node: TypeOp, scope: Scope) -> Value:
        operand = self.compile_node(node.operand, scope)
        narrowed = self.of_type(operand, node.type_name)
        if node.op == "as":
            return self.ops.singleton(narrowed, self.many_message("as"))
        return self.exists(self.ops.singleton(narrowed, self.many_message("is")))

    def _node_Binary(self, node: Binary, scope: Scope) -> Value:
        left = self.compile_node(node.left, scope)
        right = self.compile_node(node.right, scope)
        op = node.op
        if op in ("and", "or", "xor", "implies"):
            return self.boolean_operator(op, left, right)
        if op in ("=", "!="):
            equal = self.equals(left, right)
            return equal if op == "=" else equal.with_sql(f"(NOT {equal.sql})")
        if op in ("~", "!~"):
            same = self.equivalent(left, right)
            return same if op == "~" else same.with_sql(f"(NOT {same.sql})")
        if op in ("<", "<=", ">", ">="):
            return self.compare(op, left, right)
        if op in ("+", "-", "*", "/", "div", "mod", "&"):
            return self.arithmetic(op, left, right)
        if op == "|":
            return self.union(left, right)
        if op in ("in", "contains"):
            item, collection = (left, right) if op == "in" else (right, left)
            return self.membership(item, collection)
        raise self.error(f"unsupported operator {op}")

    def _node_Call(self, node: Call, scope: Scope) -> Value:
        base = scope.this if node.base is None else self.compile_node(node.base, scope)
        handler = FUNCTIONS.get(node.name)
        if handler is None:
            raise self.error(f"the FHIRPath function {node.name}() is not supported")
        arity = ARITY[node.name]
        if not arity[0] <= len(node.args) <= arity[1]:
            raise self.error(f"{node.name}() takes {arity[0]}..{arity[1]} arguments, got {len(node.args)}")
        return handler(self, base, node.args, scope)

    # -- navigation -----------------------------------------------------------------------
    def navigate(self, base: Value, name: str) -> Value:
        base = self.ops.materialize(base)
        if base.kind is not Kind.JSON:
            raise self.error(f"cannot read element {name!r} from a computed {base.kind.value}")
        parent = base.fhir_type
        element = None if parent is None else self.model.element(parent, name)
        if element is None:
            if parent is not None and self.model.is_primitive(parent):
                raise self.error(f"{parent} is a primitive type and has no element {name!r}")
            if parent is not None and parent not in ABSTRACT_TYPES:
                # FHIRPath over JSON yields an empty collection here, and the official suite
                # expects exactly that; warn, since it is usually a typo in the view.
                self.warnings.append(
                    f"{parent} has no element {name!r} in FHIR R4 (in FHIRPath {self.expression!r}); "
                    "it is read from the JSON as is"
                )
            return self.ops.step_unknown(base, name, None)
        if element.is_choice:
            return self.ops.choice_value(base, name, element.choices)
        if element.many is None:
            return self.ops.step_unknown(base, name, element.type)
        return self.ops.step(base, name, element.many, element.type)

    def of_type(self, value: Value, type_spec: str) -> Value:
        """``ofType(T)``: narrow a choice to ``name<T>``, or keep the items that are a T."""
        type_name = _normalise_type(type_spec)
        if value.choice is not None:
            choice = value.choice
            suffix = type_suffix(type_name)
            if suffix not in choice.suffixes:
                allowed = ", ".join(choice_suffix_type(s) for s in choice.suffixes)
                raise self.error(f"{choice.name}[x] cannot be a {type_spec}; it can be one of {allowed}")
            element_type = choice_suffix_type(suffix)
            return self.ops.step(choice.base, choice.name + suffix, False, element_type)
        known = value.fhir_type
        if value.kind is not Kind.JSON:
            ok = kind_for_type(type_name) is value.kind or value.fhir_type == type_name
            return value if ok else self.ops.empty(value.kind, type_name, value.many)
        if known is not None and known not in ABSTRACT_TYPES:
            if self.model.is_subtype(known, type_name):
                return value
            return self.ops.empty(Kind.JSON, type_name, value.many)
        predicate = self._runtime_type_test(type_name)
        if predicate is None:  # a complex type we cannot test in JSON: trust the path
            return replace(value, fhir_type=type_name)
        return self.filter_items(value, predicate, type_name)

    def _runtime_type_test(self, type_name: str) -> Callable[[str], str] | None:
        d = self.d
        if self.model.is_resource_type(type_name):
            literal = d.string_literal(type_name)
            return lambda sql: f"({d.json_extract_string(sql, '$.resourceType')} = {literal})"
        kind = kind_for_type(type_name)
        tests = {
            Kind.BOOLEAN: d.json_is_boolean,
            Kind.INTEGER: d.json_is_integer,
            Kind.DECIMAL: d.json_is_number,
            Kind.STRING: d.json_is_string,
        }
        return tests.get(kind)

    def filter_items(self, value: Value, predicate: Callable[[str], str], fhir_type: str | None) -> Value:
        d = self.d
        if not value.many:
            sql = f"CASE WHEN {predicate(value.sql)} THEN {value.sql} END"
            return value.with_sql(sql, fhir_type=fhir_type)
        var = self.fresh("x")
        return value.with_sql(d.list_filter(value.sql, d.lambda_([var], predicate(var))), fhir_type=fhir_type)

    # -- lambdas --------------------------------------------------------------------------
    def map_items(self, base: Value, body: Node, scope: Scope) -> tuple[str, str | None, Value, Value]:
        """Compile ``body`` once per item of a list ``base``: (var, index var or None, item, result)."""
        var = self.fresh("x")
        index_var = self.fresh("i")
        item = self.ops.item(var, base)
        result = self.compile_node(body, replace(scope, this=item, index=f"({index_var} - 1)"))
        uses_index = index_var in result.sql
        return var, index_var if uses_index else None, item, result

    def lambda_for(self, var: str, index_var: str | None, body: str) -> str:
        return self.d.lambda_([var, index_var] if index_var else [var], body)

    # -- operators ------------------------------------------------------------------------
    def many_message(self, what: str) -> str:
        """The run-time error raised when an operand expected to be single is not."""
        return f"{self.context}: FHIRPath {self.expression!r}: {what} got a collection of more than one item"

    def _scalar(self, value: Value, what: str) -> Value:
        return self.ops.singleton(self.ops.materialize(value), self.many_message(f"operator {what}"))

    def boolean_operator(self, op: str, left: Value, right: Value) -> Value:
        a = self.ops.as_boolean(left, self.many_message(op)).sql
        b = self.ops.as_boolean(right, self.many_message(op)).sql
        sql = {
            "and": f"({a} AND {b})",
            "or": f"({a} OR {b})",
            "xor": f"({a} <> {b})",
            "implies": f"((NOT {a}) OR {b})",
        }[op]
        return Value(sql, False, Kind.BOOLEAN, "boolean")

    def temporal_keys(self, left: Value, right: Value) -> tuple[str, str] | None:
        """Comparison keys of two dates, dateTimes or times (see fhirpath_temporal), else None.

        A Date meets a DateTime as a DateTime (FHIRPath's implicit conversion); a Time meets
        only a Time.
        """
        kinds = {temporal_kind(left.fhir_type), temporal_kind(right.fhir_type)}
        if None in kinds:
            return None
        if "time" in kinds and len(kinds) > 1:
            raise self.error("a time cannot be compared with a date or dateTime")
        kind = "time" if "time" in kinds else "dateTime"
        left, right = self.ops.as_kind(left, Kind.STRING), self.ops.as_kind(right, Kind.STRING)
        return (
            comparison_key(self.d, left.sql, kind, self.fresh("t")),
            comparison_key(self.d, right.sql, kind, self.fresh("t")),
        )

    def equals(self, left: Value, right: Value) -> Value:
        left, right = self.ops.materialize(left), self.ops.materialize(right)
        self.refuse_quantities(left, right, "operator =")
        keys = None if left.many or right.many else self.temporal_keys(left, right)
        if keys is not None:
            return Value(compare_keys(*keys, "="), False, Kind.BOOLEAN, "boolean")
        kind = self.ops.common_kind(left, right)
        a, b = self.ops.as_kind(left, kind), self.ops.as_kind(right, kind)
        if not a.many and not b.many:
            return Value(f"({a.sql} = {b.sql})", False, Kind.BOOLEAN, "boolean")
        d = self.d
        la, lb = self.ops.as_list(a).sql, self.ops.as_list(b).sql
        sql = (
            f"CASE WHEN coalesce({d.list_length(la)}, 0) = 0 OR coalesce({d.list_length(lb)}, 0) = 0 "
            f"THEN NULL ELSE ({la} = {lb}) END"
        )
        return Value(sql, False, Kind.BOOLEAN, "boolean")

    def equivalent(self, left: Value, right: Value) -> Value:
        left, right = self._scalar(left, "~"), self._scalar(right, "~")
        self.refuse_quantities(left, right, "operator ~")
        keys = self.temporal_keys(left, right)
        if keys is not None:
            return Value(equivalent_keys(*keys), False, Kind.BOOLEAN, "boolean")
        kind = self.ops.common_kind(left, right)
        a, b = self.ops.as_kind(left, kind).sql, self.ops.as_kind(right, kind).sql
        if kind is Kind.STRING:
            a, b = (f"lower(regexp_replace(trim({x}), '\\s+', ' ', 'g'))" for x in (a, b))
        if kind is Kind.DECIMAL:  # rounded to the places of the less precise (1.2 / 1.8 ~ 0.67)
            places = [
                decimal_places(self.d, decimal_text(self, v), significant_only=True) for v in (left, right)
            ]
            fewest = self.d.cast(f"least({', '.join(places)})", "INTEGER")
            a, b = (self.d.function("round", x, fewest) for x in (a, b))
        sql = (
            f"CASE WHEN {a} IS NULL AND {b} IS NULL THEN TRUE "
            f"WHEN {a} IS NULL OR {b} IS NULL THEN FALSE ELSE ({a} = {b}) END"
        )
        return Value(sql, False, Kind.BOOLEAN, "boolean")

    def compare(self, op: str, left: Value, right: Value) -> Value:
        left, right = self._scalar(left, op), self._scalar(right, op)
        self.refuse_quantities(left, right, f"operator {op}")
        keys = self.temporal_keys(left, right)
        if keys is not None:
            return Value(compare_keys(*keys, op), False, Kind.BOOLEAN, "boolean")
        kind = self.ops.common_kind(left, right)
        if kind in (Kind.JSON, Kind.BOOLEAN):
            raise self.error(f"operator {op} needs numbers, strings, dates or times")
        a, b = self.ops.as_kind(left, kind).sql, self.ops.as_kind(right, kind).sql
        return Value(f"({a} {op} {b})", False, Kind.BOOLEAN, "boolean")

    def arithmetic(self, op: str, left: Value, right: Value) -> Value:
        left, right = self._scalar(left, op), self._scalar(right, op)
        empty = [v for v in (left, right) if v.is_literal and v.literal is None]
        if empty and op != "&":  # {} + x is empty, whatever x is
            other = right if empty[0] is left else left
            kind = other.natural_kind if other.natural_kind in _ARITHMETIC_KINDS else Kind.STRING
            return self.ops.empty(kind, kind.value)
        if op in ("+", "-") and _quantity(right) is not None and temporal_kind(left.fhir_type):
            return self.date_arithmetic(op, left, _quantity(right))  # type: ignore[arg-type]
        self.refuse_quantities(left, right, f"operator {op}")
        if op == "&":
            a = self.ops.as_kind(left, Kind.STRING).sql
            b = self.ops.as_kind(right, Kind.STRING).sql
            return Value(f"(coalesce({a}, '') || coalesce({b}, ''))", False, Kind.STRING, "string")
        ka, kb = left.natural_kind, right.natural_kind
        if op == "+" and ka is Kind.STRING and kb is Kind.STRING:
            a, b = self.ops.as_kind(left, Kind.STRING).sql, self.ops.as_kind(right, Kind.STRING).sql
            return Value(f"({a} || {b})", False, Kind.STRING, "string")
        if ka not in (Kind.INTEGER, Kind.DECIMAL) or kb not in (Kind.INTEGER, Kind.DECIMAL):
            raise self.error(
                f"operator {op} is supported on numbers only (got {left.fhir_type or ka.value} "
                f"and {right.fhir_type or kb.value}); dates and times take a time-valued quantity (+ 7 days)"
            )
        kind = Kind.INTEGER if ka is kb is Kind.INTEGER else Kind.DECIMAL
        if op == "/":
            kind = Kind.DECIMAL
        a, b = self.ops.as_kind(left, kind).sql, self.ops.as_kind(right, kind).sql
        if op == "/":
            sql = f"({a} / nullif({b}, 0))"
        elif op == "div":  # truncated division, of decimals too (7.5 div 2 is 3)
            divisor = f"nullif({b}, 0)"
            truncated = self.d.function("trunc", f"({a} / {divisor})")
            sql = truncated if kind is Kind.DECIMAL else self.d.integer_divide(a, divisor)
            kind = Kind.INTEGER
            sql = self.d.cast(sql, self.ops.sql_type(kind))
        elif op == "mod":
            sql = f"({a} % nullif({b}, 0))"
        else:
            sql = f"({a} {op} {b})"
        # Decimals are binary doubles: keep the 15 significant digits a double holds exactly, so
        # 0.1 + 0.2 is 0.3 (as FHIRPath's decimal arithmetic says), not 0.30000000000000004. An
        # overflow is empty, as FHIRPath says, not an error that stops the whole view.
        decimal = kind is Kind.DECIMAL
        sql = self.d.round_significant(sql, 15) if decimal else self.d.null_on_error(sql)
        return Value(sql, False, kind, kind.value)

    def date_arithmetic(self, op: str, value: Value, quantity: Quantity) -> Value:
        """A date, dateTime or time plus (minus) a time-valued quantity (§6.6.7 of FHIRPath)."""
        number = Decimal(quantity.number) * (-1 if op == "-" else 1)
        text = self.ops.as_kind(value, Kind.STRING).sql
        try:
            unit = duration_unit(quantity.unit, quantity.calendar)
            sql = shift(self.d, text, value.fhir_type, number, unit, self.fresh("t"))  # type: ignore[arg-type]
        except ValueError as exc:
            raise self.error(str(exc)) from None
        return Value(sql, False, Kind.STRING, value.fhir_type)

    def refuse_quantities(self, left: Value, right: Value, what: str) -> None:
        """Quantity literals take part only in date arithmetic: UCUM-aware arithmetic and
        comparison of quantities are not built (compare a Quantity's value instead)."""
        if _quantity(left) is not None or _quantity(right) is not None:
            raise self.error(
                f"{what} with a quantity literal: only date/time ± a time-valued quantity is supported "
                "(e.g. birthDate + 18 years); compare quantities by their value (valueQuantity.value > 5)"
            )

    def union(self, left: Value, right: Value, distinct: bool = True) -> Value:
        left, right = self.ops.materialize(left), self.ops.materialize(right)
        kind = self.ops.common_kind(left, right)
        kinds = {v.natural_kind for v in (left, right) if not (v.is_literal and v.literal is None)}
        if len(kinds) > 1 and (not kinds <= _NUMBERS or Kind.JSON in (left.kind, right.kind)):
            # items of different types keep their types (as JSON), so ofType() can still tell them apart
            kind = Kind.JSON
        a = self.ops.as_list(self.ops.as_kind(left, kind))
        b = self.ops.as_list(self.ops.as_kind(right, kind))
        empty = self.d.empty_list(self.ops.sql_type(kind))
        sql = self.d.list_concat([f"coalesce({a.sql}, {empty})", f"coalesce({b.sql}, {empty})"])
        if distinct:
            sql = self.ops.ordered_distinct(sql)
        fhir_type = left.fhir_type if left.fhir_type == right.fhir_type else None
        return Value(sql, True, kind, fhir_type)

    def membership(self, item: Value, collection: Value) -> Value:
        item = self._scalar(item, "in")
        collection = self.ops.materialize(collection)
        kind = self.ops.common_kind(item, collection)
        a = self.ops.as_kind(item, kind).sql
        items = self.ops.as_list(self.ops.as_kind(collection, kind)).sql
        sql = f"CASE WHEN {a} IS NULL THEN NULL ELSE coalesce({self.d.list_contains(items, a)}, FALSE) END"
        return Value(sql, False, Kind.BOOLEAN, "boolean")

    def exists(self, value: Value) -> Value:
        value = self.ops.materialize(value)
        if not value.many:
            return Value(f"({value.sql} IS NOT NULL)", False, Kind.BOOLEAN, "boolean")
        return Value(f"({self.ops.size(value)} > 0)", False, Kind.BOOLEAN, "boolean")

    def type_argument(self, node: Node) -> str:
        name = type_name_of(node)
        if name is None:
            raise self.error("expected a type name such as Quantity or string")
        return name

    def string_argument(self, node: Node, scope: Scope, what: str) -> Value:
        value = self.compile_node(node, scope)
        return self.ops.as_kind(self._scalar(value, what), Kind.STRING)

    def integer_argument(self, node: Node, scope: Scope, what: str) -> Value:
        value = self._scalar(self.compile_node(node, scope), what)
        if value.natural_kind is not Kind.INTEGER:
            raise self.error(f"{what}() needs an integer argument")
        return self.ops.as_kind(value, Kind.INTEGER)


def _quantity(value: Value) -> Quantity | None:
    """The quantity a value is the literal of, if it is one."""
    return value.literal if value.is_literal and isinstance(value.literal, Quantity) else None


def _normalise_type(type_spec: str) -> str:
    if type_spec in SYSTEM_TYPES:
        return SYSTEM_TYPES[type_spec]
    if f"System.{type_spec}" in SYSTEM_TYPES:  # Integer, String, DateTime…: FHIRPath's own types
        return SYSTEM_TYPES[f"System.{type_spec}"]
    if type_spec.startswith("FHIR."):
        return type_spec[len("FHIR.") :]
    if type_spec.startswith("System."):
        return type_spec[len("System.") :].lower()
    return type_spec
