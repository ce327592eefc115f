"""Declarative mappings: a YAML file that says how rows become FHIR resources.

One file describes one export or one hospital database: code tables, units and
conversions shared by all its tables, and per table the columns (type, format, which
must be present) and the resources each row makes. ``docs/sources.md`` is the
guide to writing one; the files under ``mappings/`` are worked examples.

YAML rather than TOML because a mapping is mostly FHIR-shaped templates, nested several
levels deep, which YAML writes as they look in FHIR's own JSON while TOML needs a dotted
table header for each level; the loader (``strict_yaml``) removes YAML 1.1's implicit
typing so codes like ``NO`` or ``007`` stay the text they are.

The file is checked completely when it is loaded (unknown keys, undeclared columns,
unknown code tables, invalid resource types), so a mistake fails before the first row,
with the place it is at.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from medlake.errors import InputError
from medlake.fhir.reading import Record
from medlake.fhir.validation import InvalidResource, is_resource_type, resource_classes, validate
from medlake.sources.tabular.codes import Code, CodeTable, Units
from medlake.sources.tabular.strict_yaml import MappingSyntaxError, load_yaml
from medlake.sources.tabular.template import Node, Obj, RowError, TemplateError, compile_template
from medlake.sources.tabular.values import FALSE_WORDS, TRUE_WORDS, TYPES, CellError, Column

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
INCREMENTAL_MODES = ("none", "append", "lastmodified")


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
    top = _Section(data, "mapping")
    name = top.string("name", required=True)
    description = top.string("description") or ""
    timezone = _zone(top.string("timezone"), "timezone")
    code_tables = {
        str(table_name): _code_table(str(table_name), spec) for table_name, spec in top.table("codes").items()
    }
    units = _units(top.table("units"), top.list("conversions"))
    tables_data = top.table("tables", required=True)
    top.done()
    if not tables_data:
        raise MappingError("tables: at least one table is needed")
    tables = {
        str(table_name): _table(str(table_name), spec, name, code_tables, units, timezone)
        for table_name, spec in tables_data.items()
    }
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return Mapping(name, path, hashlib.sha256(canonical).hexdigest(), description, tables)


class _Section:
    """Typed access to one YAML table, refusing keys it does not know (typos fail loudly)."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise MappingError(f"{where}: expected a table of keys, got {type(data).__name__}")
        self.data, self.where, self.used = data, where, set()

    def get(self, key: str, required: bool = False) -> Any:
        self.used.add(key)
        if required and self.data.get(key) is None:
            raise MappingError(f"{self.where}: '{key}' is required")
        return self.data.get(key)

    def string(self, key: str, required: bool = False) -> str | None:
        value = self.get(key, required)
        if value is not None and not isinstance(value, str):
            raise MappingError(f"{self.where}.{key}: expected text, got {value!r}")
        return value

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise MappingError(f"{self.where}.{key}: expected a whole number ≥ {minimum}, got {value!r}")
        return value

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if value is not None and not isinstance(value, bool):
            raise MappingError(f"{self.where}.{key}: expected true or false, got {value!r}")
        return bool(value)

    def table(self, key: str, required: bool = False) -> dict:
        value = self.get(key, required)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise MappingError(f"{self.where}.{key}: expected a table of keys")
        return value

    def list(self, key: str) -> list:
        value = self.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise MappingError(f"{self.where}.{key}: expected a list")
        return value

    def names(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in items):
            raise MappingError(f"{self.where}.{key}: expected a name or a list of names")
        return tuple(items)

    def done(self) -> None:
        unknown = [str(k) for k in self.data if k not in self.used]
        if unknown:
            raise MappingError(
                f"{self.where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(self.used))})"
            )


def _zone(name: str | None, where: str) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"{where}: {name!r} is not an IANA time zone (e.g. Europe/Berlin, UTC)") from None


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MappingError(f"{where}: expected a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{where}: expected a number, got {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise MappingError(f"{where}: a conversion factor must be a positive number, got {value!r}")
    return number


def _code_table(name: str, data: Any) -> CodeTable:
    where = f"codes.{name}"
    section = _Section(data, where)
    system = section.string("system")
    local_system = section.string("local_system")
    ignore_case = section.flag("ignore_case")
    entries_data = section.table("map", required=True)
    section.done()
    entries = {}
    for local, spec in entries_data.items():
        local = str(local)
        at = f"{where}.map.{local}"
        if isinstance(spec, str | int) and not isinstance(spec, bool):
            entries[local] = Code(local, str(spec), system, local_system=local_system)
            continue
        entry = _Section(spec, at)
        code = entry.get("code", required=True)
        if isinstance(code, bool) or not isinstance(code, str | int):
            raise MappingError(f"{at}.code: expected a code, got {code!r}")
        convert = {
            str(unit): _decimal(factor, f"{at}.convert.{unit}")
            for unit, factor in entry.table("convert").items()
        }
        unit = entry.string("unit")
        if convert and unit is None:
            raise MappingError(f"{at}: 'convert' needs 'unit', the unit values are converted to")
        entries[local] = Code(
            local=local,
            code=str(code),
            system=entry.string("system") or system,
            display=entry.string("display"),
            local_system=local_system,
            unit=unit,
            convert=convert,
            decimals=entry.integer("decimals", -1) if entry.get("decimals") is not None else None,
        )
        entry.done()
    return CodeTable(name, entries, ignore_case)


def _units(aliases: dict, conversions: list) -> Units:
    for spelling, ucum in aliases.items():
        if not isinstance(ucum, str):
            raise MappingError(f"units.{spelling}: expected a UCUM code, got {ucum!r}")
    table: dict[tuple[str, str], Decimal] = {}
    for index, item in enumerate(conversions):
        section = _Section(item, f"conversions[{index}]")
        source = section.string("from", required=True)
        target = section.string("to", required=True)
        factor = _decimal(section.get("factor", required=True), f"conversions[{index}].factor")
        section.done()
        table[(source, target)] = factor  # type: ignore[index]
    return Units({str(k): v for k, v in aliases.items()}, table)


def _column(
    name: str, data: Any, where: str, code_tables: dict[str, CodeTable], zone: ZoneInfo | None
) -> Column:
    if isinstance(data, str):
        data = {"type": data}
    section = _Section(data or {}, where)
    kind = section.string("type") or "string"
    if kind not in TYPES:
        raise MappingError(f"{where}.type: {kind!r} is not one of {', '.join(TYPES)}")
    formats_value = section.get("format")
    formats = tuple([formats_value] if isinstance(formats_value, str) else formats_value or ())
    if not all(isinstance(f, str) for f in formats):
        raise MappingError(f"{where}.format: expected a strptime format or a list of them")
    if formats and kind not in ("date", "datetime"):
        raise MappingError(f"{where}.format: only date and datetime columns take a format")
    table_name = section.string("table")
    codes = None
    if kind == "code":
        if table_name is None:
            raise MappingError(f"{where}: a code column needs 'table', the code table to look codes up in")
        if table_name not in code_tables:
            raise MappingError(
                f"{where}.table: no code table {table_name!r} (codes: {', '.join(code_tables)})"
            )
        codes = code_tables[table_name]
    elif table_name is not None:
        raise MappingError(f"{where}.table: only code columns take a code table")
    column_zone = _zone(section.string("timezone"), f"{where}.timezone") or zone
    if kind == "datetime" and column_zone is None:
        raise MappingError(
            f"{where}: a datetime column needs a time zone for times written without one: "
            "set the mapping's 'timezone' (e.g. timezone: Europe/Berlin) or the column's"
        )
    separator = section.string("decimal_separator") or "."
    if separator not in (".", ","):
        raise MappingError(f"{where}.decimal_separator: '.' or ','")
    true_words = section.names("true_values")
    false_words = section.names("false_values")
    column = Column(
        name=name,
        source=section.string("source") or name,
        type=kind,
        formats=formats,
        required=section.flag("required"),
        optional=section.flag("optional"),
        codes=codes,
        timezone=column_zone,
        decimal_separator=separator,
        comparator=section.flag("comparator"),
        true_words=frozenset(w.casefold() for w in true_words) or TRUE_WORDS,
        false_words=frozenset(w.casefold() for w in false_words) or FALSE_WORDS,
    )
    section.done()
    if column.comparator and kind != "decimal":
        raise MappingError(f"{where}.comparator: only decimal columns take comparators")
    return column


def _resource(index: int, data: Any, columns: dict[str, Column], where: str) -> ResourceSpec:
    if not isinstance(data, dict):
        raise MappingError(f"{where}: expected a resource template")
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
    data: Any,
    mapping: str,
    code_tables: dict[str, CodeTable],
    units: Units,
    zone: ZoneInfo | None,
) -> TableMapping:
    where = f"tables.{name}"
    section = _Section(data, where)
    section.string("description")
    columns_data = section.table("columns", required=True)
    columns = {
        str(col): _column(str(col), spec, f"{where}.columns.{col}", code_tables, zone)
        for col, spec in columns_data.items()
    }
    sources = [c.source for c in columns.values()]
    if len({_fold(s) for s in sources}) != len(sources):
        raise MappingError(f"{where}.columns: two columns read the same source column")
    resources_data = section.list("resources")
    if not resources_data:
        raise MappingError(f"{where}.resources: at least one resource template is needed")
    specs = tuple(
        _resource(i, spec, columns, f"{where}.resources[{i}]") for i, spec in enumerate(resources_data)
    )
    csv = _csv_options(section.table("csv"), f"{where}.csv")
    excel = _excel_options(section.table("excel"), f"{where}.excel")
    sql = _sql_options(section.table("sql"), f"{where}.sql", columns)
    section.done()
    return TableMapping(name, mapping, columns, specs, units, csv, excel, sql)


def _csv_options(data: dict, where: str) -> CsvOptions:
    section = _Section(data, where)
    options = CsvOptions(
        delimiter=section.string("delimiter") or ",",
        quotechar=section.string("quotechar") or '"',
        encoding=section.string("encoding") or "utf-8-sig",
        skip_lines=section.integer("skip_lines", 0),
        max_row_lines=section.integer("max_row_lines", 100, minimum=1),
    )
    section.done()
    if len(options.delimiter) != 1 or len(options.quotechar) != 1:
        raise MappingError(f"{where}: delimiter and quotechar are single characters")
    try:
        "".encode(options.encoding)
    except LookupError:
        raise MappingError(f"{where}.encoding: unknown encoding {options.encoding!r}") from None
    if options.encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32")):
        raise MappingError(
            f"{where}.encoding: {options.encoding} files are not read line by line; convert to UTF-8"
        )
    return options


def _excel_options(data: dict, where: str) -> ExcelOptions:
    section = _Section(data, where)
    options = ExcelOptions(sheet=section.string("sheet"), skip_rows=section.integer("skip_rows", 0))
    section.done()
    return options


def _sql_options(data: dict, where: str, columns: dict[str, Column]) -> SqlOptions:
    section = _Section(data, where)
    incremental = section.string("incremental") or "none"
    if incremental not in INCREMENTAL_MODES:
        raise MappingError(f"{where}.incremental: one of {', '.join(INCREMENTAL_MODES)}")
    options = SqlOptions(
        table=section.string("table"),
        schema=section.string("schema"),
        query=section.string("query"),
        key=section.names("key"),
        incremental=incremental,
        check_column=section.string("check_column"),
        lookback_seconds=section.integer("lookback_seconds", 0),
        chunk_size=section.integer("chunk_size", 5_000, minimum=1),
        commit_rows=section.integer("commit_rows", 100_000, minimum=1),
    )
    section.done()
    if data and (options.table is None) == (options.query is None):
        raise MappingError(f"{where}: give either 'table' or 'query'")
    if options.query is not None and not options.key:
        raise MappingError(f"{where}: a query needs 'key', the columns that identify a row")
    if incremental != "none" and options.check_column is None:
        raise MappingError(f"{where}: incremental: {incremental} needs 'check_column'")
    if incremental == "none" and options.check_column is not None:
        raise MappingError(f"{where}: check_column is only used with incremental: append or lastmodified")
    return options
