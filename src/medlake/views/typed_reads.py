"""Reading a resource's paths from one typed STRUCT instead of parsing JSON once per column.

Every ``json_extract`` parses its JSON input again, so a view of twenty columns parses each
resource (or the fragments :class:`RootFields` cut from it) twenty times, and a ``forEach``
parses each item again. An engine that converts JSON into typed values (DuckDB's
``json_transform``) does it once per resource here: the paths a view reads form a tree,
the tree becomes one type (objects STRUCTs, arrays LISTs, leaves VARCHAR when only read as
text, JSON otherwise), and columns read struct fields and map over lists; a ``forEach``
whose items are only read through paths iterates over the typed list itself.

The conversion must not change results, so the tree follows the reads, not the model:

* a node read whole as JSON (or as text *and* below) stays JSON, and the reads below it
  apply the same JSONPath as before to that fragment;
* JSON ``null`` is where the two readings differ: ``json_extract`` yields the JSON
  ``null`` (and a wildcard keeps null items, where it skips missing ones), the STRUCT a SQL
  NULL for both. SQL with reads where that can show (JSON values, text through
  wildcards) is written twice, and a row whose text contains ``null`` anywhere takes the
  old reading. Text along a path without wildcards is NULL either way, counts and the
  items a ``forEach`` walks are the same, so views reading only those need no test.
* an element of the wrong shape (an object where an array belongs) converts to SQL NULL,
  which the compiler already treats as the empty collection, as the JSONPath reading's
  ``[]`` or NULL is.

Reads are written as placeholders while the view is compiled, because the SQL of one read
depends on what every other read needs of the nodes they share; :meth:`TypedReads.render`
writes them out, typed or as before, once the whole view is known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from medlake.engine.dialect import Dialect
from medlake.views.fhirpath_values import RootFields

Steps = tuple[str | int, ...]

#: What a read wants of the node its path ends at: the JSON value, its text, the number of
#: items, or the items of a list that a ``forEach`` walks (read only through their paths).
JSON, TEXT, LENGTH, ITEMS = "json", "text", "length", "items"

_TOKEN = re.compile("\x00typed(\\d+)\x00")

#: The cheapest item type for an array whose items are only counted: any JSON value converts.
_COUNTED_ITEM = "BOOLEAN"


@dataclass
class _Node:
    """One element position in the resource, with what the view reads there."""

    modes: set[str] = field(default_factory=set)
    keys: dict[str, _Node] = field(default_factory=dict)
    items: _Node | None = None  # the items, when read through ``[*]`` or an index
    shape: str = ""  # set by :func:`_decide`: 'json', 'text', 'list', 'struct' or 'unread'

    def child(self, step: str | int) -> _Node:
        if isinstance(step, str) and step != "*":
            return self.keys.setdefault(step, _Node())
        if self.items is None:
            self.items = _Node()
        return self.items


def _decide(node: _Node) -> None:
    """Give ``node`` and the nodes below it their SQL shape (see the module docstring)."""
    listish = node.items is not None or LENGTH in node.modes or ITEMS in node.modes
    lowered = [k.lower() for k in node.keys]
    if (
        JSON in node.modes
        or (TEXT in node.modes and (node.keys or listish))
        or (node.keys and listish)
        or len(set(lowered)) < len(lowered)  # STRUCT field names ignore case
    ):
        node.shape = "json"
        return
    if TEXT in node.modes:
        node.shape = "text"
    elif listish:
        node.shape = "list"
    else:
        node.shape = "struct" if node.keys else "unread"
    for child in [*node.keys.values(), *([node.items] if node.items is not None else [])]:
        _decide(child)


def _spec(node: _Node | None) -> object:
    """The ``json_transform`` structure of ``node``: a dict, a one-item list or a type name."""
    if node is None or node.shape == "unread":
        return _COUNTED_ITEM
    if node.shape == "json":
        return "JSON"
    if node.shape == "text":
        return "VARCHAR"
    if node.shape == "list":
        return [_spec(node.items)]
    return {key: _spec(child) for key, child in node.keys.items()}


@dataclass(frozen=True)
class _Read:
    """A placeholder: ``steps`` (from the resource) read as ``mode``, below ``base``.

    ``base`` is the SQL of the value at ``steps[:depth]``: the typed resource, or the
    lambda variable of a ``forEach`` over the items at that path. ``old`` is the reading
    as before. An alternative (``mode`` None) is two texts: ``typed`` and ``old``.
    """

    mode: str | None
    steps: Steps = ()
    base: str = ""
    depth: int = 0
    old: str = ""
    typed: str = ""

    @property
    def sensitive(self) -> bool:
        """Whether a JSON ``null`` can make the typed reading differ from the old one.

        A JSON value can be the JSON ``null``; a wildcard keeps null items where it skips
        missing ones (in the path below ``base``: the items a ``forEach`` walks are the
        array's items either way, nulls included). Text along a plain path is NULL for both,
        and counts and the walked lists have the same items.
        """
        return self.mode == JSON or (self.mode == TEXT and "*" in self.steps[self.depth :])


class TypedReads:
    """The placeholders of one view and the typed STRUCT of the resource they read.

    ``typed_sql`` names the STRUCT column (``json_transform`` of the resource at
    ``root_sql``) and ``ok_sql`` the per-row test that the typed reading may be used.
    """

    def __init__(
        self, dialect: Dialect, root_sql: str, typed_sql: str, ok_sql: str, fresh: Callable[[str], str]
    ) -> None:
        self.d = dialect
        self.root_sql = root_sql
        self.typed_sql = typed_sql
        self.ok_sql = ok_sql
        self.fresh = fresh
        self._reads: list[_Read] = []
        self._tree = _Node()
        self._decided = False
        self.guarded = False  # whether some SQL reads the old way for rows with nulls

    # -- while compiling ------------------------------------------------------------------
    def _token(self, read: _Read) -> str:
        if self._decided:
            raise RuntimeError("a typed read was added after the reads were rendered")
        self._reads.append(read)
        return f"\x00typed{len(self._reads) - 1}\x00"

    def read(self, mode: str, steps: Steps, base: str, depth: int, old_sql: str) -> str:
        """A placeholder for reading ``steps`` as ``mode``; ``old_sql`` is the JSON reading."""
        return self._token(_Read(mode, steps, base, depth, old_sql))

    def alternative(self, typed: str, old: str) -> str:
        """A placeholder for ``typed`` where rows are read typed, ``old`` where they are not."""
        return self._token(_Read(None, typed=typed, old=old))

    def list_read(self, sql: str) -> _Read | None:
        """The read ``sql`` is, if it is one placeholder reading the items of a JSON array."""
        match = _TOKEN.fullmatch(sql)
        if match is None:
            return None
        read = self._reads[int(match.group(1))]
        if read.mode != JSON or not read.steps or read.steps[-1] != "*":
            return None
        return read

    def as_items(self, sql: str) -> str | None:
        """The placeholder reading the same list as ``sql`` for a ``forEach`` to walk."""
        read = self.list_read(sql)
        if read is None:
            return None
        return self._token(_Read(ITEMS, read.steps, read.base, read.depth, read.old))

    @staticmethod
    def without_placeholders(sql: str) -> str:
        return _TOKEN.sub(" ", sql)

    # -- once the view is compiled ---------------------------------------------------------
    def _used(self, sql: str) -> list[_Read]:
        """The reads the typed rendering of ``sql`` contains."""
        found: list[_Read] = []
        for match in _TOKEN.finditer(sql):
            read = self._reads[int(match.group(1))]
            found.extend(self._used(read.typed) if read.mode is None else [])
            found.append(read)
        return found

    def finish(self, sqls: list[str]) -> bool:
        """Fix the STRUCT from the reads ``sqls`` (the whole view) contain; False if none.

        Only reads that made it into the view count: a body compiled twice (once to see
        whether sharing pays) leaves reads behind that nothing uses.
        """
        used = [r for sql in sqls for r in self._used(sql) if r.mode is not None]
        for read in used:
            node = self._tree
            for step in read.steps:
                node = node.child(step)
            if read.mode == ITEMS:  # the list node holds the items; they are read below
                node = self._node(read.steps[:-1])
            node.modes.add(read.mode or "")
        _decide(self._tree)
        self._decided = True
        return bool(used)

    def render(self, sql: str, typed: bool) -> str:
        """``sql`` with its placeholders written out as typed reads or as the old ones."""
        if not self._decided:
            raise RuntimeError("render() before finish()")

        def one(match: re.Match[str]) -> str:
            read = self._reads[int(match.group(1))]
            if read.mode is None:
                return self.render(read.typed if typed else read.old, typed)
            return self._typed(read) if typed else read.old

        return _TOKEN.sub(one, sql)

    def either(self, sql: str) -> str:
        """``sql`` reading typed values where the row allows it, JSON otherwise."""
        typed = self.render(sql, True)
        if not any(r.sensitive for r in self._used(sql)):
            return typed
        self.guarded = True
        return f"(CASE WHEN {self.ok_sql} THEN {typed} ELSE {self.render(sql, False)} END)"

    def typed_projection(self) -> str | None:
        """The SQL converting the resource into the STRUCT of every node read, or None."""
        if not self._decided:
            raise RuntimeError("typed_projection() before finish()")
        if not self._tree.keys:
            return None
        return self.d.json_transform(self.root_sql, _spec(self._tree))

    def row_test(self) -> str:
        """True for rows the typed reading may read: no JSON ``null`` anywhere."""
        return f"NOT {self.d.json_text_mentions(self.root_sql, 'null')}"

    # -- writing one read -----------------------------------------------------------------
    def _node(self, steps: Steps) -> _Node:
        node = self._tree
        for step in steps:
            node = node.child(step)
        return node

    def _typed(self, read: _Read) -> str:
        node = self._tree
        for step in read.steps[: read.depth]:
            if node.shape == "json":  # the base is an item of JSON: read below it as JSON
                node = _Node(shape="json")
                break
            node = node.child(step)
        return self._below(read.base, node, read.steps[read.depth :], read.mode or "")

    def _below(self, sql: str, node: _Node, steps: Steps, mode: str) -> str:
        d = self.d
        if node.shape == "json":  # the JSONPath reading of this fragment, as before
            path = d.json_path(steps) if steps else None
            if mode in (JSON, ITEMS):
                # A bare field is kept where it stands: DuckDB would move a cast of it
                # (JSON to BOOLEAN …) out of the CASE that guards it, failing rows it skips.
                return d.json_extract(sql, path) if path else d.json_in_place(sql)
            if mode == TEXT:
                return d.json_extract_string(sql, path) if path else d.json_text(sql)
            return d.json_array_length(sql, path)
        if mode == ITEMS and len(steps) == 1:
            return sql  # the list itself
        if not steps:
            return d.list_length(sql) if mode == LENGTH else sql
        step, rest = steps[0], steps[1:]
        if node.shape == "struct":
            assert isinstance(step, str)
            return self._below(d.struct_field(sql, step), node.keys[step], rest, mode)
        assert node.shape == "list" and node.items is not None
        if isinstance(step, int):
            position = str(step + 1) if step >= 0 else str(step)
            return self._below(d.list_element(sql, position), node.items, rest, mode)
        if not rest:
            return sql
        var = self.fresh("t")
        mapped = d.list_transform(sql, d.lambda_([var], self._below(var, node.items, rest, mode)))
        if "*" in rest:
            return d.flatten(mapped)
        # a JSONPath wildcard skips the items that lack the rest of the path
        kept = self.fresh("n")
        return d.list_filter(mapped, d.lambda_([kept], f"{kept} IS NOT NULL"))


class TypedFields(RootFields):
    """:class:`RootFields` whose reads are placeholders of a view's :class:`TypedReads`.

    ``prefix`` is the path (from the resource) of the value ``root_sql`` stands for: empty
    for the resource, the ``forEach`` path for a lambda variable over its items. With
    ``splits`` False paths are read whole from the root (no shared fragments), as a body
    that reads a single path is compiled.
    """

    def __init__(
        self,
        reads: TypedReads,
        root_sql: str,
        column_sql: str,
        prefix: Steps = (),
        base_sql: str | None = None,
        splits: bool = True,
    ) -> None:
        super().__init__(reads.d, root_sql, column_sql)
        self.typed_reads = reads
        self.prefix = prefix
        self.base_sql = base_sql or root_sql
        self.splits = splits

    def read(self, mode: str, steps: Steps, sql: str) -> str:
        return self.typed_reads.read(mode, self.prefix + steps, self.base_sql, len(self.prefix), sql)

    def for_items(self, var: str, steps: Steps, column_sql: str, splits: bool) -> TypedFields:
        """Fields of ``var``, a lambda variable over the items at ``steps`` below this root."""
        return TypedFields(self.typed_reads, var, column_sql, self.prefix + steps, var, splits)
