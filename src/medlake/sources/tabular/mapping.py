"""Declarative mappings: a YAML file that says how rows become FHIR resources.

One file describes one export or one hospital database: code tables, units and
conversions shared by all its tables, and per table the columns (type, format, which
must be present) and the resources each row makes. ``docs/sources.md`` is the
guide to writing one; the files under ``mappings/`` are worked examples.

YAML rather than TOML because a mapping is mostly FHIR-shaped templates, nested several
levels deep, which YAML writes as they look in FHIR's own JSON while TOML needs a dotted
table header for each level; the loader (``strict_yaml``) removes YAML 1.1's implicit
typing so codes like ``NO`` or ``007`` stay the text they are.

The file is checked completely when it is loaded, so a mistake fails before the first row,
with the file and the place it is at: its keys and types against the schema in
``mapping_file`` (pydantic models that forbid unknown keys), then what the schema cannot say
(undeclared columns, unknown code tables, invalid resource types) while it is compiled here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from pydantic import ValidationError

from medlake.errors import InputError
from medlake.fhir.reading import Record
from medlake.fhir.validation import InvalidResource, is_resource_type, resource_classes, validate
from medlake.sources.tabular.codes import Code, CodeTable, Units
from medlake.sources.tabular.mapping_file import (
    CodeTableSpec,
    ColumnSpec,
    CsvSpec,
    MappingFile,
    SqlSpec,
    TableSpec,
    problems,
)
from medlake.sources.tabular.strict_yaml import MappingSyntaxError, load_yaml
from medlake.sources.tabular.template import Node, Obj, RowError, TemplateError, compile_template
from medlake.sources.tabular.values import FALSE_WORDS, TRUE_WORDS, CellError, Column

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class MappingError(InputError):
    """A mapping file that cannot work; the message names the file and the place."""


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str = ","
    quotechar: str = '"'
    encoding: str = "utf-8-sig"
    skip_lines: int = 0
    max_row_lines: int = 100


@dataclass(frozen=True)
class ExcelOptions:
    sheet: str | None = None
    skip_rows: int = 0


@dataclass(frozen=True)
class SqlOptions:
    """Where a table's rows come from in a database, and how an incremental import continues."""

    table: str | None = None
    schema: str | None = None
    query: str | None = None
    key: tuple[str, ...] = ()
    incremental: str = "none"
    check_column: str | None = None
    lookback_seconds: int = 0
    chunk_size: int = 5_000
    commit_rows: int = 100_000


@dataclass(frozen=True)
class ResourceSpec:
    resource_type: str
    id: Node
    id_source: str
    when: tuple[str, ...]
    body: Obj | None
    where: str


@dataclass(frozen=True)
class TableMapping:
    """How the rows of one table (or one file) convert: columns, then resources."""

    name: str
    mapping: str
    columns: dict[str, Column]
    resources: tuple[ResourceSpec, ...]
    units: Units
    csv: CsvOptions = field(default_factory=CsvOptions)
    excel: ExcelOptions = field(default_factory=ExcelOptions)
    sql: SqlOptions = field(default_factory=SqlOptions)

    def missing_columns(self, available: list[str], fold: bool) -> list[Column]:
        """Declared columns (not ``optional``) that a header or a table lacks."""
        have = {_fold(a) if fold else a for a in available}
        return [
            c
            for c in self.columns.values()
            if not c.optional and (_fold(c.source) if fold else c.source) not in have
        ]

    def resources_for(self, raw: MappingABC[str, Any]) -> list[dict]:
        """The resources of one row (cells by column name); raises :class:`RowError`."""
        values: dict[str, Any] = {}
        problems = []
        for column in self.columns.values():
            try:
                values[column.name] = column.convert(raw.get(column.name))
            except CellError as exc:
                problems.append(f"column '{column.name}': {exc}")
        if problems:
            raise RowError("; ".join(problems))
        out = []
        for spec in self.resources:
            if any(values[name] is None for name in spec.when):
                continue
            resource_id = spec.id.render(values, self.units)
            if resource_id is None:
                raise RowError(f"{spec.where}: id {spec.id_source!r} is empty")
            if not FHIR_ID.match(resource_id):
                raise RowError(
                    f"{spec.where}: id {resource_id!r} (from {spec.id_source!r}) is not a FHIR id: "
                    "1-64 of A-Z, a-z, 0-9, '-' and '.'"
                )
            resource = {"resourceType": spec.resource_type, "id": resource_id}
            if spec.body is not None:
                resource |= spec.body.render(values, self.units) or {}
            try:
                validate(resource)
            except InvalidResource as exc:
                raise RowError(f"{spec.resource_type}/{resource_id} is not valid FHIR R4: {exc}") from None
            out.append(resource)
        return out

    def records(self, raw: MappingABC[str, Any], source: str, line: int, original: bytes) -> list[Record]:
        """The row's resources as records, or one ``convert`` error record holding the original row."""
        try:
            resources_ = self.resources_for(raw)
        except RowError as exc:
            return [Record(source, line, original, error=str(exc), error_stage="convert")]
        return [Record(source, line, orjson.dumps(resource)) for resource in resources_]


@dataclass(frozen=True)
class Mapping:
    name: str
    path: str
    digest: str
    description: str
    tables: dict[str, TableMapping]

    def table(self, name: str | None = None) -> TableMapping:
        """The named table, or the only one; a file with several tables needs a name."""
        if name is None:
            if len(self.tables) != 1:
                raise MappingError(
                    f"mapping {self.name} has tables {', '.join(self.tables)}: choose one (--table NAME)"
                )
            return next(iter(self.tables.values()))
        if name not in self.tables:
            raise MappingError(
                f"mapping {self.name} has no table {name!r} (tables: {', '.join(self.tables)})"
            )
        return self.tables[name]


def _fold(name: str) -> str:
    return name.strip().casefold()


# Loading ---------------------------------------------------------------------------------------


def shipped_mappings() -> dict[str, Path]:
    """The mappings that ship with medlake (name → file): the demo HIS and the demo region's exports."""
    folder = resources.files("medlake.sources.tabular") / "mappings"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def mapping_path(name_or_path: str | Path) -> Path:
    """A mapping file's path: an existing file, or the name of a shipped mapping."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_mappings()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    raise MappingError(
        f"no mapping file {name_or_path}; shipped mappings: {', '.join(sorted(shipped)) or 'none'}"
    )


def load_mapping(name_or_path: str | Path) -> Mapping:
    path = mapping_path(name_or_path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except MappingSyntaxError as exc:
        raise MappingError(f"{path}: {exc}") from None
    try:
        return parse_mapping(data, str(path))
    except (TemplateError, MappingError, ValueError) as exc:
        message = str(exc)
        raise MappingError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def parse_mapping(data: Any, path: str = "<mapping>") -> Mapping:
    """The mapping a file's data (as YAML gives it) describes; :class:`MappingError` says what and where."""
    if not isinstance(data, dict):
        raise MappingError(f"mapping: expected a table of keys, got {type(data).__name__}")
    try:
        spec = MappingFile.model_validate(data)
    except ValidationError as exc:
        raise MappingError(problems(exc)) from None
    timezone = _zone(spec.timezone, "timezone")
    code_tables = {name: _code_table(name, table) for name, table in spec.codes.items()}
    conversions = {(c.source, c.to): c.factor for c in spec.conversions}
    units = Units(dict(spec.units), conversions)
    tables = {
        name: _table(name, table, spec.name, code_tables, units, timezone)
        for name, table in spec.tables.items()
    }
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return Mapping(spec.name, path, hashlib.sha256(canonical).hexdigest(), spec.description, tables)


def _zone(name: str | None, where: str) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"{where}: {name!r} is not an IANA time zone (e.g. Europe/Berlin, UTC)") from None


def _code_table(name: str, spec: CodeTableSpec) -> CodeTable:
    entries = {}
    for local, entry in spec.map.items():
        if entry.convert and entry.unit is None:
            raise MappingError(
                f"codes.{name}.map.{local}: 'convert' needs 'unit', the unit values are converted to"
            )
        entries[local] = Code(
            local=local,
            code=entry.code,
            system=entry.system or spec.system,
            display=entry.display,
            local_system=spec.local_system,
            unit=entry.unit,
            convert=dict(entry.convert),
            decimals=entry.decimals,
        )
    return CodeTable(name, entries, spec.ignore_case)


def _column(
    name: str, spec: ColumnSpec, where: str, code_tables: dict[str, CodeTable], zone: ZoneInfo | None
) -> Column:
    if spec.format and spec.type not in ("date", "datetime"):
        raise MappingError(f"{where}.format: only date and datetime columns take a format")
    codes = None
    if spec.type == "code":
        if spec.table is None:
            raise MappingError(f"{where}: a code column needs 'table', the code table to look codes up in")
        if spec.table not in code_tables:
            raise MappingError(
                f"{where}.table: no code table {spec.table!r} (codes: {', '.join(code_tables)})"
            )
        codes = code_tables[spec.table]
    elif spec.table is not None:
        raise MappingError(f"{where}.table: only code columns take a code table")
    column_zone = _zone(spec.timezone, f"{where}.timezone") or zone
    if spec.type == "datetime" and column_zone is None:
        raise MappingError(
            f"{where}: a datetime column needs a time zone for times written without one: "
            "set the mapping's 'timezone' (e.g. timezone: Europe/Berlin) or the column's"
        )
    if spec.comparator and spec.type != "decimal":
        raise MappingError(f"{where}.comparator: only decimal columns take comparators")
    return Column(
        name=name,
        source=spec.source or name,
        type=spec.type,
        formats=tuple(spec.format),
        required=spec.required,
        optional=spec.optional,
        codes=codes,
        timezone=column_zone,
        decimal_separator=spec.decimal_separator,
        comparator=spec.comparator,
        true_words=frozenset(w.casefold() for w in spec.true_values) or TRUE_WORDS,
        false_words=frozenset(w.casefold() for w in spec.false_values) or FALSE_WORDS,
    )


def _resource(index: int, data: dict[str, Any], columns: dict[str, Column], where: str) -> ResourceSpec:
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str) or not is_resource_type(resource_type):
        raise MappingError(f"{where}: resourceType {resource_type!r} is not an R4 resource type")
    where = f"{where} ({resource_type})"
    id_source = data.get("id")
    if not isinstance(id_source, str):
        raise MappingError(f"{where}: 'id' is required, a template such as \"pat-{{patient_id}}\"")
    when = data.get("$when")
    when_columns = tuple([when] if isinstance(when, str) else when or ())
    for name in when_columns:
        if name not in columns:
            raise MappingError(f"{where}.$when: {name!r} is not a declared column")
    body = {k: v for k, v in data.items() if k not in ("resourceType", "id", "$when")}
    body_node = compile_template(body, columns, where, resource_classes()[resource_type]) if body else None
    assert body_node is None or isinstance(body_node, Obj)
    return ResourceSpec(
        resource_type,
        compile_template(id_source, columns, f"{where}.id", "text"),
        id_source,
        when_columns,
        body_node,
        where,
    )


def _table(
    name: str,
    spec: TableSpec,
    mapping: str,
    code_tables: dict[str, CodeTable],
    units: Units,
    zone: ZoneInfo | None,
) -> TableMapping:
    where = f"tables.{name}"
    columns = {
        col: _column(col, column, f"{where}.columns.{col}", code_tables, zone)
        for col, column in spec.columns.items()
    }
    sources = [c.source for c in columns.values()]
    if len({_fold(s) for s in sources}) != len(sources):
        raise MappingError(f"{where}.columns: two columns read the same source column")
    specs = tuple(
        _resource(i, resource, columns, f"{where}.resources[{i}]")
        for i, resource in enumerate(spec.resources)
    )
    csv = _csv_options(spec.csv, f"{where}.csv")
    excel = ExcelOptions(sheet=spec.excel.sheet, skip_rows=spec.excel.skip_rows)
    sql = _sql_options(spec.sql, f"{where}.sql")
    return TableMapping(name, mapping, columns, specs, units, csv, excel, sql)


def _csv_options(spec: CsvSpec, where: str) -> CsvOptions:
    try:
        "".encode(spec.encoding)
    except LookupError:
        raise MappingError(f"{where}.encoding: unknown encoding {spec.encoding!r}") from None
    if spec.encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32")):
        raise MappingError(
            f"{where}.encoding: {spec.encoding} files are not read line by line; convert to UTF-8"
        )
    return CsvOptions(spec.delimiter, spec.quotechar, spec.encoding, spec.skip_lines, spec.max_row_lines)


def _sql_options(spec: SqlSpec | None, where: str) -> SqlOptions:
    if spec is None:
        return SqlOptions()
    if (spec.table is None) == (spec.query is None):
        raise MappingError(f"{where}: give either 'table' or 'query'")
    if spec.query is not None and not spec.key:
        raise MappingError(f"{where}: a query needs 'key', the columns that identify a row")
    if spec.incremental != "none" and spec.check_column is None:
        raise MappingError(f"{where}: incremental: {spec.incremental} needs 'check_column'")
    if spec.incremental == "none" and spec.check_column is not None:
        raise MappingError(f"{where}: check_column is only used with incremental: append or lastmodified")
    return SqlOptions(
        table=spec.table,
        schema=spec.db_schema,
        query=spec.query,
        key=tuple(spec.key),
        incremental=spec.incremental,
        check_column=spec.check_column,
        lookback_seconds=spec.lookback_seconds,
        chunk_size=spec.chunk_size,
        commit_rows=spec.commit_rows,
    )
