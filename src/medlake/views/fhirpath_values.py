"""The SQL values a FHIRPath expression compiles to, and conversions between them.

A FHIRPath expression denotes a *collection*. The compiler keeps, for each sub-expression,
what it knows statically about that collection, so most paths become one cheap SQL
expression instead of generic list code:

* ``many`` – the SQL is a list (NULL = empty) when True, a single value (NULL = empty)
  when False. The FHIR model decides: ``Patient.gender`` is single, ``Patient.name`` is not.
* ``kind`` – how items are represented in SQL: JSON text (elements read from the
  resource) or a typed scalar (``string``/``boolean``/``integer``/``decimal``) after a
  conversion, an operator or a literal.
* ``fhir_type`` – the FHIR type of the items, when known (drives conversions and checks).
* ``root``/``steps`` – for JSON read straight out of a root value, the JSONPath so far,
  so ``name.given`` is read with a single ``json_extract(resource, '$.name[*].given[*]')``.
* ``text`` – for an item picked out of such a path (``first()``), the same item read as
  text straight from the path, which saves writing every item out as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from medlake.engine.dialect import Dialect
from medlake.views.fhirpath_ast import Quantity


class Kind(StrEnum):
    JSON = "json"
    STRING = "string"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"


_INTEGER_TYPES = frozenset({"integer", "positiveInt", "unsignedInt", "integer64"})
_NUMERIC_KINDS = frozenset({Kind.INTEGER, Kind.DECIMAL})


def kind_for_type(fhir_type: str | None) -> Kind:
    """How values of a FHIR type are best held in SQL (complex types stay JSON)."""
    from medlake.fhir.model import PRIMITIVE_TYPES

    if fhir_type == "boolean":
        return Kind.BOOLEAN
    if fhir_type in _INTEGER_TYPES:
        return Kind.INTEGER
    if fhir_type == "decimal":
        return Kind.DECIMAL
    if fhir_type in PRIMITIVE_TYPES:
        return Kind.STRING
    return Kind.JSON


_NO_LITERAL = object()

#: Placeholder SQL of a choice element awaiting ``ofType``; invalid SQL on purpose, so a
#: code path that forgot :meth:`ValueOps.materialize` fails loudly.
UNNARROWED_CHOICE = "<unnarrowed choice element>"


@dataclass(frozen=True)
class Choice:
    """A choice element (``value[x]``) reached but not yet narrowed with ``ofType``."""

    base: Value
    name: str
    suffixes: tuple[str, ...]


@dataclass(frozen=True)
class Value:
    """A compiled FHIRPath collection: its SQL, shape, kind and (when it is one) JSON path.

    ``_sql`` may be a function writing the SQL when it is first read: a path's SQL reads
    from the resource's shared fragments (:class:`RootFields`), and building it for every
    step of ``a.b.c`` would add fragments that only the intermediate steps named.
    """

    _sql: str | Callable[[], str]
    many: bool
    kind: Kind
    fhir_type: str | None
    root: str | None = None
    steps: tuple[str | int, ...] = ()
    choice: Choice | None = None
    literal: object = _NO_LITERAL
    text: Callable[[], str] | None = None  # writes the SQL of the same value as text

    @property
    def sql(self) -> str:
        return self._sql if isinstance(self._sql, str) else self._sql()

    @property
    def is_literal(self) -> bool:
        return self.literal is not _NO_LITERAL

    @property
    def natural_kind(self) -> Kind:
        """The typed kind this value converts to without losing meaning."""
        return self.kind if self.kind is not Kind.JSON else kind_for_type(self.fhir_type)

    def with_sql(self, sql: str | Callable[[], str], **changes: object) -> Value:
        """A derived value: new SQL, no JSON path, not a choice, not a literal."""
        fields: dict[str, object] = {
            "root": None,
            "steps": (),
            "choice": None,
            "literal": _NO_LITERAL,
            "text": None,
        }
        fields.update(changes)
        return replace(self, _sql=sql, **fields)  # type: ignore[arg-type]


class RootFields:
    """The parts of one JSON root that paths read, each read with one JSON parse per root.

    Parsing JSON text dominates a view's cost, and every ``json_extract`` over a root
    parses it again. So paths from the root (the resource, or the item a ``forEach``
    visits) are split: their longest start without a wildcard (``subject.reference``,
    ``code.coding``) is collected here and read for all columns at once
    (``json_extract(root, [...])``), and the rest of the path is applied to that
    fragment. (DuckDB does not accept wildcards in a multi-path extraction.) Reading the
    whole start at once, rather than only its first key, keeps the fragments small: each
    is written out as JSON text and parsed again by every column that reads below it, and
    that work grows with the fragment's size.
    """

    #: False for fields that only observe reads: paths are then read whole from the root.
    splits = True

    def __init__(self, dialect: Dialect, root_sql: str, column_sql: str) -> None:
        self.d = dialect
        self.root_sql = root_sql
        self.column_sql = column_sql
        self.paths: dict[tuple[str | int, ...], int] = {}
        self.reads = 0  # how many times SQL reading a fragment was written

    def fragment(self, steps: tuple[str | int, ...]) -> str:
        self.reads += 1
        position = self.paths.setdefault(steps, len(self.paths) + 1)
        return self.d.list_element(self.column_sql, str(position))

    def read(self, mode: str, steps: tuple[str | int, ...], sql: str) -> str:
        """The SQL reading ``steps`` below the root as ``mode`` ('json', 'text' or 'length').

        ``sql`` is the reading through the fragments; :class:`~medlake.views.typed_reads.
        TypedFields` may also read the same from a typed conversion of the resource.
        """
        return sql

    def bind(self, body: str) -> str:
        """``body``, an expression reading the fragments, with them extracted once for it."""
        projection = self.projection()
        return body if projection is None else self.d.let(projection, self.column_sql, body)

    def projection(self) -> str | None:
        """The SQL reading every collected path, or None when no path used the resource."""
        if not self.paths:
            return None
        return self.d.json_extract_many(self.root_sql, [self.d.json_path(p) for p in self.paths])


class ValueOps:
    """Conversions between value shapes, spelled through the dialect."""

    def __init__(self, dialect: Dialect, fresh, root_fields: RootFields | None = None) -> None:
        self.d = dialect
        self.fresh = fresh
        self.shared: dict[str, RootFields] = {}
        if root_fields is not None:
            self.share(root_fields)

    def share(self, fields: RootFields) -> None:
        """From now on, paths from ``fields.root_sql`` read its shared fragments."""
        self.shared[fields.root_sql] = fields

    def unshare(self, fields: RootFields) -> None:
        del self.shared[fields.root_sql]

    def _split(self, root: str, steps: tuple[str | int, ...]) -> tuple[str, tuple[str | int, ...]]:
        fields = self._fields(root, steps)
        if fields is None or not fields.splits:
            return root, steps
        shared = steps.index("*") if "*" in steps else len(steps)
        return fields.fragment(steps[:shared]), steps[shared:]

    def _fields(self, root: str, steps: tuple[str | int, ...]) -> RootFields | None:
        """The shared fields a path from ``root`` is read through, if any."""
        first = steps[0] if steps else None
        if not isinstance(first, str) or first == "*":
            return None
        return self.shared.get(root)

    def _read(self, mode: str, root: str, steps: tuple[str | int, ...], sql: str) -> str:
        fields = self._fields(root, steps)
        return sql if fields is None else fields.read(mode, steps, sql)

    def extract(self, root: str, steps: tuple[str | int, ...]) -> str:
        """JSON at ``steps`` below ``root`` (a list if a step is a wildcard)."""
        base, rest = self._split(root, steps)
        sql = self.d.json_extract(base, self.d.json_path(rest)) if rest else base
        return self._read("json", root, steps, sql)

    def extract_string(self, root: str, steps: tuple[str | int, ...]) -> str:
        """Like :meth:`extract`, with JSON strings as text."""
        base, rest = self._split(root, steps)
        sql = self.d.json_extract_string(base, self.d.json_path(rest)) if rest else self.d.json_text(base)
        return self._read("text", root, steps, sql)

    def array_length(self, root: str, steps: tuple[str | int, ...]) -> str:
        """Items of the JSON array at ``steps`` below ``root``, without writing each out as JSON."""
        base, rest = self._split(root, steps)
        sql = self.d.json_array_length(base, self.d.json_path(rest) if rest else None)
        return self._read("length", root, steps, sql)

    def sql_type(self, kind: Kind, many: bool = False) -> str:
        base = self.d.sql_type(kind.value)
        return self.d.list_type(base) if many else base

    # -- constructors ---------------------------------------------------------------------
    def json_root(self, sql: str, fhir_type: str | None) -> Value:
        """A single JSON value that paths can be read from (a resource, a loop variable)."""
        return Value(sql, False, Kind.JSON, fhir_type, root=sql, steps=())

    def item(self, var: str, like: Value) -> Value:
        """The lambda variable ``var`` standing for one item of ``like``."""
        if like.kind is Kind.JSON:
            return Value(var, False, Kind.JSON, like.fhir_type, root=var, steps=())
        return Value(var, False, like.kind, like.fhir_type)

    def empty(self, kind: Kind, fhir_type: str | None, many: bool = False) -> Value:
        sql = self.d.empty_list(self.sql_type(kind)) if many else self.d.null(self.sql_type(kind))
        return Value(sql, many, kind, fhir_type)

    def literal(self, value: object, fhir_type: str) -> Value:
        d = self.d
        if fhir_type == "null":
            return Value(d.null(self.sql_type(Kind.JSON)), False, Kind.JSON, None, literal=None)
        if fhir_type == "boolean":
            return Value(d.boolean_literal(bool(value)), False, Kind.BOOLEAN, "boolean", literal=value)
        if fhir_type in _INTEGER_TYPES:
            return Value(d.integer_literal(int(value)), False, Kind.INTEGER, fhir_type, literal=int(value))
        if fhir_type == "decimal":
            return Value(d.decimal_literal(str(value)), False, Kind.DECIMAL, "decimal", literal=value)
        if isinstance(value, Quantity):  # a FHIR Quantity, so .value and .unit read as from a resource
            ucum = {} if value.calendar else {"system": "http://unitsofmeasure.org", "code": value.unit}
            quantity = {"value": json.loads(value.number), "unit": value.unit, **ucum}
            sql = d.cast(d.string_literal(json.dumps(quantity)), self.sql_type(Kind.JSON))
            return Value(sql, False, Kind.JSON, "Quantity", literal=value)
        return Value(d.string_literal(str(value)), False, Kind.STRING, fhir_type, literal=value)

    # -- JSON navigation ------------------------------------------------------------------
    @property
    def empty_json(self) -> str:
        """The SQL of an empty focus (``forEachOrNull`` over nothing)."""
        return self.d.null(self.sql_type(Kind.JSON))

    def path_value(self, root: str, steps: tuple[str | int, ...], fhir_type: str | None) -> Value:
        many = "*" in steps
        if root == self.empty_json and steps:
            # Nothing can be read from an empty focus; say so with a typed NULL (DuckDB
            # would type json_extract over a NULL constant as JSON, not JSON[]).
            return Value(self.d.null(self.sql_type(Kind.JSON, many)), many, Kind.JSON, fhir_type)
        if not steps:
            return Value(root, many, Kind.JSON, fhir_type, root=root, steps=steps)
        return Value(lambda: self.extract(root, steps), many, Kind.JSON, fhir_type, root=root, steps=steps)

    def step(self, value: Value, key: str, array: bool, fhir_type: str | None) -> Value:
        """``value.key`` where the model says whether ``key`` holds a JSON array."""
        new_steps: tuple[str | int, ...] = (key, "*") if array else (key,)
        if value.root is not None:
            return self.path_value(value.root, value.steps + new_steps, fhir_type)
        if not value.many:
            return self.path_value(value.sql, new_steps, fhir_type)
        var = self.fresh("e")
        inner = self.d.json_extract(var, self.d.json_path(new_steps))
        mapped = self.d.list_transform(value.sql, self.d.lambda_([var], inner))
        sql = self.d.flatten(mapped) if array else self.drop_nulls(mapped)
        return Value(sql, True, Kind.JSON, fhir_type)

    def step_unknown(self, value: Value, key: str, fhir_type: str | None) -> Value:
        """``value.key`` when the model cannot tell whether ``key`` repeats: test at run time."""
        d = self.d
        value = self.materialize(value)
        if value.sql == self.empty_json:
            return Value(d.null(self.sql_type(Kind.JSON, True)), True, Kind.JSON, fhir_type)

        def one(sql: str) -> str:
            inner = self.extract(sql, (key,))
            return (
                f"CASE WHEN {inner} IS NULL THEN {d.empty_list(self.sql_type(Kind.JSON))} "
                f"WHEN {d.json_is_array(inner)} THEN {self.extract(sql, (key, '*'))} "
                f"ELSE {d.make_list([inner])} END"
            )

        if not value.many:
            return Value(one(value.sql), True, Kind.JSON, fhir_type)
        var = self.fresh("e")
        sql = d.flatten(d.list_transform(value.sql, d.lambda_([var], one(var))))
        return Value(sql, True, Kind.JSON, fhir_type)

    def choice_value(self, base: Value, name: str, suffixes: tuple[str, ...]) -> Value:
        """A choice element before ``ofType``; :meth:`materialize` gives its SQL.

        The SQL is built only if the value is used without ``ofType`` (then it reads
        whichever ``name<Type>`` key is present), so narrowed choices read one key.
        """
        return Value(UNNARROWED_CHOICE, base.many, Kind.JSON, None, choice=Choice(base, name, suffixes))

    def _choice_sql(self, choice: Choice) -> Value:
        base, name, suffixes = choice.base, choice.name, choice.suffixes
        if not base.many:
            options = [self.step(base, name + s, False, None).sql for s in suffixes]
            sql = f"coalesce({', '.join(options)})"
            value = Value(sql, False, Kind.JSON, None)
        else:
            var = self.fresh("e")
            item = self.item(var, base)
            options = [self.step(item, name + s, False, None).sql for s in suffixes]
            mapped = self.d.list_transform(base.sql, self.d.lambda_([var], f"coalesce({', '.join(options)})"))
            value = Value(self.drop_nulls(mapped), True, Kind.JSON, None)
        return value

    def materialize(self, value: Value) -> Value:
        """The SQL of an un-narrowed choice element: whichever type is present."""
        return self._choice_sql(value.choice) if value.choice is not None else value

    def ordered_distinct(self, list_sql: str) -> str:
        """The items without repeats, in first-seen order (``list_distinct`` reorders)."""
        d = self.d
        bound, item, position = self.fresh("l"), self.fresh("x"), self.fresh("i")
        keep = f"{d.list_position(bound, item)} = {position}"
        return d.let(list_sql, bound, d.list_filter(bound, d.lambda_([item, position], keep)))

    def drop_nulls(self, list_sql: str) -> str:
        var = self.fresh("n")
        return self.d.list_filter(list_sql, self.d.lambda_([var], f"{var} IS NOT NULL"))

    # -- shape conversions ----------------------------------------------------------------
    def as_list(self, value: Value) -> Value:
        if value.many:
            return value
        sql = self.drop_nulls(self.d.make_list([value.sql]))
        return value.with_sql(sql, many=True)

    def singleton(self, value: Value, message: str) -> Value:
        """The single item of a collection; the query fails with ``message`` on several."""
        if not value.many:
            return value
        d = self.d
        var = self.fresh("l")
        body = (
            f"CASE WHEN {d.list_length(var)} > 1 THEN {d.raise_error(message)} "
            f"ELSE {d.list_element(var, '1')} END"
        )
        return value.with_sql(d.let(value.sql, var, body), many=False)

    def size(self, value: Value) -> str:
        """How many items a collection holds, 0 when it is empty.

        The items of one JSON array at a path need not be extracted to be counted.
        """
        steps = value.steps
        if value.root is not None and value.kind is Kind.JSON and steps.count("*") == 1 and steps[-1] == "*":
            return f"coalesce({self.array_length(value.root, steps[:-1])}, 0)"
        if not value.many:
            return f"(CASE WHEN {value.sql} IS NULL THEN 0 ELSE 1 END)"
        return f"coalesce({self.d.list_length(value.sql)}, 0)"

    def first(self, value: Value) -> Value:
        return self.index(value, 0)

    def index(self, value: Value, position: int) -> Value:
        """Item ``position`` (0-based; negative from the end); a JSONPath index when possible."""
        if not value.many:
            return value if position in (0, -1) else value.with_sql(self.d.null(self.sql_type(value.kind)))
        if value.root is not None and value.steps.count("*") == 1 and value.steps[-1] == "*":
            return self.path_value(value.root, (*value.steps[:-1], position), value.fhir_type)
        one_based = str(position + 1) if position >= 0 else str(position)
        item = value.with_sql(lambda: self.d.list_element(value.sql, one_based), many=False)
        root = value.root
        if root is None or value.kind is not Kind.JSON:
            return item

        def text() -> str:
            # The same item of the path's strings: one extraction, where reading the JSON
            # item writes every item out as JSON and then parses the chosen one again.
            return self.d.list_element(self.extract_string(root, value.steps), one_based)

        return replace(item, text=text)

    # -- kind conversions -----------------------------------------------------------------
    def as_kind(self, value: Value, kind: Kind) -> Value:
        value = self.materialize(value)
        if value.kind is kind:
            return value
        d = self.d
        target = self.sql_type(kind, value.many)
        fhir_type = value.fhir_type
        if kind is not Kind.JSON and kind_for_type(fhir_type) not in (kind, Kind.JSON):
            fhir_type = kind.value
        if value.kind is Kind.JSON and kind is Kind.STRING:
            if value.text is not None:
                sql = value.text()
            elif value.root is not None and value.steps:
                sql = self.extract_string(value.root, value.steps)
            elif not value.many:
                sql = d.json_text(value.sql)
            else:
                var = self.fresh("s")
                sql = d.list_transform(value.sql, d.lambda_([var], d.json_text(var)))
            return value.with_sql(sql, kind=kind, fhir_type=fhir_type or "string")
        if kind is Kind.JSON:
            if not value.many:
                return value.with_sql(d.to_json(value.sql), kind=kind)
            var = self.fresh("j")
            return value.with_sql(d.list_transform(value.sql, d.lambda_([var], d.to_json(var))), kind=kind)
        return value.with_sql(d.cast(value.sql, target), kind=kind, fhir_type=fhir_type or kind.value)

    def common_kind(self, left: Value, right: Value) -> Kind:
        a, b = left.natural_kind, right.natural_kind
        if a is b:
            return a
        if a in _NUMERIC_KINDS and b in _NUMERIC_KINDS:
            return Kind.DECIMAL
        if a is Kind.JSON:
            return b
        if b is Kind.JSON:
            return a
        return Kind.STRING

    def as_boolean(self, value: Value, message: str) -> Value:
        """FHIRPath's singleton evaluation of a collection in a boolean context."""
        value = self.singleton(self.materialize(value), message)
        if value.kind is Kind.BOOLEAN or (value.kind is Kind.JSON and value.fhir_type == "boolean"):
            return self.as_kind(value, Kind.BOOLEAN)
        d = self.d
        if value.kind is Kind.JSON and value.fhir_type is None:
            sql = (
                f"CASE WHEN {value.sql} IS NULL THEN NULL "
                f"WHEN {d.json_is_boolean(value.sql)} THEN {d.cast(value.sql, self.sql_type(Kind.BOOLEAN))} "
                "ELSE TRUE END"
            )
        else:  # a single non-boolean item counts as true
            sql = f"CASE WHEN {value.sql} IS NOT NULL THEN TRUE END"
        return value.with_sql(sql, kind=Kind.BOOLEAN, fhir_type="boolean")
