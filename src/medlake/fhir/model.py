"""What the compiler must know about FHIR R4 elements: type, cardinality and choice types.

FHIRPath over JSON needs a model: ``name`` is an array in FHIR JSON while ``gender`` is not,
and ``value`` is stored as ``valueQuantity``/``valueString``/… With the model the compiler
turns a whole path such as ``name.given`` into one JSONPath (``$.name[*].given[*]``), read
with one parse of the resource, instead of testing at run time whether each step is an
array. Types also let it reject views early (a ``where`` on a string) and type columns.

Two well-kept sources are combined rather than a hand-written table:

* ``fhirpathpy``'s R4 model (the one its FHIRPath engine uses): element types, choice
  types, backbone elements defined elsewhere, type inheritance;
* the R4 (4.0.1) model classes of ``fhirclient``, which the platform also validates with:
  whether an element repeats. Where an element is missing there the cardinality is
  reported as unknown and the compiler handles both JSON shapes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

PRIMITIVE_TYPES = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "integer64",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    }
)

#: FHIRPath System types and what FHIR primitive they correspond to for our purposes.
SYSTEM_TYPES = {
    "System.String": "string",
    "System.Boolean": "boolean",
    "System.Integer": "integer",
    "System.Decimal": "decimal",
    "System.Date": "date",
    "System.DateTime": "dateTime",
    "System.Time": "time",
}

#: Abstract bases every element or resource inherits from.
ABSTRACT_TYPES = frozenset({"Element", "BackboneElement", "Resource", "DomainResource"})


@dataclass(frozen=True)
class Element:
    """One child element of a type.

    ``type`` is a FHIR type code (``string``, ``HumanName``) or, for a backbone element,
    its defining path (``Patient.contact``), which is how its children are looked up.
    ``many`` is None when the cardinality is unknown. ``choices`` lists the JSON name
    suffixes of a choice element (``Quantity``, ``String`` …) and then ``type`` is None.
    ``path`` is where the R4 model defines it (``Quantity.comparator`` for ``Age``'s): what a
    binding is looked up by.
    """

    name: str
    type: str | None
    many: bool | None
    choices: tuple[str, ...] = ()
    path: str = ""

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)


def choice_suffix_type(suffix: str) -> str:
    """``String`` → ``string``, ``DateTime`` → ``dateTime``, ``Quantity`` → ``Quantity``."""
    lowered = suffix[:1].lower() + suffix[1:]
    return lowered if lowered in PRIMITIVE_TYPES else suffix


def type_suffix(type_name: str) -> str:
    """The JSON name suffix of a choice of ``type_name``: ``dateTime`` → ``DateTime``."""
    return type_name[:1].upper() + type_name[1:]


class FhirModel:
    """FHIR R4 element lookups, cached; one instance serves every compilation."""

    def __init__(self) -> None:
        from fhirpathpy.models import models

        r4 = models["r4"]
        self._path_types: dict[str, str] = r4["path2Type"]
        self._choices: dict[str, list[str]] = r4["choiceTypePaths"]
        self._elsewhere: dict[str, str] = r4["pathsDefinedElsewhere"]
        self._parents: dict[str, str] = r4["type2Parent"]
        prefixes: set[str] = set()
        for path in list(self._path_types) + list(self._choices):
            parts = path.split(".")
            for end in range(1, len(parts)):
                prefixes.add(".".join(parts[:end]))
        self._backbones = prefixes

    # -- types ---------------------------------------------------------------------------
    def is_resource_type(self, name: str) -> bool:
        seen = name
        while seen in self._parents:
            seen = self._parents[seen]
            if seen in ("Resource", "DomainResource"):
                return True
        return name in ("Resource", "DomainResource")

    def is_known_type(self, name: str) -> bool:
        return name in PRIMITIVE_TYPES or name in self._parents or name in ABSTRACT_TYPES

    def is_primitive(self, type_name: str | None) -> bool:
        return type_name in PRIMITIVE_TYPES

    def is_subtype(self, type_name: str, ancestor: str) -> bool:
        """True when ``type_name`` is ``ancestor`` or derives from it (``Age`` → ``Quantity``)."""
        current: str | None = type_name
        while current is not None:
            if current == ancestor:
                return True
            if "." in current:  # a backbone element
                current = "BackboneElement"
                continue
            current = self._parents.get(current)
        return False

    def _ancestors(self, type_path: str) -> list[str]:
        chain = [type_path]
        current = type_path
        while True:
            if "." in current:
                current = "BackboneElement"
            elif current in self._parents:
                current = self._parents[current]
            else:
                break
            chain.append(current)
        if "Element" not in chain and not self.is_resource_type(type_path):
            chain.append("Element")
        return chain

    # -- elements ------------------------------------------------------------------------
    @lru_cache(maxsize=4096)  # noqa: B019 - the model lives as long as the process
    def element(self, parent: str, name: str) -> Element | None:
        """The child ``name`` of type (or backbone path) ``parent``; None if it has none."""
        for owner in self._ancestors(parent):
            path = f"{owner}.{name}"
            if path in self._choices:
                return Element(name, None, False, tuple(self._choices[path]), path)
            if path in self._elsewhere:
                return Element(name, self._elsewhere[path], self._repeats(parent, owner, name), path=path)
            if path in self._path_types:
                type_name = self._path_types[path]
                type_name = SYSTEM_TYPES.get(type_name, type_name)
                return Element(name, type_name, self._repeats(parent, owner, name), path=path)
            if path in self._backbones:
                return Element(name, path, self._repeats(parent, owner, name), path=path)
        return None

    @staticmethod
    def _repeats(parent: str, owner: str, name: str) -> bool | None:
        found = _repeats(parent, name)
        if found is None and owner != parent:  # inherited: ``id``, ``extension``, ``meta`` …
            found = _repeats(owner, name)
        return found


@cache
def fhir_model() -> FhirModel:
    """The shared model (loading it reads fhirpathpy's JSON tables once)."""
    return FhirModel()


# -- cardinality from the R4 model classes (fhirclient) -------------------------------------

#: Data types whose fhirclient module or class name is not the type name lower-cased.
_CLASS_NAMES = {"Reference": ("fhirreference", "FHIRReference"), "SimpleQuantity": ("quantity", "Quantity")}


def _repeats(parent: str, name: str) -> bool | None:
    elements = _model_elements(parent)
    if elements is None or name not in elements:
        return None
    return elements[name][1]


@lru_cache(maxsize=1024)
def _model_elements(type_path: str) -> dict[str, tuple[Any, bool]] | None:
    """JSON name → (class, repeats) of the R4 model class for a type or backbone path."""
    model_class = _model_class(type_path)
    if model_class is None or not hasattr(model_class, "elementProperties"):
        return None
    return {jsname: (typ, is_list) for _n, jsname, typ, is_list, _g, _r in model_class().elementProperties()}


@lru_cache(maxsize=1024)
def _model_class(type_path: str) -> Any:
    if "." in type_path:
        owner, name = type_path.rsplit(".", 1)
        elements = _model_elements(owner)
        return None if elements is None or name not in elements else elements[name][0]
    from medlake.fhir.validation import resource_classes

    if type_path in resource_classes():
        return resource_classes()[type_path]
    module_name, class_name = _CLASS_NAMES.get(type_path, (type_path.lower(), type_path))
    try:
        module = importlib.import_module(f"fhirclient.models.{module_name}")
    except ImportError:
        return None
    return getattr(module, class_name, None)
