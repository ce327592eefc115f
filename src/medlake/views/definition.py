"""ViewDefinition JSON → a checked, typed tree.

Structural rules of SQL-on-FHIR v2 are checked here, before any SQL is written, so a bad
view fails with a message naming the offending part (``select[1].unionAll[0]``) instead of a
database error: required ``resource`` and ``select``; one of ``forEach``/``forEachOrNull``/
``repeat`` per select; column names that are valid and unique; ``unionAll`` branches with the
same columns in the same order; constants with exactly one ``value[x]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from medlake.views.errors import ViewDefinitionError

COLUMN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SELECT_KEYS = frozenset({"column", "select", "forEach", "forEachOrNull", "repeat", "unionAll"})
COLUMN_KEYS = frozenset({"name", "path", "type", "collection", "description", "tag"})

#: ``value[x]`` suffixes allowed on a constant, and the FHIR type each denotes.
CONSTANT_TYPES = {
    "Base64Binary": "base64Binary",
    "Boolean": "boolean",
    "Canonical": "canonical",
    "Code": "code",
    "Date": "date",
    "DateTime": "dateTime",
    "Decimal": "decimal",
    "Id": "id",
    "Instant": "instant",
    "Integer": "integer",
    "Integer64": "integer64",
    "Oid": "oid",
    "PositiveInt": "positiveInt",
    "String": "string",
    "Time": "time",
    "UnsignedInt": "unsignedInt",
    "Uri": "uri",
    "Url": "url",
    "Uuid": "uuid",
}


@dataclass(frozen=True)
class ColumnDef:
    name: str
    path: str
    type: str | None
    collection: bool | None
    description: str | None
    where: str  # location in the view, for messages


@dataclass(frozen=True)
class SelectDef:
    columns: tuple[ColumnDef, ...]
    selects: tuple[SelectDef, ...]
    union_all: tuple[SelectDef, ...]
    for_each: str | None
    for_each_or_null: str | None
    repeat: tuple[str, ...] | None
    where: str

    def column_names(self) -> list[str]:
        """Output columns in spec order: own columns, nested selects, then unionAll's."""
        names = [c.name for c in self.columns]
        for sub in self.selects:
            names.extend(sub.column_names())
        if self.union_all:
            names.extend(self.union_all[0].column_names())
        return names


@dataclass(frozen=True)
class ConstantDef:
    name: str
    type: str
    value: Any


@dataclass(frozen=True)
class ViewDef:
    name: str
    resource: str
    status: str | None
    constants: tuple[ConstantDef, ...]
    where: tuple[str, ...]
    root: SelectDef
    source: dict[str, Any]


def parse_view(view: Any) -> ViewDef:
    """Check a ViewDefinition and return its tree; raise ViewDefinitionError if invalid."""
    if not isinstance(view, dict):
        raise ViewDefinitionError(f"a ViewDefinition must be a JSON object, got {type(view).__name__}")
    if view.get("resourceType", "ViewDefinition") != "ViewDefinition":
        raise ViewDefinitionError(f"resourceType must be 'ViewDefinition', got {view['resourceType']!r}")
    resource = view.get("resource")
    if not isinstance(resource, str) or not resource:
        raise ViewDefinitionError(
            "ViewDefinition.resource is required: the FHIR resource type the view reads"
        )
    select = view.get("select")
    if not isinstance(select, list) or not select:
        raise ViewDefinitionError("ViewDefinition.select is required and must be a non-empty list")
    name = view.get("name")
    if name is not None and not isinstance(name, str):
        raise ViewDefinitionError(f"ViewDefinition.name must be a string, got {name!r}")
    status = view.get("status")
    if status is not None and status not in ("draft", "active", "retired", "unknown"):
        raise ViewDefinitionError(
            f"ViewDefinition.status must be draft/active/retired/unknown, got {status!r}"
        )

    constants = tuple(_constant(c, f"constant[{i}]") for i, c in enumerate(_list(view, "constant", "view")))
    seen: set[str] = set()
    for constant in constants:
        if constant.name in seen:
            raise ViewDefinitionError(f"constant %{constant.name} is defined twice")
        seen.add(constant.name)

    where = []
    for i, clause in enumerate(_list(view, "where", "view")):
        if not isinstance(clause, dict) or not isinstance(clause.get("path"), str):
            raise ViewDefinitionError(f"where[{i}] must be an object with a string 'path'")
        where.append(clause["path"])

    selects = tuple(_select(s, f"select[{i}]") for i, s in enumerate(select))
    root = SelectDef((), selects, (), None, None, None, "view")
    names = root.column_names()
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ViewDefinitionError(f"column names must be unique in a view; repeated: {', '.join(duplicates)}")
    return ViewDef(
        name=name or resource.lower(),
        resource=resource,
        status=status,
        constants=constants,
        where=tuple(where),
        root=root,
        source=view,
    )


def _list(node: dict[str, Any], key: str, where: str) -> list[Any]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ViewDefinitionError(f"{where}.{key} must be a list, got {type(value).__name__}")
    return value


def _constant(node: Any, where: str) -> ConstantDef:
    if not isinstance(node, dict):
        raise ViewDefinitionError(f"{where} must be an object")
    name = node.get("name")
    if not isinstance(name, str) or not COLUMN_NAME.match(name):
        raise ViewDefinitionError(f"{where}.name must be a name like 'my_constant', got {name!r}")
    values = [key for key in node if key.startswith("value")]
    if len(values) != 1:
        raise ViewDefinitionError(
            f"constant %{name} must have exactly one value[x] (valueString, valueInteger, …); "
            f"found {len(values)}"
        )
    key = values[0]
    fhir_type = CONSTANT_TYPES.get(key[len("value") :])
    if fhir_type is None:
        raise ViewDefinitionError(f"constant %{name}: {key} is not a primitive value[x]")
    value = node[key]
    expected: type | tuple[type, ...] = str
    if fhir_type == "boolean":
        expected = bool
    elif fhir_type in ("integer", "integer64", "positiveInt", "unsignedInt"):
        expected = int
    elif fhir_type == "decimal":
        expected = (int, float)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ViewDefinitionError(f"constant %{name}: {key} has the wrong JSON type ({value!r})")
    return ConstantDef(name, fhir_type, value)


def _select(node: Any, where: str) -> SelectDef:
    if not isinstance(node, dict):
        raise ViewDefinitionError(f"{where} must be an object")
    unknown = sorted(set(node) - SELECT_KEYS - {"description", "extension", "id"})
    if unknown:
        raise ViewDefinitionError(f"{where} has unknown keys: {', '.join(unknown)}")
    iterations = [k for k in ("forEach", "forEachOrNull", "repeat") if k in node]
    if len(iterations) > 1:
        raise ViewDefinitionError(f"{where} may have only one of forEach, forEachOrNull, repeat")
    for key in ("forEach", "forEachOrNull"):
        if key in node and (not isinstance(node[key], str) or not node[key].strip()):
            raise ViewDefinitionError(f"{where}.{key} must be a FHIRPath string, got {node[key]!r}")
    repeat = None
    if "repeat" in node:
        paths = node["repeat"]
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
            raise ViewDefinitionError(f"{where}.repeat must be a non-empty list of FHIRPath strings")
        repeat = tuple(paths)

    columns = tuple(_column(c, f"{where}.column[{i}]") for i, c in enumerate(_list(node, "column", where)))
    selects = tuple(_select(s, f"{where}.select[{i}]") for i, s in enumerate(_list(node, "select", where)))
    union_all = tuple(
        _select(s, f"{where}.unionAll[{i}]") for i, s in enumerate(_list(node, "unionAll", where))
    )
    if not columns and not selects and not union_all:
        raise ViewDefinitionError(f"{where} has no column, select or unionAll: it would produce nothing")
    result = SelectDef(
        columns=columns,
        selects=selects,
        union_all=union_all,
        for_each=node.get("forEach"),
        for_each_or_null=node.get("forEachOrNull"),
        repeat=repeat,
        where=where,
    )
    if union_all:
        first = union_all[0].column_names()
        for i, branch in enumerate(union_all[1:], start=1):
            names = branch.column_names()
            if names != first:
                raise ViewDefinitionError(
                    f"{where}.unionAll[{i}] has columns {names} but unionAll[0] has {first}: "
                    "every branch must have the same columns in the same order"
                )
    return result


def _column(node: Any, where: str) -> ColumnDef:
    if not isinstance(node, dict):
        raise ViewDefinitionError(f"{where} must be an object")
    unknown = sorted(set(node) - COLUMN_KEYS - {"extension", "id"})
    if unknown:
        raise ViewDefinitionError(f"{where} has unknown keys: {', '.join(unknown)}")
    name = node.get("name")
    if not isinstance(name, str) or not COLUMN_NAME.match(name):
        raise ViewDefinitionError(
            f"{where}.name must start with a letter and use only letters, digits and '_', got {name!r}"
        )
    path = node.get("path")
    if not isinstance(path, str) or not path.strip():
        raise ViewDefinitionError(f"{where} ({name}): path must be a FHIRPath string")
    fhir_type = node.get("type")
    if fhir_type is not None and (not isinstance(fhir_type, str) or not fhir_type):
        raise ViewDefinitionError(f"{where} ({name}): type must be a FHIR type name, got {fhir_type!r}")
    collection = node.get("collection")
    if collection is not None and not isinstance(collection, bool):
        raise ViewDefinitionError(f"{where} ({name}): collection must be true or false, got {collection!r}")
    description = node.get("description")
    return ColumnDef(name, path, fhir_type, collection, description, where)
