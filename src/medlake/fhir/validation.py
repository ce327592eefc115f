"""FHIR R4 (4.0.1) validation with the SMART on FHIR model classes (``fhirclient``).

``fhirclient`` 4.x is generated from the R4 4.0.1 definitions, so it accepts exactly the
R4 resource types (``fhir.resources`` ships R4B and R5, whose type lists differ from R4's).
It checks element names, types, required elements, cardinality and date formats; what R4 says
beyond that (primitive types such as ``id`` and 32-bit ``integer``, required code bindings, no
empty or null values, no control characters) :mod:`medlake.fhir.rules` checks after it. FHIRPath
invariants and non-required bindings are not checked.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from typing import Any

import fhirclient.models as fhir_models
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirdate import FHIRDate
from fhirclient.models.fhirdatetime import FHIRDateTime
from fhirclient.models.fhirinstant import FHIRInstant
from fhirclient.models.resource import Resource

from medlake.errors import InvalidRecord
from medlake.fhir.references import iter_references

FHIR_VERSION = "4.0.1"
#: Abstract bases that the model package defines as classes but no instance may claim.
_ABSTRACT = {"Resource", "DomainResource"}
#: fhirclient puts Python object reprs into messages; they mean nothing to a data engineer.
_OBJECT_REPR = re.compile(r" (?:in data for|on) <[^>]*>")


class InvalidResource(InvalidRecord):
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
    validate_references(resource)


def validate_references(resource: dict) -> list[str]:
    """:func:`validate`, returning every reference string in the resource (``iter_references``'s).

    Ingest needs both, and the fast check already visits every element, so it collects the
    references on the same walk instead of a second walk over the resource. Only a resource
    the fast check cannot vouch for is walked again, after the model classes accept it.
    """
    resource_type = resource.get("resourceType")
    cls = resource_classes().get(resource_type) if isinstance(resource_type, str) else None
    if cls is None:
        raise InvalidResource(f"unknown resourceType {resource_type!r} (not an R4 resource type)")
    refs: list[str] = []
    if not certainly_valid(resource, cls, refs):
        try:
            cls(resource, strict=True)
        except FHIRValidationError as exc:
            raise InvalidResource(_describe(exc)) from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidResource(f"{resource_type}: {exc}") from None
        refs = list(iter_references(resource))
    # what the model classes leave unchecked: R4's primitive types, required codes, JSON rules
    # (imported here: the rules are built from this module's element tables)
    from medlake.fhir import rules

    breaches = rules.problems(resource, cls)
    if breaches:
        raise InvalidResource(rules.describe(breaches))
    return refs


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
# required). From that table we compile, once per class, a plan of what each JSON key may
# hold (a small kind code, so the walk dispatches without issubclass tests); then a
# resource is walked as plain dicts, without creating model objects. Primitive values are
# checked inline: only objects cost a function call.

_STR, _BOOL, _INT, _FLOAT, _DATE, _ANY_RESOURCE, _RESOURCE, _OBJECT = range(8)
_PRIMITIVE_KINDS = {str: _STR, bool: _BOOL, int: _INT, float: _FLOAT}
_FLOATS = (int, float)


class _Plan:
    __slots__ = ("keys", "required")

    def __init__(self, keys: dict[str, tuple[int, Any, bool]], required: list[frozenset[str]]) -> None:
        self.keys = keys
        self.required = required


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _compile(cls)
    return plan


def _kind(typ: type) -> tuple[int, Any]:
    primitive = _PRIMITIVE_KINDS.get(typ)
    if primitive is not None:
        return primitive, None
    if issubclass(typ, FHIRDate):
        return _DATE, typ
    if issubclass(typ, Resource) and typ.resource_type in ("Resource", "DomainResource"):
        return _ANY_RESOURCE, None
    if issubclass(typ, Resource):
        return _RESOURCE, typ
    return _OBJECT, typ


def _compile(cls: type) -> _Plan:
    elements = cls().elementProperties()
    keys = {jsname: (*_kind(typ), is_list) for _name, jsname, typ, is_list, _group, _required in elements}
    if "reference" in keys and keys["reference"][0] not in (_STR, _OBJECT):  # see _object_ok
        raise NotImplementedError(f"{cls.__name__}.reference is neither a string nor an object")
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
def _date_ok_by_model(typ: type, text: str) -> bool:
    try:
        typ(text)
    except Exception:
        return False
    return True


@cache
def _calendar_day_ok(text: str) -> bool:
    """``YYYY-MM-DD`` (already matched by the R4 pattern) names a real day: not 30 February."""
    return _date_ok_by_model(FHIRDate, text)


#: Types whose check is the R4 pattern plus a real calendar day; see :func:`_date_ok`.
_CALENDAR_TYPES = (FHIRDate, FHIRDateTime, FHIRInstant)


def _date_ok(typ: type, text: str) -> bool:
    """Exactly what constructing ``typ(text)`` decides, without constructing it for each value.

    For date, dateTime and instant the model classes match the R4 pattern, then parse with
    ``datetime.fromisoformat``; once the pattern matched, the parse can fail only on a day
    the month does not have (any fraction of seconds, ``Z``, offsets up to ±14:00 and
    partial dates all parse). So the pattern plus a check of the first ten characters,
    cached per day rather than per timestamp (timestamps rarely repeat, days do), gives
    the same answer; ``tests/fhir/test_validation.py`` compares the two on edge cases.
    Other types (time) ask the model class.
    """
    if typ in _CALENDAR_TYPES:
        if typ._REGEX.fullmatch(text) is None:  # type: ignore[attr-defined]
            return False
        return len(text) < 10 or _calendar_day_ok(text[:10])
    return _date_ok_by_model(typ, text)


def certainly_valid(resource: dict, cls: type, refs: list[str] | None = None) -> bool:
    """True only when the model classes would accept ``resource``; False means "ask them".

    With ``refs``, every reference string of the resource is appended to it on the way
    (the same strings, in any order, as ``references.iter_references``); its content is
    meaningless when the answer is False.
    """
    if resource.get("resourceType") != cls.resource_type:  # type: ignore[attr-defined]
        return False
    return _object_ok(resource, cls, True, refs if refs is not None else [])


def _object_ok(data: object, cls: type, top: bool, refs: list[str]) -> bool:
    if type(data) is not dict:
        return False
    plan = _PLANS.get(cls) or _plan(cls)
    keys = plan.keys
    for key, value in data.items():
        spec = keys.get(key)
        if spec is None:
            if key[:1] == "_" and key[1:] in keys:
                # a primitive's id/extensions: the model classes accept any shape here but null
                # (they call a null ``_x`` superfluous), and an extension may hold a reference
                if value is None:
                    return False
                if type(value) is dict or type(value) is list:
                    refs.extend(iter_references(value))
                continue
            if key == "resourceType" and top:
                continue
            return False
        kind, arg, is_list = spec
        # the two commonest cases first, without building a one-item sequence for them
        if not is_list and kind == _STR:
            if type(value) is not str:
                return False
            # ``reference`` is a string element (Reference.reference) or an object one; a string
            # under an object element fails the check, so this is every reference the
            # separate walk (``iter_references``) would find here
            if key == "reference":
                refs.append(value)
        elif not is_list and kind == _OBJECT:
            if not _object_ok(value, arg, False, refs):
                return False
        elif is_list:
            if type(value) is not list or not value or not _items_ok(value, kind, arg, refs):
                return False
        elif not _items_ok((value,), kind, arg, refs):
            return False
    for group in plan.required:  # noqa: SIM110 (a loop: no generator per object on the hot path)
        if group.isdisjoint(data):
            return False
    return True


def _items_ok(items: list | tuple, kind: int, arg: Any, refs: list[str]) -> bool:
    if kind == _STR:
        for item in items:
            if type(item) is not str:
                return False
    elif kind == _OBJECT:
        for item in items:
            if not _object_ok(item, arg, False, refs):
                return False
    elif kind == _DATE:
        for item in items:
            if type(item) is not str or not _date_ok(arg, item):
                return False
    elif kind == _BOOL:
        for item in items:
            if type(item) is not bool:
                return False
    elif kind == _INT:
        for item in items:
            if type(item) is not int:
                return False
    elif kind == _FLOAT:
        for item in items:
            if type(item) not in _FLOATS:
                return False
    elif kind == _RESOURCE:
        for item in items:
            if type(item) is not dict or item.get("resourceType") != arg.resource_type:
                return False
            if not _object_ok(item, arg, True, refs):
                return False
    else:  # _ANY_RESOURCE: a contained resource of any type
        for item in items:
            name = item.get("resourceType") if type(item) is dict else None
            inner = resource_classes().get(name) if type(name) is str else None
            if inner is None or not _object_ok(item, inner, True, refs):
                return False
    return True
