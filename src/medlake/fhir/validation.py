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
    """Raise :class:`InvalidResource` unless ``resource`` is a valid R4 resource."""
    resource_type = resource.get("resourceType")
    cls = resource_classes().get(resource_type) if isinstance(resource_type, str) else None
    if cls is None:
        raise InvalidResource(f"unknown resourceType {resource_type!r} (not an R4 resource type)")
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
