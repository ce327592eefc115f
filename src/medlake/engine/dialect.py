"""SQL differences between engines, kept in one place.

The view compiler (``medlake.views``), the layer builders and ingest's key queries ask the
dialect for every engine-specific SQL fragment (JSON, lists, regular expressions, QUALIFY,
semi and anti joins, reading Parquet files), so a Spark dialect can be added beside DuckDB's
without touching them. The few jobs whose SQL is DuckDB's on purpose say so with
:func:`medlake.engine.duckdb_only`.

The view compiler works on three kinds of SQL values, and every fragment below takes and
returns SQL *text*:

* JSON values (a FHIR element as JSON text; SQL NULL means "absent"),
* typed scalars (``VARCHAR``, ``BOOLEAN``, ``BIGINT``, ``DOUBLE``),
* lists of either, manipulated with higher-order list functions and lambdas.

A dialect that cannot express one of these fragments raises ``NotImplementedError`` naming
itself, so an unsupported view fails at compile time instead of producing wrong rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

#: The SQL element types the view compiler produces, by logical kind.
SQL_KINDS = ("json", "string", "boolean", "integer", "decimal")


class Dialect:
    """Base class: the fragments every engine must provide.

    Quoting is standard SQL and shared; everything that differs between engines (JSON
    paths, lists, lambdas, structs, raising errors) is left to the engine's subclass.
    """

    name: str = "abstract"

    def quote_identifier(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def string_literal(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def boolean_literal(self, value: bool) -> str:
        return "TRUE" if value else "FALSE"

    def integer_literal(self, value: int) -> str:
        # a negative number in parentheses: "x - -1" must not become the comment "x --1"
        return str(int(value)) if value >= 0 else f"({int(value)})"

    def decimal_literal(self, value: float | str) -> str:
        return f"CAST({self.string_literal(str(value))} AS {self.sql_type('decimal')})"

    def _unsupported(self, what: str) -> NotImplementedError:
        return NotImplementedError(f"the {self.name} dialect cannot express {what}")

    # -- types ---------------------------------------------------------------------------
    def sql_type(self, kind: str) -> str:
        """The SQL type name for one of :data:`SQL_KINDS`."""
        raise self._unsupported("SQL types")

    def list_type(self, element_type: str) -> str:
        raise self._unsupported("list types")

    def cast(self, sql: str, sql_type: str) -> str:
        return f"CAST({sql} AS {sql_type})"

    def try_cast(self, sql: str, sql_type: str) -> str:
        raise self._unsupported("TRY_CAST")

    def plus_seconds(self, sql: str, seconds: int) -> str:
        raise self._unsupported("timestamp arithmetic")

    def null(self, sql_type: str) -> str:
        return f"CAST(NULL AS {sql_type})"

    # -- JSON ----------------------------------------------------------------------------
    def json_extract(self, root: str, path: str) -> str:
        """JSON at ``path`` (a JSONPath from :meth:`json_path`); a list if it has wildcards."""
        raise self._unsupported("JSON extraction")

    def json_extract_string(self, root: str, path: str) -> str:
        raise self._unsupported("JSON extraction")

    def json_extract_many(self, root: str, paths: Sequence[str]) -> str:
        """A list of the JSON at each (wildcard-free) path, parsing ``root`` once."""
        raise self._unsupported("multi-path JSON extraction")

    def json_path(self, steps: Sequence[str | int]) -> str:
        """A JSONPath: a ``str`` step is an object key, ``'*'`` every array item, an ``int`` an index."""
        raise self._unsupported("JSON paths")

    def json_text(self, sql: str) -> str:
        """A JSON scalar as text (strings unquoted), NULL when absent."""
        raise self._unsupported("JSON text")

    def json_kind(self, sql: str) -> str:
        """The JSON type name of a value: 'BOOLEAN', 'VARCHAR', 'ARRAY', 'OBJECT', numbers…"""
        raise self._unsupported("JSON types")

    def json_array_length(self, root: str, path: str | None = None) -> str:
        """Items of the JSON array at ``path`` (or ``root``): 0 for a non-array, NULL when absent."""
        raise self._unsupported("JSON array lengths")

    #: Whether :meth:`json_transform` converts JSON into typed STRUCTs and LISTs; views
    #: then read a resource's paths from one conversion (see ``medlake.views.typed_reads``).
    typed_json = False

    def json_transform(self, root: str, structure: object) -> str:
        """``root`` converted to the type ``structure`` describes.

        ``structure`` is a dict (an object: a STRUCT of its keys), a one-item list (an array:
        a LIST of that item) or a type name (``JSON``, ``VARCHAR``, ``BOOLEAN``). A value of
        another shape converts to NULL; JSON ``null`` converts to NULL.
        """
        raise self._unsupported("typed JSON conversion")

    def json_text_mentions(self, root: str, text: str) -> str:
        """True when the JSON text of ``root`` contains ``text`` (a cheap scan, no parse)."""
        raise self._unsupported("JSON text search")

    def json_in_place(self, sql: str) -> str:
        """The JSON value ``sql`` (a field of a converted struct), evaluated where it is written."""
        return sql

    def json_is_array(self, sql: str) -> str:
        raise self._unsupported("JSON types")

    def json_is_boolean(self, sql: str) -> str:
        raise self._unsupported("JSON types")

    def json_is_string(self, sql: str) -> str:
        raise self._unsupported("JSON types")

    def json_is_number(self, sql: str) -> str:
        raise self._unsupported("JSON types")

    def json_is_integer(self, sql: str) -> str:
        raise self._unsupported("JSON types")

    def to_json(self, sql: str) -> str:
        raise self._unsupported("conversion to JSON")

    # -- lambdas and lists ---------------------------------------------------------------
    def lambda_(self, params: Sequence[str], body: str) -> str:
        raise self._unsupported("lambdas")

    def make_list(self, items: Sequence[str]) -> str:
        raise self._unsupported("list constructors")

    def empty_list(self, element_type: str) -> str:
        raise self._unsupported("empty lists")

    def list_transform(self, items: str, lambda_sql: str) -> str:
        raise self._unsupported("list_transform")

    def list_filter(self, items: str, lambda_sql: str) -> str:
        raise self._unsupported("list_filter")

    def list_reduce(self, items: str, lambda_sql: str, initial: str) -> str:
        raise self._unsupported("list_reduce")

    def flatten(self, items: str) -> str:
        raise self._unsupported("flatten")

    def list_concat(self, lists: Sequence[str]) -> str:
        raise self._unsupported("list_concat")

    def list_length(self, items: str) -> str:
        raise self._unsupported("list length")

    def list_element(self, items: str, one_based_index: str) -> str:
        """Item at a 1-based index (negative counts from the end); NULL when out of range."""
        raise self._unsupported("list indexing")

    def list_slice(self, items: str, start: str | None, end: str | None) -> str:
        """Items ``start..end`` (1-based, inclusive, either open)."""
        raise self._unsupported("list slicing")

    def list_distinct(self, items: str) -> str:
        raise self._unsupported("list_distinct")

    def list_position(self, items: str, item: str) -> str:
        """1-based position of the first ``item`` in ``items``."""
        raise self._unsupported("list_position")

    def list_contains(self, items: str, item: str) -> str:
        raise self._unsupported("list_contains")

    def list_sort(self, items: str) -> str:
        raise self._unsupported("list_sort")

    def list_to_string(self, items: str, separator: str) -> str:
        raise self._unsupported("joining lists")

    def int_range(self, count: str) -> str:
        """The list ``[0, 1, …, count - 1]``."""
        raise self._unsupported("ranges")

    def let(self, value: str, var: str, body: str) -> str:
        """Evaluate ``value`` once and use it as ``var`` inside ``body``."""
        raise self._unsupported("let bindings")

    # -- relations -----------------------------------------------------------------------
    def qualify(self, columns: Sequence[str], relation: str, condition: str) -> str:
        """``SELECT columns FROM relation`` keeping the rows where ``condition`` holds.

        Unlike WHERE, the condition may use window functions (``row_number() OVER (…) = 1``).
        ``columns`` are plain column names. The standard form computes the condition as a column
        and filters on it; engines with ``QUALIFY`` say it directly.
        """
        names = ", ".join(columns)
        return f"SELECT {names} FROM (SELECT {names}, ({condition}) AS __keep FROM {relation}) WHERE __keep"

    def semi_join(self) -> str:
        """The join keyword keeping each left row that has a match, once, with only its own columns."""
        raise self._unsupported("semi joins")

    def anti_join(self) -> str:
        """The join keyword keeping each left row that has no match."""
        raise self._unsupported("anti joins")

    #: Whether :meth:`parquet_files` reads data files directly (``medlake.lake.scan`` then reads a
    #: local Delta table's files instead of going through an Arrow dataset).
    reads_parquet_files = False

    def parquet_files(self, paths: Sequence[str], partitions: Sequence[str] = ()) -> str:
        """A relation over Parquet files: ``partitions`` are text columns read from the files'
        ``column=value`` folders, and a file without some column gives NULLs in it."""
        raise self._unsupported("reading Parquet files")

    # -- structs and rows ----------------------------------------------------------------
    def struct_pack(self, fields: Sequence[tuple[str, str]]) -> str:
        raise self._unsupported("structs")

    def struct_field(self, struct: str, name: str) -> str:
        return f"{struct}.{self.quote_identifier(name)}"

    def unnest(self, items: str) -> str:
        raise self._unsupported("unnest")

    # -- scalar functions ----------------------------------------------------------------
    #: Canonical scalar function name → this engine's name, where they differ.
    function_names: dict[str, str] = {}  # noqa: RUF012 - overridden per dialect

    def function(self, name: str, *args: str) -> str:
        """A plain scalar function call; ``name`` is the canonical (DuckDB/ANSI) spelling.

        Canonical names used: lower, upper, trim, length, starts_with, ends_with, contains,
        replace, abs, ceil, floor, round, sqrt, ln, exp, pow, trunc.
        """
        return f"{self.function_names.get(name, name)}({', '.join(args)})"

    def raise_error(self, message: str) -> str:
        """An expression that aborts the query with ``message`` when evaluated."""
        raise self._unsupported("raising errors")

    def regexp_extract(self, text: str, pattern: str, group: int) -> str:
        raise self._unsupported("regular expressions")

    def regexp_matches(self, text: str, pattern: str) -> str:
        raise self._unsupported("regular expressions")

    def regexp_replace(self, text: str, pattern: str, replacement: str) -> str:
        raise self._unsupported("regular expressions")

    def regexp_backreference(self, group: int) -> str:
        """How a replacement text names a captured group (``\\1`` in RE2, ``$1`` in Java)."""
        raise self._unsupported("regular expressions")

    def string_split(self, text: str, separator: str) -> str:
        raise self._unsupported("string_split")

    def strpos(self, text: str, needle: str) -> str:
        raise self._unsupported("strpos")

    def substring(self, text: str, start_one_based: str, length: str | None) -> str:
        raise self._unsupported("substring")

    def count_occurrences(self, text: str, needle: str) -> str:
        """How many times the literal ``needle`` occurs in ``text``."""
        raise self._unsupported("counting substrings")

    def integer_divide(self, left: str, right: str) -> str:
        raise self._unsupported("integer division")

    def last_day_of_month(self, year: str, month: str) -> str:
        """The last day of a month as two-digit text; ``year`` and ``month`` are digit strings."""
        raise self._unsupported("calendar arithmetic")

    def current_timestamp_text(self) -> str:
        raise self._unsupported("the current time")

    def round_significant(self, sql: str, digits: int) -> str:
        """A double rounded to ``digits`` significant decimal digits (the nearest double to them);
        NULL for an infinity (an overflow)."""
        raise self._unsupported("rounding to significant digits")

    def null_on_error(self, sql: str) -> str:
        """``sql``, or NULL where computing it fails (an integer overflow)."""
        raise self._unsupported("errors as NULL")

    def date_time_text(
        self, year: str, month: str, day: str, hour: str, minute: str, second: str, amount: str, unit: str
    ) -> str:
        """``YYYY-MM-DDThh:mm:ss.fff`` of a date and time given as parts of text (``''`` where
        absent: the least value is taken; whole seconds) moved by ``amount`` (an integer SQL
        expression) ``unit``s: year, month, day, hour, minute or microsecond, calendar-wise
        (2026-01-31 plus a month is 2026-02-28). NULL if the parts are no date."""
        raise self._unsupported("date and time arithmetic")

    def current_date_text(self) -> str:
        raise self._unsupported("the current date")

    def lock_down_statements(self, temp_directory: str) -> list[str]:
        """Settings that leave a session able to read only what was registered before them."""
        raise self._unsupported("a locked-down session")


class DuckDBDialect(Dialect):
    """DuckDB: JSON extension functions, list lambdas (``lambda x: …``), STRUCTs."""

    name = "duckdb"

    _TYPES = {  # noqa: RUF012 - a constant table
        "json": "JSON",
        "string": "VARCHAR",
        "boolean": "BOOLEAN",
        "integer": "BIGINT",
        "decimal": "DOUBLE",
    }

    def sql_type(self, kind: str) -> str:
        try:
            return self._TYPES[kind]
        except KeyError:
            raise ValueError(f"unknown SQL kind {kind!r}; expected one of {', '.join(SQL_KINDS)}") from None

    def list_type(self, element_type: str) -> str:
        return f"{element_type}[]"

    def try_cast(self, sql: str, sql_type: str) -> str:
        return f"TRY_CAST({sql} AS {sql_type})"

    def plus_seconds(self, sql: str, seconds: int) -> str:
        """The timestamp ``seconds`` after the timestamp ``sql``."""
        return f"({sql} + INTERVAL {int(seconds)} SECOND)"

    # -- JSON ----------------------------------------------------------------------------
    def json_extract(self, root: str, path: str) -> str:
        return f"json_extract({root}, {self.string_literal(path)})"

    def json_extract_string(self, root: str, path: str) -> str:
        return f"json_extract_string({root}, {self.string_literal(path)})"

    def json_extract_many(self, root: str, paths: Sequence[str]) -> str:
        return f"json_extract({root}, [{', '.join(self.string_literal(p) for p in paths)}])"

    def json_path(self, steps: Sequence[str | int]) -> str:
        out = "$"
        for step in steps:
            if isinstance(step, int):
                out += f"[{step}]" if step >= 0 else f"[#{step}]"
            elif step == "*":
                out += "[*]"
            elif step.isidentifier():
                out += "." + step
            else:
                out += '."' + step.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return out

    def json_text(self, sql: str) -> str:
        return f"json_extract_string({sql}, '$')"

    def json_kind(self, sql: str) -> str:
        return f"json_type({sql})"

    def json_array_length(self, root: str, path: str | None = None) -> str:
        if path is None:
            return f"json_array_length({root})"
        return f"json_array_length({root}, {self.string_literal(path)})"

    typed_json = True

    def json_transform(self, root: str, structure: object) -> str:
        # json.dumps writes keys escaped as JSON expects; json_transform is the lenient one
        # (a value of the wrong shape becomes NULL rather than failing the query).
        return f"json_transform({root}, {self.string_literal(json.dumps(structure))})"

    def json_text_mentions(self, root: str, text: str) -> str:
        return f"contains(CAST({root} AS VARCHAR), {self.string_literal(text)})"

    def json_in_place(self, sql: str) -> str:
        # The optimizer pushes a cast of a bare struct field down into the projection below,
        # out of any CASE around it; behind a function call it stays where it is written.
        return f"json_extract({sql}, '$')"

    def json_is_array(self, sql: str) -> str:
        return f"(json_type({sql}) = 'ARRAY')"

    def json_is_boolean(self, sql: str) -> str:
        return f"(json_type({sql}) = 'BOOLEAN')"

    def json_is_string(self, sql: str) -> str:
        return f"(json_type({sql}) = 'VARCHAR')"

    def json_is_number(self, sql: str) -> str:
        return f"(json_type({sql}) IN ('BIGINT', 'UBIGINT', 'DOUBLE'))"

    def json_is_integer(self, sql: str) -> str:
        return f"(json_type({sql}) IN ('BIGINT', 'UBIGINT'))"

    def to_json(self, sql: str) -> str:
        return f"to_json({sql})"

    # -- lambdas and lists ---------------------------------------------------------------
    def lambda_(self, params: Sequence[str], body: str) -> str:
        return f"lambda {', '.join(params)}: {body}"

    def make_list(self, items: Sequence[str]) -> str:
        return "[" + ", ".join(items) + "]"

    def empty_list(self, element_type: str) -> str:
        return f"CAST([] AS {element_type}[])"

    def list_transform(self, items: str, lambda_sql: str) -> str:
        return f"list_transform({items}, {lambda_sql})"

    def list_filter(self, items: str, lambda_sql: str) -> str:
        return f"list_filter({items}, {lambda_sql})"

    def list_reduce(self, items: str, lambda_sql: str, initial: str) -> str:
        return f"list_reduce({items}, {lambda_sql}, {initial})"

    def flatten(self, items: str) -> str:
        return f"flatten({items})"

    def list_concat(self, lists: Sequence[str]) -> str:
        if len(lists) == 1:
            return lists[0]
        return f"list_concat({', '.join(lists)})"

    def list_length(self, items: str) -> str:
        return f"len({items})"

    def list_element(self, items: str, one_based_index: str) -> str:
        return f"list_extract({items}, {one_based_index})"

    def list_slice(self, items: str, start: str | None, end: str | None) -> str:
        return f"({items})[{start or ''}:{end or ''}]"

    def list_distinct(self, items: str) -> str:
        return f"list_distinct({items})"

    def list_position(self, items: str, item: str) -> str:
        return f"list_position({items}, {item})"

    def list_contains(self, items: str, item: str) -> str:
        return f"list_contains({items}, {item})"

    def list_sort(self, items: str) -> str:
        return f"list_sort({items})"

    def list_to_string(self, items: str, separator: str) -> str:
        return f"array_to_string({items}, {separator})"

    def int_range(self, count: str) -> str:
        return f"range({count})"

    def let(self, value: str, var: str, body: str) -> str:
        # DuckDB has no LET for expressions; a one-item list_transform evaluates ``value``
        # once, where repeating the text would make DuckDB compute it twice.
        return f"list_extract(list_transform([{value}], lambda {var}: {body}), 1)"

    # -- relations -----------------------------------------------------------------------
    def qualify(self, columns: Sequence[str], relation: str, condition: str) -> str:
        return f"SELECT {', '.join(columns)} FROM {relation} QUALIFY {condition}"

    def semi_join(self) -> str:
        return "SEMI JOIN"

    def anti_join(self) -> str:
        return "ANTI JOIN"

    reads_parquet_files = True

    def parquet_files(self, paths: Sequence[str], partitions: Sequence[str] = ()) -> str:
        files = ", ".join(self.string_literal(path) for path in paths)
        hive = ", ".join(f"{self.string_literal(p)}: 'VARCHAR'" for p in partitions)
        options = f", hive_partitioning = true, hive_types = {{{hive}}}" if partitions else ""
        return f"read_parquet([{files}]{options}, union_by_name = true)"

    # -- structs and rows ----------------------------------------------------------------
    def struct_pack(self, fields: Sequence[tuple[str, str]]) -> str:
        inner = ", ".join(f"{self.quote_identifier(name)} := {sql}" for name, sql in fields)
        return f"struct_pack({inner})"

    def unnest(self, items: str) -> str:
        return f"unnest({items})"

    # -- scalar functions ----------------------------------------------------------------
    def raise_error(self, message: str) -> str:
        return f"error({self.string_literal(message)})"

    def regexp_extract(self, text: str, pattern: str, group: int) -> str:
        return f"regexp_extract({text}, {self.string_literal(pattern)}, {group})"

    def regexp_matches(self, text: str, pattern: str) -> str:
        return f"regexp_matches({text}, {pattern})"

    def regexp_replace(self, text: str, pattern: str, replacement: str) -> str:
        return f"regexp_replace({text}, {pattern}, {replacement}, 'g')"

    def regexp_backreference(self, group: int) -> str:
        return f"\\{group}"

    def string_split(self, text: str, separator: str) -> str:
        return f"string_split({text}, {separator})"

    def strpos(self, text: str, needle: str) -> str:
        return f"strpos({text}, {needle})"

    def substring(self, text: str, start_one_based: str, length: str | None) -> str:
        if length is None:
            return f"substring({text}, {start_one_based})"
        return f"substring({text}, {start_one_based}, {length})"

    def count_occurrences(self, text: str, needle: str) -> str:
        quoted = self.string_literal(needle)
        return f"((length({text}) - length(replace({text}, {quoted}, ''))) // {len(needle)})"

    def integer_divide(self, left: str, right: str) -> str:
        return f"({left} // {right})"

    def last_day_of_month(self, year: str, month: str) -> str:
        first = f"make_date(CAST({year} AS INTEGER), CAST({month} AS INTEGER), 1)"
        return f"strftime(last_day({first}), '%d')"

    def current_timestamp_text(self) -> str:
        # in UTC with a Z: strftime's %z writes "+00", which is no FHIR dateTime
        return "(strftime(make_timestamp(epoch_us(current_timestamp)), '%Y-%m-%dT%H:%M:%S.%g') || 'Z')"

    def round_significant(self, sql: str, digits: int) -> str:
        return f"(CASE WHEN isfinite({sql}) THEN CAST(printf('%.{int(digits)}g', {sql}) AS DOUBLE) END)"

    def null_on_error(self, sql: str) -> str:
        return f"try({sql})"

    def date_time_text(
        self, year: str, month: str, day: str, hour: str, minute: str, second: str, amount: str, unit: str
    ) -> str:
        def number(part: str, default: str) -> str:
            return f"CAST(coalesce(nullif({part}, ''), '{default}') AS BIGINT)"

        local = (
            f"make_timestamp({number(year, '0')}, {number(month, '1')}, {number(day, '1')}, "
            f"{number(hour, '0')}, {number(minute, '0')}, CAST({number(second, '0')} AS DOUBLE))"
        )
        interval = {
            "year": "to_years",
            "month": "to_months",
            "day": "to_days",
            "hour": "to_hours",
            "minute": "to_minutes",
            "microsecond": "to_microseconds",
        }[unit]
        amount_type = "INTEGER" if unit in ("year", "month", "day") else "BIGINT"
        shifted = f"try({local} + {interval}(CAST({amount} AS {amount_type})))"
        return f"strftime({shifted}, '%Y-%m-%dT%H:%M:%S.%g')"

    def current_date_text(self) -> str:
        return "strftime(current_date, '%Y-%m-%d')"

    # -- a session for untrusted SQL ------------------------------------------------------
    def lock_down_statements(self, temp_directory: str) -> list[str]:
        """External access off (files, network, ``ATTACH`` of files, ``COPY``, extensions), then
        the configuration locked, so ``SET``/``RESET``/``PRAGMA`` cannot turn it back on.

        DuckDB still lets a locked session use its ``temp_directory`` (it spills there), so
        that is a private folder of the caller's, not the working directory.
        """
        return [
            f"SET temp_directory = {self.string_literal(temp_directory)}",
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
            "SET allow_community_extensions = false",
            "SET allow_persistent_secrets = false",
            "SET enable_external_access = false",
            "SET lock_configuration = true",
        ]
