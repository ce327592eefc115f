"""R4's primitive types, element by element: what a value must be beyond its JSON type.

The model classes (``fhirclient``) type an element as ``str``, ``int``, ``float``, ``bool`` or a
date class; R4 says more. An ``id`` matches ``[A-Za-z0-9\\-.]{1,64}``, a ``code`` has no leading,
trailing or doubled whitespace, an ``integer`` is 32-bit, a ``positiveInt`` at least 1, a
``string`` at most 1 MiB, and a ``code`` bound *required* to a value set takes only its codes.
Here each element of each model class gets its R4 type (from fhirpathpy's R4 model, through
:mod:`medlake.fhir.model`) and, from the R4 definitions (:mod:`medlake.fhir.definitions`), that
type's pattern and the element's required codes. Both the msgspec Structs (the fast path) and
:mod:`medlake.fhir.rules` (the explaining path) are built from :func:`element_rules`, so they
enforce the same rules.

``Resource.id`` is typed ``string`` in the definitions' machine-readable form but the specification
makes it an ``id`` ("any combination of upper and lowercase ASCII letters, numerals, '-' and '.',
up to 64 characters"), and it becomes part of the integrated id and of file and URL paths: it is
checked as an ``id``. ``Extension.url`` likewise is a ``uri``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from medlake.fhir.definitions import max_length, required_codes, type_pattern
from medlake.fhir.model import choice_suffix_type, fhir_model
from medlake.fhir.validation import _DATE, _FLOAT, _INT, _OBJECT, _STR, _kind, resource_classes

#: Ranges the specification states in words: integer is 32-bit signed, unsignedInt and positiveInt
#: are its non-negative and positive parts.
INTEGER_RANGES = {
    "integer": (-(2**31), 2**31 - 1),
    "unsignedInt": (0, 2**31 - 1),
    "positiveInt": (1, 2**31 - 1),
}
#: Code points below 32 other than tab, line feed and carriage return: "strings SHOULD not contain"
#: them (R4 datatypes), and no clinical text needs a NUL or a bell. They are refused.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Types whose R4 pattern is enforced here. The others' say nothing the model classes' JSON
#: types and date patterns do not, except the whitespace rules of ``code`` (none leading,
#: trailing or doubled) and ``uri``/``url``/``canonical`` (none at all): those are the commonest
#: strings of a resource (every Coding has both), and a regular expression on each would double
#: the fast path's cost (see docs/ingestion.md), for values no later layer misreads.
ENFORCED_PATTERNS = frozenset({"id", "oid", "uuid", "base64Binary"})


@dataclass(frozen=True)
class Rule:
    """What one primitive element's values must be, besides their JSON type.

    ``pattern`` (whole value) and ``limit`` (characters) for strings; ``bounds`` for integers;
    ``codes`` (from ``value_set``) for a code bound *required*.
    """

    fhir_type: str
    pattern: re.Pattern[str] | None = None
    limit: int | None = None
    bounds: tuple[int, int] | None = None
    value_set: str | None = None
    codes: frozenset[str] | None = None

    def problem(self, value: object) -> str | None:
        """Why ``value`` (of the right JSON type already) breaks the rule, or None."""
        if type(value) is str:
            if not value:
                return "an empty string is not a value (leave the element out)"
            bad = None if value.isprintable() else CONTROL.search(value)  # isprintable: in C
            if bad is not None:
                return f"control character U+{ord(bad.group()):04X} in {_a(self.fhir_type)}"
            if self.codes is not None:
                if value not in self.codes:
                    codes = sorted(self.codes)
                    listed = ", ".join(codes[:8]) + (", …" if len(codes) > 8 else "")
                    return (
                        f"{_shown(value)} is not a code of the required value set {self.value_set} ({listed})"
                    )
            elif self.pattern is not None and self.pattern.fullmatch(value) is None:
                return f"{_shown(value)} is not a valid {self.fhir_type} (R4: {self.pattern.pattern})"
            if self.limit is not None and len(value) > self.limit:
                return f"{_a(self.fhir_type)} of {len(value):,} characters (R4 allows {self.limit:,})"
        elif type(value) is int and self.bounds is not None:
            low, high = self.bounds
            if not low <= value <= high:
                return f"{value} is outside the range of {_a(self.fhir_type)} ({low} to {high})"
        return None


def _a(fhir_type: str) -> str:
    return f"{'an' if fhir_type[0] in 'aeiou' else 'a'} {fhir_type}"


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


@cache
def rule(fhir_type: str, path: str = "") -> Rule:
    """The rule for an element of ``fhir_type`` defined at ``path`` (its binding's key)."""
    pattern = type_pattern(fhir_type) if fhir_type in ENFORCED_PATTERNS else None
    bound = required_codes(path) if fhir_type == "code" and path else None
    return Rule(
        fhir_type,
        pattern=re.compile(pattern) if pattern else None,
        limit=max_length(fhir_type),
        bounds=INTEGER_RANGES.get(fhir_type),
        value_set=bound[0] if bound else None,
        codes=bound[1] if bound else None,
    )


@cache
def class_paths() -> dict[type, str]:
    """Every model class reachable from an R4 resource → the type or backbone path it models
    (``Patient``, ``HumanName``, ``Patient.contact``, ``Questionnaire.item``)."""
    model = fhir_model()
    paths: dict[type, str] = {}
    todo: list[tuple[type, str]] = [(cls, name) for name, cls in resource_classes().items()]
    while todo:
        cls, path = todo.pop()
        if cls in paths:
            continue
        paths[cls] = path
        for _name, jsname, typ, _list, group, _needed in cls().elementProperties():
            kind, arg = _kind(typ)
            if kind != _OBJECT:
                continue
            if group and jsname != group:  # valueQuantity: the choice's type
                todo.append((arg, choice_suffix_type(jsname[len(group) :])))
                continue
            element = model.element(path, jsname)
            if element is None or element.type is None:
                raise NotImplementedError(f"{path}.{jsname} is not in the R4 model")
            todo.append((arg, element.type))
    return paths


@cache
def element_rules(cls: type) -> dict[str, Rule]:
    """JSON name → :class:`Rule` for each primitive element of the model class ``cls``."""
    path = class_paths().get(cls)
    if path is None:
        return {}
    model = fhir_model()
    is_resource = resource_classes().get(path) is cls
    rules: dict[str, Rule] = {}
    for _name, jsname, typ, _list, group, _needed in cls().elementProperties():
        kind, _arg = _kind(typ)
        if kind not in (_STR, _INT, _FLOAT, _DATE):
            continue
        if group and jsname != group:
            rules[jsname] = rule(choice_suffix_type(jsname[len(group) :]))
            continue
        element = model.element(path, jsname)
        if element is None or element.type is None:
            raise NotImplementedError(f"{path}.{jsname} is not in the R4 model")
        fhir_type = element.type
        if jsname == "id" and is_resource:
            fhir_type = "id"
        elif element.path == "Extension.url":
            fhir_type = "uri"
        rules[jsname] = rule(fhir_type, element.path)
    return rules
