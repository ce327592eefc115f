"""FHIRPath functions, each compiled to set-based SQL.

Every function has the signature ``fn(compiler, base, args, scope) -> Value``: ``base`` is
the compiled input collection, ``args`` the *uncompiled* argument trees (functions such as
``where`` compile their argument once per item, inside a lambda). The table at the end,
:data:`FUNCTIONS`, is the list of what views may call; anything else is rejected when the
view is compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from medlake.views.fhirpath_boundaries import boundary_function
from medlake.views.fhirpath_values import Kind, Value

if TYPE_CHECKING:
    from medlake.views.fhirpath_ast import Node
    from medlake.views.fhirpath_compiler import FhirPathCompiler, Scope

Args = tuple["Node", ...]
Function = Callable[["FhirPathCompiler", Value, Args, "Scope"], Value]


def _boolean(sql: str) -> Value:
    return Value(sql, False, Kind.BOOLEAN, "boolean")


# -- filtering and projection -------------------------------------------------------------------


def fn_where(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    base = c.ops.materialize(base)
    message = c.many_message("where() criteria")
    if not base.many:
        cond = c.ops.as_boolean(c.compile_node(args[0], replace(scope, this=base, index="0")), message)
        return base.with_sql(f"CASE WHEN {cond.sql} THEN {base.sql} END")
    var, index_var, _, result = c.map_items(base, args[0], scope)
    cond = c.ops.as_boolean(result, message)
    sql = c.d.list_filter(base.sql, c.lambda_for(var, index_var, f"coalesce({cond.sql}, FALSE)"))
    return base.with_sql(sql, many=True)


def fn_select(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    items = c.ops.as_list(c.ops.materialize(base))
    var, index_var, _, result = c.map_items(items, args[0], scope)
    result = c.ops.materialize(result)
    d = c.d
    if result.many:
        empty = d.empty_list(c.ops.sql_type(result.kind))
        body = f"coalesce({result.sql}, {empty})"
        sql = d.flatten(d.list_transform(items.sql, c.lambda_for(var, index_var, body)))
    else:
        sql = c.ops.drop_nulls(d.list_transform(items.sql, c.lambda_for(var, index_var, result.sql)))
    return Value(sql, True, result.kind, result.fhir_type)


def fn_all(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    items = c.ops.as_list(c.ops.materialize(base))
    var, index_var, _, result = c.map_items(items, args[0], scope)
    cond = c.ops.as_boolean(result, c.many_message("all() criteria"))
    failing = c.d.list_filter(items.sql, c.lambda_for(var, index_var, f"NOT coalesce({cond.sql}, FALSE)"))
    return _boolean(f"(coalesce({c.d.list_length(failing)}, 0) = 0)")


def fn_exists(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    if args:
        base = fn_where(c, base, args, scope)
    return c.exists(base)


def fn_empty(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return _boolean(f"(NOT {c.exists(base).sql})")


def fn_count(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return Value(c.ops.size(c.ops.materialize(base)), False, Kind.INTEGER, "integer")


# -- subsetting -----------------------------------------------------------------------------------


def fn_first(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return c.ops.index(c.ops.materialize(base), 0)


def fn_last(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return c.ops.index(c.ops.materialize(base), -1)


def fn_single(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return c.ops.singleton(c.ops.materialize(base), c.many_message("single()"))


def _slice(c: FhirPathCompiler, base: Value, start: str | None, end: str | None) -> Value:
    items = c.ops.as_list(c.ops.materialize(base))
    return items.with_sql(c.d.list_slice(items.sql, start, end), many=True)


def fn_tail(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return _slice(c, base, "2", None)


def fn_skip(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    count = c.integer_argument(args[0], scope, "skip")
    return _slice(c, base, f"greatest({count.sql}, 0) + 1", None)


def fn_take(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    count = c.integer_argument(args[0], scope, "take")
    return _slice(c, base, None, f"greatest({count.sql}, 0)")


def fn_distinct(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    items = c.ops.as_list(c.ops.materialize(base))
    return items.with_sql(c.ops.ordered_distinct(items.sql), many=True)


def fn_is_distinct(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    items = c.ops.as_list(c.ops.materialize(base))
    d = c.d
    distinct = d.list_length(d.list_distinct(items.sql))
    return _boolean(f"(coalesce({distinct}, 0) = coalesce({d.list_length(items.sql)}, 0))")


def fn_union(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return c.union(base, c.compile_node(args[0], scope))


def fn_combine(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return c.union(base, c.compile_node(args[0], scope), distinct=False)


# -- booleans -------------------------------------------------------------------------------------


def fn_not(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    value = c.ops.as_boolean(base, c.many_message("not()"))
    return _boolean(f"(NOT {value.sql})")


def _booleans(c: FhirPathCompiler, base: Value) -> str:
    items = c.ops.as_list(c.ops.as_kind(c.ops.materialize(base), Kind.BOOLEAN))
    return f"coalesce({items.sql}, {c.d.empty_list(c.ops.sql_type(Kind.BOOLEAN))})"


def fn_all_true(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return _boolean(f"(NOT {c.d.list_contains(_booleans(c, base), 'FALSE')})")


def fn_any_true(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return _boolean(c.d.list_contains(_booleans(c, base), "TRUE"))


def fn_all_false(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return _boolean(f"(NOT {c.d.list_contains(_booleans(c, base), 'TRUE')})")


def fn_any_false(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return _boolean(c.d.list_contains(_booleans(c, base), "FALSE"))


def fn_iif(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    inner = replace(scope, this=base)
    cond = c.ops.as_boolean(c.compile_node(args[0], inner), c.many_message("iif() criterion"))
    then = c.ops.materialize(c.compile_node(args[1], inner))
    other = c.ops.materialize(c.compile_node(args[2], inner)) if len(args) > 2 else None
    if other is None:
        other = c.ops.empty(then.kind, then.fhir_type, then.many)
    kind = c.ops.common_kind(then, other)
    a, b = c.ops.as_kind(then, kind), c.ops.as_kind(other, kind)
    if a.many or b.many:
        a, b = c.ops.as_list(a), c.ops.as_list(b)
    fhir_type = a.fhir_type if a.fhir_type == b.fhir_type else None
    return Value(f"(CASE WHEN {cond.sql} THEN {a.sql} ELSE {b.sql} END)", a.many, kind, fhir_type)


# -- types ----------------------------------------------------------------------------------------


def fn_of_type(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return c.of_type(base, c.type_argument(args[0]))


def fn_is(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    narrowed = c.of_type(base, c.type_argument(args[0]))
    return c.exists(c.ops.singleton(narrowed, c.many_message("is()")))


def fn_as(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return c.ops.singleton(c.of_type(base, c.type_argument(args[0])), c.many_message("as()"))


# -- FHIR and SQL-on-FHIR specific ------------------------------------------------------------------


def fn_extension(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    url = c.string_argument(args[0], scope, "extension")
    extensions = c.ops.as_list(c.navigate(base, "extension"))
    var = c.fresh("x")
    url_of = c.ops.as_kind(c.navigate(c.ops.item(var, extensions), "url"), Kind.STRING)
    predicate = f"coalesce({url_of.sql} = {url.sql}, FALSE)"
    sql = c.d.list_filter(extensions.sql, c.d.lambda_([var], predicate))
    return extensions.with_sql(sql, many=True)


def fn_get_resource_key(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    if base.fhir_type is not None and not c.model.is_resource_type(base.fhir_type):
        raise c.error(f"getResourceKey() needs a resource, not a {base.fhir_type}")
    return c.ops.as_kind(c.navigate(base, "id"), Kind.STRING)


def fn_get_reference_key(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    """The id a reference points to, comparable with getResourceKey().

    Literal references (``Patient/1``, absolute URLs, versioned) yield the id; with a type
    argument only references to that type do. ``urn:uuid:``/``urn:oid:`` references (bundle
    local) yield their id when no type is asked for, since their type cannot be checked.
    """
    from medlake.views.fhirpath_compiler import ID_PATTERN, REFERENCE_PATTERN, URN_PATTERN

    target = c.type_argument(args[0]) if args else None
    if target is not None and not c.model.is_resource_type(target):
        raise c.error(f"getReferenceKey({target}): {target} is not a resource type")
    if base.fhir_type is not None and base.fhir_type != "Reference" and base.choice is None:
        raise c.error(f"getReferenceKey() needs a Reference, not a {base.fhir_type}")
    text = c.ops.as_kind(c.navigate(base, "reference"), Kind.STRING)
    d = c.d

    def key(sql: str) -> str:
        if target is not None:  # one regular expression naming the type
            general = f"nullif({d.regexp_extract(sql, f'(^|/){target}/{ID_PATTERN}', 2)}, '')"
        else:
            ident = f"nullif({d.regexp_extract(sql, REFERENCE_PATTERN, 3)}, '')"
            general = f"coalesce({ident}, nullif({d.regexp_extract(sql, URN_PATTERN, 2)}, ''))"
        test, plain = _relative_reference(c, sql, target)
        return f"(CASE WHEN {test} THEN {plain} ELSE {general} END)"

    if not text.many:
        return Value(key(text.sql), False, Kind.STRING, "string")
    var = c.fresh("r")
    sql = c.ops.drop_nulls(d.list_transform(text.sql, d.lambda_([var], key(var))))
    return Value(sql, True, Kind.STRING, "string")


def _relative_reference(c: FhirPathCompiler, text: str, target: str | None) -> tuple[str, str]:
    """(test, id) for the usual reference text ``Type/id``, read without capture groups.

    When the whole text is ``Type/id`` (the id free of ``/?#``), the reference patterns'
    only match is the whole text and the id is what follows the first ``/``, so these
    string tests give the same key; the regular expressions with capture groups cost
    several times more and run on every row. Other texts take the general patterns.
    """
    d = c.d
    slash, question, hash_ = (d.string_literal(ch) for ch in "/?#")
    if target is None:
        test = d.regexp_matches(text, d.string_literal("^[A-Z][A-Za-z]+/[^/?#]+$"))
        return test, d.substring(text, f"{d.strpos(text, slash)} + 1", None)
    prefix = d.string_literal(f"{target}/")
    start = str(len(target) + 2)
    tests = [
        d.function("starts_with", text, prefix),
        f"{text} <> {prefix}",
        f"NOT {d.function('contains', d.substring(text, start, None), slash)}",
        f"NOT {d.function('contains', text, question)}",
        f"NOT {d.function('contains', text, hash_)}",
    ]
    return f"({' AND '.join(tests)})", d.substring(text, start, None)


def fn_join(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    separator = c.string_argument(args[0], scope, "join").sql if args else c.d.string_literal("")
    items = c.ops.as_list(c.ops.as_kind(base, Kind.STRING))
    return Value(f"coalesce({c.d.list_to_string(items.sql, separator)}, '')", False, Kind.STRING, "string")


def fn_trace(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return base


# -- conversions ----------------------------------------------------------------------------------


def _scalar(c: FhirPathCompiler, base: Value, what: str) -> Value:
    return c.ops.singleton(c.ops.materialize(base), c.many_message(f"{what}()"))


def fn_to_string(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return c.ops.as_kind(_scalar(c, base, "toString"), Kind.STRING)


def _to_number(c: FhirPathCompiler, base: Value, kind: Kind, what: str) -> Value:
    value = _scalar(c, base, what)
    natural = value.natural_kind
    target = c.ops.sql_type(kind)
    if natural is Kind.BOOLEAN:
        sql = f"CASE WHEN {c.ops.as_kind(value, Kind.BOOLEAN).sql} THEN 1 ELSE 0 END"
        return Value(c.d.cast(sql, target), False, kind, kind.value)
    if natural is Kind.DECIMAL and kind is Kind.INTEGER:
        return c.ops.empty(kind, kind.value)
    text = c.ops.as_kind(value, Kind.STRING).sql
    return Value(c.d.try_cast(text, target), False, kind, kind.value)


def fn_to_integer(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return _to_number(c, base, Kind.INTEGER, "toInteger")


def fn_to_decimal(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return _to_number(c, base, Kind.DECIMAL, "toDecimal")


def fn_to_boolean(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    value = _scalar(c, base, "toBoolean")
    if value.natural_kind is Kind.BOOLEAN:
        return c.ops.as_kind(value, Kind.BOOLEAN)
    text = f"lower({c.ops.as_kind(value, Kind.STRING).sql})"
    sql = (
        f"(CASE WHEN {text} IN ('true', 't', 'yes', 'y', '1', '1.0') THEN TRUE "
        f"WHEN {text} IN ('false', 'f', 'no', 'n', '0', '0.0') THEN FALSE END)"
    )
    return _boolean(sql)


def _converts(convert: Function) -> Function:
    def converts(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
        value = _scalar(c, base, "convertsTo")
        converted = convert(c, value, args, scope)
        return _boolean(f"(CASE WHEN {value.sql} IS NULL THEN NULL ELSE {converted.sql} IS NOT NULL END)")

    return converts


# -- strings --------------------------------------------------------------------------------------


def _string(c: FhirPathCompiler, base: Value, what: str) -> str:
    return c.ops.as_kind(_scalar(c, base, what), Kind.STRING).sql


def _string_function(sql_name: str, result: Kind = Kind.STRING) -> Function:
    def fn(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
        text = _string(c, base, sql_name)
        extra = [c.string_argument(a, scope, sql_name).sql for a in args]
        return Value(c.d.function(sql_name, text, *extra), False, result, result.value)

    return fn


def fn_length(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return Value(c.d.function("length", _string(c, base, "length")), False, Kind.INTEGER, "integer")


def fn_matches(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    pattern = c.string_argument(args[0], scope, "matches").sql
    return _boolean(c.d.regexp_matches(_string(c, base, "matches"), pattern))


def fn_replace_matches(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    pattern = c.string_argument(args[0], scope, "replaceMatches").sql
    substitution = c.string_argument(args[1], scope, "replaceMatches").sql
    sql = c.d.regexp_replace(_string(c, base, "replaceMatches"), pattern, substitution)
    return Value(sql, False, Kind.STRING, "string")


def fn_substring(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    text = _string(c, base, "substring")
    start = c.integer_argument(args[0], scope, "substring").sql
    length = c.integer_argument(args[1], scope, "substring").sql if len(args) > 1 else None
    piece = c.d.substring(text, f"({start}) + 1", length)
    sql = (
        f"(CASE WHEN ({start}) < 0 OR ({start}) >= {c.d.function('length', text)} THEN NULL ELSE {piece} END)"
    )
    return Value(sql, False, Kind.STRING, "string")


def fn_index_of(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    text = _string(c, base, "indexOf")
    needle = c.string_argument(args[0], scope, "indexOf").sql
    sql = f"(CASE WHEN {text} IS NULL OR {needle} IS NULL THEN NULL ELSE {c.d.strpos(text, needle)} - 1 END)"
    return Value(sql, False, Kind.INTEGER, "integer")


def fn_split(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    text = _string(c, base, "split")
    separator = c.string_argument(args[0], scope, "split").sql
    return Value(c.d.string_split(text, separator), True, Kind.STRING, "string")


# -- math -----------------------------------------------------------------------------------------


def _number(c: FhirPathCompiler, base: Value, what: str) -> Value:
    value = _scalar(c, base, what)
    if value.natural_kind not in (Kind.INTEGER, Kind.DECIMAL):
        raise c.error(f"{what}() needs a number")
    return c.ops.as_kind(value, value.natural_kind)


def _math(sql_name: str, result: Kind | None) -> Function:
    """``result`` None keeps the input's kind (abs); otherwise the result is cast to it."""

    def fn(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
        value = _number(c, base, sql_name)
        extra = [
            c.ops.as_kind(_scalar(c, c.compile_node(a, scope), sql_name), Kind.DECIMAL).sql for a in args
        ]
        if sql_name == "round" and extra:
            extra = [c.d.cast(extra[0], "INTEGER")]  # round() takes a 32-bit precision
        kind = result or value.kind
        sql = c.d.cast(c.d.function(sql_name, value.sql, *extra), c.ops.sql_type(kind))
        return Value(sql, False, kind, kind.value)

    return fn


# -- date and time --------------------------------------------------------------------------------


def fn_now(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return Value(c.d.current_timestamp_text(), False, Kind.STRING, "dateTime")


def fn_today(c: FhirPathCompiler, base: Value, args: Args, scope: Scope) -> Value:
    return Value(c.d.current_date_text(), False, Kind.STRING, "date")


FUNCTIONS: dict[str, Function] = {
    "where": fn_where,
    "select": fn_select,
    "all": fn_all,
    "exists": fn_exists,
    "empty": fn_empty,
    "count": fn_count,
    "first": fn_first,
    "last": fn_last,
    "single": fn_single,
    "tail": fn_tail,
    "skip": fn_skip,
    "take": fn_take,
    "distinct": fn_distinct,
    "isDistinct": fn_is_distinct,
    "union": fn_union,
    "combine": fn_combine,
    "not": fn_not,
    "allTrue": fn_all_true,
    "anyTrue": fn_any_true,
    "allFalse": fn_all_false,
    "anyFalse": fn_any_false,
    "iif": fn_iif,
    "ofType": fn_of_type,
    "is": fn_is,
    "as": fn_as,
    "extension": fn_extension,
    "getResourceKey": fn_get_resource_key,
    "getReferenceKey": fn_get_reference_key,
    "join": fn_join,
    "trace": fn_trace,
    "hasValue": fn_exists,
    "toString": fn_to_string,
    "toInteger": fn_to_integer,
    "toDecimal": fn_to_decimal,
    "toBoolean": fn_to_boolean,
    "convertsToString": _converts(fn_to_string),
    "convertsToInteger": _converts(fn_to_integer),
    "convertsToDecimal": _converts(fn_to_decimal),
    "convertsToBoolean": _converts(fn_to_boolean),
    "lower": _string_function("lower"),
    "upper": _string_function("upper"),
    "trim": _string_function("trim"),
    "startsWith": _string_function("starts_with", Kind.BOOLEAN),
    "endsWith": _string_function("ends_with", Kind.BOOLEAN),
    "contains": _string_function("contains", Kind.BOOLEAN),
    "replace": _string_function("replace"),
    "length": fn_length,
    "matches": fn_matches,
    "replaceMatches": fn_replace_matches,
    "substring": fn_substring,
    "indexOf": fn_index_of,
    "split": fn_split,
    "abs": _math("abs", None),
    "ceiling": _math("ceil", Kind.INTEGER),
    "floor": _math("floor", Kind.INTEGER),
    "truncate": _math("trunc", Kind.INTEGER),
    "round": _math("round", Kind.DECIMAL),
    "sqrt": _math("sqrt", Kind.DECIMAL),
    "ln": _math("ln", Kind.DECIMAL),
    "exp": _math("exp", Kind.DECIMAL),
    "power": _math("pow", Kind.DECIMAL),
    "now": fn_now,
    "today": fn_today,
    "lowBoundary": boundary_function(high=False),
    "highBoundary": boundary_function(high=True),
}

#: (minimum, maximum) number of arguments of each function.
ARITY: dict[str, tuple[int, int]] = {name: (0, 0) for name in FUNCTIONS}
ARITY.update(
    {
        "where": (1, 1),
        "select": (1, 1),
        "all": (1, 1),
        "exists": (0, 1),
        "skip": (1, 1),
        "take": (1, 1),
        "union": (1, 1),
        "combine": (1, 1),
        "iif": (2, 3),
        "ofType": (1, 1),
        "is": (1, 1),
        "as": (1, 1),
        "extension": (1, 1),
        "getReferenceKey": (0, 1),
        "join": (0, 1),
        "trace": (1, 2),
        "startsWith": (1, 1),
        "endsWith": (1, 1),
        "contains": (1, 1),
        "replace": (2, 2),
        "matches": (1, 1),
        "replaceMatches": (2, 2),
        "substring": (1, 2),
        "indexOf": (1, 1),
        "split": (1, 1),
        "round": (0, 1),
        "power": (1, 1),
        "lowBoundary": (0, 1),
        "highBoundary": (0, 1),
    }
)
