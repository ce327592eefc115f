"""FHIR R4 (4.0.1) validation with the SMART on FHIR model classes (``fhirclient``).

``fhirclient`` 4.x is generated from the R4 4.0.1 definitions, so it accepts exactly the
R4 resource types (``fhir.resources`` ships R4B and R5, whose type lists differ from R4's).
It checks element names, types, required elements, cardinality and primitive formats
(dates, ids, …); it does not check terminology bindings or invariants.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

import fhirclient.models as fhir_models
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirdate import FHIRDate
from fhirclient.models.resource import Resource

FHIR_VERSION = "4.0.1"
#: Abstract bases that the model package defines as classes but no instance may claim.
_ABSTRACT = {"Resource", "DomainResource"}
#: fhirclient puts Python object reprs into messages; they mean nothing to a data engineer.
_OBJECT_REPR = re.compile(r" (?:in data for|on) <[^>]*>")


class InvalidResource(ValueError):
    """A resource that is not valid FHIR R4; the message says where and why."""


@cache
def resource_classes() -> dict[str, type[Resource]]:
    """Every R4 resource type name → its model class."""
    classes: dict[str, type[Resource]] = {}
    for module_info in pkgutil.iter_modules(fhir_models.__path__):
        if module_info.name.endswith("_tests") or module_info.name.startswith("fhir"):
            continue
        module = importlib.import_module(f"{fhir_models.__name__}.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Resource)
                and value.__module__ == module.__name__
            ):
                name = getattr(value, "resource_type", None)
                if name and name == value.__name__ and name not in _ABSTRACT:
                    classes[name] = value
    return classes


def is_resource_type(name: str) -> bool:
    return name in resource_classes()


def validate(resource: dict) -> None:
    """Raise :class:`InvalidResource` unless ``resource`` is a valid R4 resource.

    A fast check built from the model classes' own element tables accepts what is
    certainly valid; anything else goes to the model classes themselves, which have the
    final word and the error message. The fast check is never more lenient than the
    model classes (``tests/fhir/test_validation.py`` checks that on real data).
    """
    resource_type = resource.get("resourceType")
    cls = resource_classes().get(resource_type) if isinstance(resource_type, str) else None
    if cls is None:
        raise InvalidResource(f"unknown resourceType {resource_type!r} (not an R4 resource type)")
    if certainly_valid(resource, cls):
        return
    try:
        cls(resource, strict=True)
    except FHIRValidationError as exc:
        raise InvalidResource(_describe(exc)) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidResource(f"{resource_type}: {exc}") from None


def _describe(exc: FHIRValidationError, limit: int = 5) -> str:
    """Flatten fhirclient's nested error tree into 'path: message' lines, the first few only."""
    lines: list[str] = []

    def walk(error: Exception, path: list[str]) -> None:
        if isinstance(error, FHIRValidationError) and error.errors:
            for inner in error.errors:
                walk(inner, [*path, error.path] if error.path else path)
        else:
            where = ".".join(p for p in path if p and p != "{root}") or "(resource)"
            message = str(error.args[0] if error.args else error).strip().strip("'\"")
            lines.append(f"{where}: {_OBJECT_REPR.sub('', message)}")

    walk(exc, [])
    more = f" (+{len(lines) - limit} more)" if len(lines) > limit else ""
    return "; ".join(lines[:limit]) + more


# The fast check -----------------------------------------------------------------------------
# Each model class lists its elements as (name, json name, type, is list, choice group,
# required). From that table we build, once per class, a plan of what each JSON key may
# hold; then a resource is walked as plain dicts, without creating model objects.

_PRIMITIVES: dict[type, tuple[type, ...]] = {str: (str,), bool: (bool,), int: (int,), float: (int, float)}


class _Plan:
    __slots__ = ("keys", "required")

    def __init__(self, keys: dict[str, tuple[type, bool]], required: list[frozenset[str]]) -> None:
        self.keys = keys
        self.required = required


@cache
def _plan(cls: type) -> _Plan:
    elements = cls().elementProperties()
    keys = {jsname: (typ, is_list) for _name, jsname, typ, is_list, _group, _required in elements}
    # a required element is satisfied by its own key, or by any key of its choice group (value[x])
    required = {group or jsname for _name, jsname, _typ, _list, group, needed in elements if needed}
    members = [
        frozenset(
            jsname for _name, jsname, _typ, _list, group, _needed in elements if (group or jsname) == name
        )
        for name in sorted(required)
    ]
    return _Plan(keys, members)


@cache
def _date_ok(typ: type, text: str) -> bool:
    try:
        typ(text)
    except Exception:
        return False
    return True


def certainly_valid(resource: dict, cls: type) -> bool:
    """True only when the model classes would accept ``resource``; False means "ask them"."""
    if resource.get("resourceType") != cls.resource_type:  # type: ignore[attr-defined]
        return False
    return _object_ok(resource, cls, top=True)


def _object_ok(data: object, cls: type, top: bool = False) -> bool:
    if not isinstance(data, dict):
        return False
    plan = _plan(cls)
    keys = plan.keys
    for key, value in data.items():
        spec = keys.get(key)
        if spec is None:
            if key.startswith("_") and key[1:] in keys:
                continue  # a primitive's id/extensions: the model classes accept any shape here
            if key == "resourceType" and top:
                continue
            return False
        typ, is_list = spec
        if is_list:
            if not isinstance(value, list) or not value:
                return False
            for item in value:
                if not _value_ok(item, typ):
                    return False
        elif not _value_ok(value, typ):
            return False
    return all(not group.isdisjoint(data) for group in plan.required)


def _value_ok(value: object, typ: type) -> bool:
    allowed = _PRIMITIVES.get(typ)
    if allowed is not None:
        return isinstance(value, allowed) and (typ is bool or not isinstance(value, bool))
    if issubclass(typ, FHIRDate):
        return isinstance(value, str) and _date_ok(typ, value)
    if issubclass(typ, Resource) and typ.resource_type in ("Resource", "DomainResource"):
        inner = resource_classes().get(value.get("resourceType")) if isinstance(value, dict) else None
        return inner is not None and _object_ok(value, inner, top=True)
    if issubclass(typ, Resource):
        return (
            isinstance(value, dict)
            and value.get("resourceType") == typ.resource_type
            and _object_ok(value, typ, top=True)
        )
    return _object_ok(value, typ)
