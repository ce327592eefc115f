"""ViewDefinition → one SQL SELECT.

The rows a select node produces for one resource are built as an SQL *expression*: a list
of structs, one struct per output row. ``forEach`` maps the node's body over a list with
``list_transform`` (the lambda's index gives ``%rowIndex``), nested selects are a cross
product of such lists, ``unionAll`` concatenates them, ``forEachOrNull`` substitutes the
body evaluated on an empty focus when the list is empty, and ``repeat`` walks the tree level
by level with ``list_reduce``. The outer query then ``unnest``s the list once.

A node that can only ever produce one row per resource (no iteration below it) stays a
plain list of column expressions, so simple views compile to ``SELECT expr, expr FROM …``
with no lists at all. In a view that does iterate, the view's own single-row columns are
computed once per resource beside the list of rows rather than inside its lambda, which
would copy the values they read into every item. Everything is one vectorised query: no
per-row Python, no joins.

On engines that convert JSON to typed values (DuckDB), paths are read from one typed
STRUCT per resource rather than by parsing its JSON per column (``typed_reads``), with the
JSON reading kept for rows where the two could differ.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from medlake.engine.dialect import Dialect, DuckDBDialect
from medlake.fhir.model import ABSTRACT_TYPES, FhirModel, fhir_model
from medlake.views.definition import ColumnDef, SelectDef, ViewDef, parse_view
from medlake.views.errors import ViewDefinitionError
from medlake.views.fhirpath_ast import Call, Indexer, Member, Navigate, Node, member_names, parse
from medlake.views.fhirpath_compiler import RUNTIME_ERROR_PREFIX, FhirPathCompiler, Scope
from medlake.views.fhirpath_values import Kind, RootFields, Value, kind_for_type
from medlake.views.typed_reads import TypedFields, TypedReads

SOURCE_ALIAS = "__src"
TOP_LEVEL = "__top"
TYPED = "__typed"  # the resource as one typed STRUCT (see medlake.views.typed_reads)
TYPED_OK = "__typed_ok"  # whether the row may be read from it
_BARE_QUERY = re.compile(r"(?is)^(select|with|from|values)\b")
ROW_ALIAS = "__row"
LIST_ALIAS = "__list"


@dataclass(frozen=True)
class ViewColumn:
    """An output column: its name, FHIR type (None when not known), and SQL type."""

    name: str
    type: str | None
    collection: bool
    sql_type: str
    description: str | None = None

    @property
    def is_json(self) -> bool:
        """True when values are JSON text (complex FHIR types, untyped expressions)."""
        return self.sql_type.upper().startswith("JSON")


@dataclass
class _Rows:
    """The rows of a select node: one row of ``exprs``, or ``rows_sql``, a list of structs."""

    columns: list[ViewColumn]
    exprs: list[str] | None = None
    rows_sql: str | None = None

    @property
    def single(self) -> bool:
        return self.exprs is not None


@dataclass(frozen=True)
class CompiledView:
    """A ViewDefinition compiled for one dialect; :meth:`sql` places it over a source."""

    name: str
    resource: str
    columns: tuple[ViewColumn, ...]
    definition: dict[str, Any]
    dialect: Dialect = field(repr=False)
    _top_level: str | None = field(repr=False)
    _where: tuple[str, ...] = field(repr=False)
    _exprs: tuple[str | None, ...] = field(repr=False)  # per column; None: read from _rows_sql
    _rows_sql: str | None = field(repr=False)
    warnings: tuple[str, ...] = ()
    # (conversion, row test or None when every row is read typed)
    _typed: tuple[str, str | None] | None = field(default=None, repr=False)
    # keys a resource must mention to yield any row (see :func:`_needed_keys`)
    _needed: tuple[str, ...] = field(default=(), repr=False)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def sql(self, source: str, passthrough: Sequence[str] = (), type_column: str | None = None) -> str:
        """The SELECT producing the view's rows from ``source``.

        ``source`` is a table name or a subquery with a JSON (or JSON text) column
        ``resource``; rows of other resource types may be present and are skipped.
        ``passthrough`` names source columns copied unchanged into every output row, first
        (e.g. ``institution``). ``type_column``, when the source has one (the raw layer's
        ``resource_type``), is trusted to hold each row's resourceType, which saves parsing
        every row of other types just to skip it.
        """
        d = self.dialect
        q = d.quote_identifier
        clash = sorted(set(passthrough) & ({*self.column_names, "resource"}))
        clash += sorted(p for p in passthrough if p.startswith("__"))
        if clash:
            raise ViewDefinitionError(
                f"passthrough columns clash with columns of view {self.name} or names it uses: {clash}"
            )
        text = source.strip()
        if _BARE_QUERY.match(text):
            text = f"({text})"
        wanted = d.string_literal(self.resource)
        if type_column is not None:
            type_test = f"{SOURCE_ALIAS}.{q(type_column)} = {wanted}"
        else:
            type_test = f"{d.json_extract_string(f'{SOURCE_ALIAS}.resource', '$.resourceType')} = {wanted}"
        root = f"{SOURCE_ALIAS}.resource"
        for key in self._needed:
            # without the key's name in its text, a resource has nothing to iterate: it is not
            # parsed at all. A name spelled with \u escapes is not found, so such rows stay.
            mentions = [d.json_text_mentions(root, key), d.json_text_mentions(root, "\\u")]
            type_test += f" AND ({' OR '.join(mentions)})"
        kept = [f"{SOURCE_ALIAS}.{q(p)}" for p in passthrough]
        inner = [*kept, f"{SOURCE_ALIAS}.resource AS resource"]
        if self._typed is None:
            if self._top_level is not None:
                inner.append(f"{self._top_level} AS {TOP_LEVEL}")
            base = f"(\nSELECT {', '.join(inner)}\nFROM {text} AS {SOURCE_ALIAS}\nWHERE {type_test}\n)"
        elif self._typed[1] is None:
            inner.append(f"{self._typed[0]} AS {TYPED}")
            base = f"(\nSELECT {', '.join(inner)}\nFROM {text} AS {SOURCE_ALIAS}\nWHERE {type_test}\n)"
        else:
            # Every row is converted (columns where nulls cannot matter read it for all rows);
            # rows that fail the test are also cut into fragments for the JSON reading.
            conversion, test = self._typed
            inner.append(f"{test} AS {TYPED_OK}")
            tested = f"(\nSELECT {', '.join(inner)}\nFROM {text} AS {SOURCE_ALIAS}\nWHERE {type_test}\n)"
            ok = f"{SOURCE_ALIAS}.{TYPED_OK}"
            converted = [f"{SOURCE_ALIAS}.*", f"{conversion} AS {TYPED}"]
            if self._top_level is not None:
                converted.append(f"CASE WHEN NOT {ok} THEN {self._top_level} END AS {TOP_LEVEL}")
            base = f"(\nSELECT {', '.join(converted)}\nFROM {tested} AS {SOURCE_ALIAS}\n)"
        base += f" AS {SOURCE_ALIAS}"
        where = f"\nWHERE {' AND '.join(self._where)}" if self._where else ""
        pairs = list(zip(self._exprs, self.columns, strict=True))
        if self._rows_sql is None:
            outputs = [f"{expr} AS {q(c.name)}" for expr, c in pairs]
            return f"SELECT {', '.join(kept + outputs)}\nFROM {base}{where}"
        listed = f"SELECT {SOURCE_ALIAS}.*, {self._rows_sql} AS {LIST_ALIAS}\nFROM {base}{where}"
        items = f"{SOURCE_ALIAS}.{LIST_ALIAS}"
        # Evaluated only for resources that have rows, as inside the rows' lambda: a column
        # that fails (several values) fails for the same resources.
        has_rows = f"{d.list_length(items)} > 0"
        per_resource = [
            f"CASE WHEN {has_rows} THEN {expr} END AS {q(c.name)}" for expr, c in pairs if expr is not None
        ]
        rows = (
            f"SELECT {', '.join([*kept, *per_resource, f'{d.unnest(items)} AS {ROW_ALIAS}'])}\n"
            f"FROM (\n{listed}\n) AS {SOURCE_ALIAS}"
        )
        outputs = [q(p) for p in passthrough] + [
            q(c.name) if expr is not None else f"{d.struct_field(ROW_ALIAS, c.name)} AS {q(c.name)}"
            for expr, c in pairs
        ]
        return f"SELECT {', '.join(outputs)}\nFROM (\n{rows}\n) AS __rows"


#: Functions whose result is empty whenever their input is: a chain of these, of navigation and
#: of indexing over an element yields nothing when the element is absent (``exists()`` or
#: ``count()`` would yield a value, a union another path's items).
_EMPTY_ON_EMPTY = frozenset(
    {
        "where",
        "select",
        "first",
        "last",
        "tail",
        "skip",
        "take",
        "single",
        "distinct",
        "ofType",
        "extension",
        "children",
        "descendants",
        "repeat",
    }
)


def _first_element(path: Node) -> str | None:
    """The element a path's items all come from, if it has to be present for any item."""
    node: Node | None = path
    while True:
        if isinstance(node, Member):
            # a capital starts a type name (``Patient.name``), not an element
            return node.name if node.name[:1].islower() else None
        passes_empty = isinstance(node, Call) and node.name in _EMPTY_ON_EMPTY
        if not (isinstance(node, Navigate | Indexer) or passes_empty) or node.base is None:
            return None
        node = node.base


def _needed_keys(node: SelectDef) -> tuple[str, ...]:
    """Elements a resource must have for the view to give it any row.

    The rows of a select are the product of its parts, so a ``forEach`` over the resource
    that finds no items (not ``forEachOrNull``, not inside a ``unionAll`` branch) leaves the
    resource without rows. When its path's items all come from one element
    (:func:`_first_element`), that element's name appears in the text, as the key or the
    start of a choice key (``value`` in ``"valueQuantity"``). Searching the text for the
    name costs a tenth of parsing the many resources that lack it (five Observations in six
    have no ``component``); without the opening quote the search runs twice as fast, as the
    quote, its first byte, is everywhere in JSON.
    """
    needed: list[str] = []
    for sub in node.selects:
        if sub.for_each is not None:
            element = _first_element(parse(sub.for_each))
            if element is not None:
                needed.append(element)
        elif sub.for_each_or_null is None and sub.repeat is None:
            needed.extend(_needed_keys(sub))
    return tuple(dict.fromkeys(needed))


def compile_view(view: dict[str, Any], dialect: Dialect | None = None) -> CompiledView:
    """Compile a ViewDefinition; raise :class:`ViewDefinitionError` if it is invalid."""
    definition = parse_view(view)
    return _ViewCompiler(definition, dialect or DuckDBDialect(), fhir_model()).compile()


class _ViewCompiler:
    def __init__(self, view: ViewDef, dialect: Dialect, model: FhirModel) -> None:
        self.view = view
        self.d = dialect
        self.model = model
        if not model.is_resource_type(view.resource) or view.resource in ABSTRACT_TYPES:
            raise ViewDefinitionError(
                f"ViewDefinition.resource {view.resource!r} is not a FHIR R4 resource type"
            )
        counter = itertools.count(1)
        root, top = f"{SOURCE_ALIAS}.resource", f"{SOURCE_ALIAS}.{TOP_LEVEL}"
        self.root_fields: RootFields = RootFields(dialect, root, top)
        self.typed: TypedReads | None = None
        if dialect.typed_json:
            typed_sql = f"{SOURCE_ALIAS}.{TYPED}"
            self.typed = TypedReads(dialect, root, typed_sql, f"{SOURCE_ALIAS}.{TYPED_OK}", self._fresh)
            self.root_fields = TypedFields(self.typed, root, top, base_sql=typed_sql)
        self.fp = FhirPathCompiler(dialect, model, {}, counter, self.root_fields)
        self.ops = self.fp.ops
        self.fp.constants = {c.name: self.ops.literal(c.value, c.type) for c in view.constants}
        self.fp.context = f"{RUNTIME_ERROR_PREFIX} {view.name}"

    # -- whole view -----------------------------------------------------------------------
    def compile(self) -> CompiledView:
        resource = self.ops.json_root(f"{SOURCE_ALIAS}.resource", self.view.resource)
        scope = Scope(this=resource, resource=resource, row_index="0")
        where = tuple(f"({self.where_clause(path, scope)})" for path in self.view.where)
        parts = self.parts(self.view.root, scope)
        listed = [p for p in parts if not p.single]
        exprs = [e for p in parts for e in (p.exprs if p.exprs is not None else [None] * len(p.columns))]
        rows_sql = self.cross(listed).rows_sql if listed else None
        typed = None
        reads = self.typed
        if reads is not None:
            reads.finish([*where, *(e for e in exprs if e is not None), rows_sql or ""])
            where = tuple(reads.either(w) for w in where)
            exprs = [None if e is None else reads.either(e) for e in exprs]
            rows_sql = None if rows_sql is None else reads.either(rows_sql)
            conversion = reads.typed_projection()
            if conversion is not None:
                typed = (conversion, reads.row_test() if reads.guarded else None)
        return CompiledView(
            name=self.view.name,
            resource=self.view.resource,
            columns=tuple(c for p in parts for c in p.columns),
            definition=self.view.source,
            dialect=self.d,
            _top_level=self.root_fields.projection(),
            _where=where,
            _exprs=tuple(exprs),
            _rows_sql=rows_sql,
            warnings=tuple(dict.fromkeys(self.fp.warnings)),
            _typed=typed,
            _needed=_needed_keys(self.view.root),
        )

    def _fresh(self, prefix: str) -> str:
        return self.fp.fresh(prefix)

    def where_clause(self, path: str, scope: Scope) -> str:
        value = self.ops.materialize(self.fp.compile(parse(path), scope, path))
        is_boolean = value.kind is Kind.BOOLEAN or value.fhir_type == "boolean"
        if not is_boolean and (value.kind is not Kind.JSON or value.fhir_type is not None):
            described = value.fhir_type or value.kind.value
            raise ViewDefinitionError(f"where path {path!r} must return a boolean, but returns {described}")
        message = f"{self.fp.context}: where path {path!r}"
        value = self.ops.singleton(value, f"{message} returned several values")
        if is_boolean:
            return f"coalesce({self.ops.as_kind(value, Kind.BOOLEAN).sql}, FALSE)"
        d = self.d
        test = (
            f"CASE WHEN {value.sql} IS NULL THEN FALSE "
            f"WHEN {d.json_is_boolean(value.sql)} THEN {d.cast(value.sql, self.ops.sql_type(Kind.BOOLEAN))} "
            f"ELSE {d.raise_error(f'{message} returned a value that is not a boolean')} END"
        )
        return test

    # -- select nodes ---------------------------------------------------------------------
    def select_rows(self, node: SelectDef, scope: Scope) -> _Rows:
        if node.for_each is not None or node.for_each_or_null is not None:
            path = node.for_each if node.for_each is not None else node.for_each_or_null
            assert path is not None
            items = self.ops.as_list(self.ops.materialize(self.fp.compile(parse(path), scope, path)))
            return self.iterate(node, scope, items, or_null=node.for_each is None)
        if node.repeat is not None:
            return self.iterate(node, scope, self.repeat_items(node, scope), or_null=False)
        return self.body(node, scope)

    def body(self, node: SelectDef, scope: Scope) -> _Rows:
        return self.cross(self.parts(node, scope))

    def parts(self, node: SelectDef, scope: Scope) -> list[_Rows]:
        """The row sets whose cross product ``node`` yields, in column order.

        A nested select that does not iterate adds its own parts rather than their cross
        product (crossing is associative), so all single-row columns stay plain expressions.
        """
        parts: list[_Rows] = []
        if node.columns:
            compiled = [self.column(c, scope) for c in node.columns]
            parts.append(_Rows([c for c, _ in compiled], exprs=[sql for _, sql in compiled]))
        for sub in node.selects:
            iterates = sub.for_each is not None or sub.for_each_or_null is not None or sub.repeat is not None
            parts.extend([self.select_rows(sub, scope)] if iterates else self.parts(sub, scope))
        if node.union_all:
            parts.append(self.union_all(node, scope))
        return parts

    def iterate(self, node: SelectDef, scope: Scope, items: Value, or_null: bool) -> _Rows:
        d = self.d
        var, index = self.fp.fresh("e"), self.fp.fresh("i")
        item_scope = replace(scope, this=self.ops.item(var, items), row_index=f"({index} - 1)")
        inner, fields = self.item_body(node, item_scope, items)
        unbound = self.as_struct(inner) if inner.single else inner.rows_sql
        assert unbound is not None
        per_item = unbound if fields is None else fields.bind(unbound)
        typed_items = self.typed_items(items, var, unbound)

        def rows_of(list_sql: str, per_item: str = per_item) -> str:
            mapped = d.list_transform(list_sql, d.lambda_([var, index], per_item))
            return mapped if inner.single else d.flatten(mapped)

        def either(build: Callable[[str, str], str]) -> str:
            """``build(items, per_item)``, over the typed items too where they can be walked."""
            old = build(items.sql, per_item)
            if typed_items is None or self.typed is None:
                return old
            return self.typed.alternative(build(typed_items, unbound), old)

        if not or_null:
            return _Rows(inner.columns, rows_sql=either(rows_of))
        # forEachOrNull: with nothing to iterate, the body is evaluated once on an empty focus.
        empty_focus = self.ops.json_root(self.ops.empty_json, items.fhir_type)
        if items.kind is not Kind.JSON:
            empty_focus = Value(d.null(self.ops.sql_type(items.kind)), False, items.kind, items.fhir_type)
        fallback = self.body(node, replace(scope, this=empty_focus, row_index="0"))
        bound = self.fp.fresh("l")

        def or_null_rows(list_sql: str, per_item: str) -> str:
            return d.let(
                list_sql,
                bound,
                f"CASE WHEN coalesce({d.list_length(bound)}, 0) = 0 THEN {self.as_list(fallback)} "
                f"ELSE {rows_of(bound, per_item)} END",
            )

        sql = either(or_null_rows)
        return _Rows(inner.columns, rows_sql=sql)

    def typed_items(self, items: Value, var: str, per_item: str) -> str | None:
        """The typed list to walk ``items`` over, when ``per_item`` reads ``var`` only by paths."""
        if self.typed is None or not isinstance(self.ops.shared.get(items.root or ""), TypedFields):
            return None
        if re.search(rf"\b{re.escape(var)}\b", TypedReads.without_placeholders(per_item)):
            return None  # the item itself is used (as JSON), not only paths below it
        return self.typed.as_items(items.sql)

    def _typed_item_fields(self, items: Value, var: str, column: str, splits: bool) -> RootFields | None:
        """Fields of ``var`` whose reads are typed placeholders, when ``items`` is a typed read."""
        parent = self.ops.shared.get(items.root or "")
        if not isinstance(parent, TypedFields) or items.kind is not Kind.JSON or self.typed is None:
            return None
        if self.typed.list_read(items.sql) is None:
            return None
        return parent.for_items(var, items.steps, column, splits)

    def item_body(self, node: SelectDef, scope: Scope, items: Value) -> tuple[_Rows, RootFields | None]:
        """The rows of one item, and the fragments of it they read if they share them.

        A ``forEach`` body usually reads several paths of its item: extracting their
        starts once per item (see :class:`RootFields`) beats parsing the item once per
        path. A single read gains nothing from that, so such a body is compiled plainly.
        Where the items are read from the typed resource, the reads are also placeholders
        of :class:`TypedReads`, so the typed rows can walk the typed items instead.
        """
        var = scope.this.root
        if var is None:  # items that are not JSON elements have no paths
            return self.body(node, scope), None
        column = self.fp.fresh("f")
        typed = self._typed_item_fields(items, var, column, splits=True)
        fields = typed or RootFields(self.d, var, column)
        rows = self._body_sharing(node, scope, fields)
        if fields.reads < 2:
            # typed, the reads are still written as placeholders, whole from the item
            plain = self._typed_item_fields(items, var, column, splits=False)
            return (self.body(node, scope) if plain is None else self._body_sharing(node, scope, plain)), None
        return rows, fields

    def _body_sharing(self, node: SelectDef, scope: Scope, fields: RootFields) -> _Rows:
        self.ops.share(fields)
        try:
            return self.body(node, scope)
        finally:
            self.ops.unshare(fields)

    def union_all(self, node: SelectDef, scope: Scope) -> _Rows:
        branches = [self.select_rows(b, scope) for b in node.union_all]
        first = branches[0].columns
        for i, branch in enumerate(branches[1:], start=1):
            for a, b in zip(first, branch.columns, strict=True):
                if a.sql_type != b.sql_type:
                    raise ViewDefinitionError(
                        f"{node.where}.unionAll: column {a.name} is {a.sql_type} in branch 0 "
                        f"but {b.sql_type} in branch {i}; give both the same type"
                    )
        return _Rows(list(first), rows_sql=self.d.list_concat([self.as_list(b) for b in branches]))

    def cross(self, parts: list[_Rows]) -> _Rows:
        columns = [c for p in parts for c in p.columns]
        if all(p.single for p in parts):
            return _Rows(columns, exprs=[e for p in parts for e in (p.exprs or [])])
        if len(parts) == 1:
            return parts[0]
        d = self.d
        names: dict[int, str] = {}
        fields: list[tuple[str, str]] = []
        for i, part in enumerate(parts):
            if part.single:
                fields.extend(zip([c.name for c in part.columns], part.exprs or [], strict=True))
            else:
                names[i] = self.fp.fresh("r")
                fields.extend((c.name, d.struct_field(names[i], c.name)) for c in part.columns)
        body = d.struct_pack(fields)
        innermost = True
        for i in sorted(names, reverse=True):
            body = d.list_transform(parts[i].rows_sql or "", d.lambda_([names[i]], body))
            if not innermost:
                body = d.flatten(body)
            innermost = False
        return _Rows(columns, rows_sql=body)

    def as_struct(self, rows: _Rows) -> str:
        return self.d.struct_pack(list(zip([c.name for c in rows.columns], rows.exprs or [], strict=True)))

    def as_list(self, rows: _Rows) -> str:
        if rows.single:
            return self.d.make_list([self.as_struct(rows)])
        assert rows.rows_sql is not None
        return rows.rows_sql

    # -- repeat ---------------------------------------------------------------------------
    def repeat_items(self, node: SelectDef, scope: Scope) -> Value:
        """Every element reachable through ``repeat`` paths, in depth-first (document) order.

        Each found element carries a sort key (the path of [repeat path no., position]
        pairs from the start); levels are expanded with ``list_reduce`` and the union is
        sorted by key. The number of expansion rounds is bounded by how often the paths'
        element names occur in the focus's JSON text, which no nesting depth can exceed.
        """
        assert node.repeat is not None
        d, ops = self.d, self.ops
        trees = [parse(p) for p in node.repeat]
        if scope.this.kind is not Kind.JSON:
            raise ViewDefinitionError(f"{node.where}.repeat needs FHIR elements to walk")
        starts = [
            ops.as_list(ops.materialize(self.fp.compile(t, scope, p)))
            for t, p in zip(trees, node.repeat, strict=True)
        ]
        types = {s.fhir_type for s in starts} - {None}
        element_type = types.pop() if len(types) == 1 else None
        walker = self.fp.fresh("s")
        element = ops.json_root(d.struct_field(walker, "e"), element_type)
        children = [
            ops.as_list(ops.materialize(self.fp.compile(t, replace(scope, this=element), p)))
            for t, p in zip(trees, node.repeat, strict=True)
        ]
        if any(c.fhir_type not in (element_type, None) for c in children):
            raise ViewDefinitionError(f"{node.where}.repeat paths must lead to elements of one type")
        key_type = d.list_type(ops.sql_type(Kind.INTEGER))
        json_list = d.empty_list(ops.sql_type(Kind.JSON))

        def level(lists: list[str], prefix: str) -> str:
            parts = []
            for number, list_sql in enumerate(lists):
                child, position = self.fp.fresh("c"), self.fp.fresh("p")
                key = d.list_concat([prefix, d.make_list([str(number), position])])
                struct = d.struct_pack([("k", key), ("e", child)])
                parts.append(
                    d.list_transform(
                        f"coalesce({list_sql}, {json_list})", d.lambda_([child, position], struct)
                    )
                )
            return d.list_concat(parts)

        first_level = level([s.sql for s in starts], f"CAST([] AS {key_type})")
        acc, step_var, found, start = (self.fp.fresh(n) for n in ("acc", "x", "f", "n"))
        next_level = d.flatten(
            d.list_transform(
                d.struct_field(acc, "todo"),
                d.lambda_([walker], level([c.sql for c in children], d.struct_field(walker, "k"))),
            )
        )
        step = d.let(
            next_level,
            found,
            d.struct_pack([("done", d.list_concat([d.struct_field(acc, "done"), found])), ("todo", found)]),
        )
        text = d.cast(scope.this.sql, "VARCHAR")
        names = sorted({member_names(t)[-1] for t in trees if member_names(t)})
        if not names:
            raise ViewDefinitionError(f"{node.where}.repeat paths must navigate to child elements")
        bound = " + ".join(d.count_occurrences(text, f'"{n}"') for n in names)
        walked = d.let(
            first_level,
            start,
            d.list_reduce(
                d.int_range(f"({bound})"),
                d.lambda_([acc, step_var], step),
                d.struct_pack([("done", start), ("todo", start)]),
            ),
        )
        ordered = d.list_sort(d.struct_field(f"({walked})", "done"))
        item = self.fp.fresh("s")
        sql = d.list_transform(ordered, d.lambda_([item], d.struct_field(item, "e")))
        return Value(sql, True, Kind.JSON, element_type)

    # -- columns --------------------------------------------------------------------------
    def column(self, col: ColumnDef, scope: Scope) -> tuple[ViewColumn, str]:
        d, ops = self.d, self.ops
        value = ops.materialize(self.fp.compile(parse(col.path), scope, col.path))
        if col.type is not None:
            if not self.model.is_known_type(col.type):
                raise ViewDefinitionError(f"{col.where} ({col.name}): unknown FHIR type {col.type!r}")
            kind = kind_for_type(col.type)
            fhir_type: str | None = col.type
        else:
            kind = value.natural_kind
            fhir_type = value.fhir_type
            if fhir_type is not None and "." in fhir_type:
                fhir_type = "BackboneElement"
            if fhir_type is None and kind is not Kind.JSON:
                fhir_type = kind.value
        converted = ops.as_kind(value, kind)
        element_type = ops.sql_type(kind)
        if col.collection:
            as_list = ops.as_list(converted)
            sql_type = d.list_type(element_type)
            sql = f"coalesce({as_list.sql}, {d.empty_list(element_type)})"
        else:
            message = (
                f"{self.fp.context}: column {col.name} ({col.path}) produced more than one value "
                'for one row; declare it with "collection": true to keep them all'
            )
            sql = ops.singleton(converted, message).sql
            sql_type = element_type
        column = ViewColumn(col.name, fhir_type, bool(col.collection), sql_type, col.description)
        return column, d.cast(sql, sql_type)
