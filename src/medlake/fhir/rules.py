"""The R4 rules the model classes do not check, with the reason for each breach.

``fhirclient``'s model classes check element names, JSON types, cardinality, required elements
and date formats. R4 says more, and a lake that takes less breaks later: an ``integer`` beyond
32 bits fails the warehouse build, an id ``../../x`` becomes a path. This walk, run on what the
model classes (or the fast check) accepted, refuses:

* a primitive that breaks its type (:mod:`medlake.fhir.primitives`): an ``id`` outside
  ``[A-Za-z0-9\\-.]{1,64}``, an ``integer`` outside 32 bits, a ``positiveInt`` below 1, a ``code``
  with stray whitespace or, where R4 binds it *required*, outside its value set, a ``uri`` with
  a space, a ``string`` over 1 MiB;
* JSON that R4's JSON format forbids: an empty string, an empty object or array, ``null``
  (except where it keeps a primitive array aligned with its ``_x`` array of extensions);
* a control character (below U+0020, other than tab, line feed and carriage return) in any
  string.

Inside ``_x`` (a primitive's id and extensions, which the model classes do not look into) the
JSON rules and control characters are checked, not the types of extension values.
"""

from __future__ import annotations

from typing import Any

from medlake.fhir.primitives import CONTROL, Rule, element_rules
from medlake.fhir.validation import _ANY_RESOURCE, _OBJECT, _RESOURCE, _plan, resource_classes

#: Reasons given for one resource at most; the count of the rest follows.
LIMIT = 5


def problems(resource: dict, cls: type) -> list[str]:
    """Every breach in ``resource`` (of model class ``cls``), as ``path: reason``."""
    found: list[str] = []
    _object(resource, cls, "", found)
    return found


def describe(found: list[str]) -> str:
    more = f" (+{len(found) - LIMIT} more)" if len(found) > LIMIT else ""
    return "; ".join(found[:LIMIT]) + more


def _where(path: str) -> str:
    return path.rstrip(".") or "(resource)"


#: Per model class: JSON name → (kind, class or None, is a list, Rule or None, plain), where
#: ``plain`` says a string needs no more than being non-empty and printable to pass its rule.
_PLANS: dict[type, dict[str, tuple[int, Any, bool, Rule | None, bool]]] = {}


def _plan_of(cls: type) -> dict[str, tuple[int, Any, bool, Rule | None, bool]]:
    plan = _PLANS.get(cls)
    if plan is None:
        rules = element_rules(cls)
        plan = _PLANS[cls] = {
            key: (kind, arg, is_list, rules.get(key), _plain(rules.get(key)))
            for key, (kind, arg, is_list) in _plan(cls).keys.items()
        }
    return plan


def _plain(rule: Rule | None) -> bool:
    return rule is None or (rule.codes is None and rule.pattern is None and rule.limit is None)


def _object(data: dict, cls: type, path: str, found: list[str]) -> None:
    if not data:
        found.append(f"{_where(path)}: an empty object is not a value (leave the element out)")
        return
    plan = _PLANS.get(cls) or _plan_of(cls)
    for key, value in data.items():
        spec = plan.get(key)
        if spec is None:
            if key[:1] == "_" and key[1:] in plan:
                _extensions(value, data.get(key[1:]), f"{path}{key}", found)
            continue  # resourceType; an unknown key is the model classes' to refuse
        kind, arg, is_list, rule, plain = spec
        if value is None:
            found.append(f"{path}{key}: null is not a value (leave the element out)")
        elif not is_list:
            # the commonest case inline: a string that is non-empty and printable, with no
            # pattern, codes or limit to meet
            if type(value) is str and plain and value and value.isprintable():
                continue
            _item(value, kind, arg, rule, f"{path}{key}", found)
        elif type(value) is list:
            if not value:
                found.append(f"{path}{key}: an empty array is not a value (leave the element out)")
                continue
            for index, item in enumerate(value):
                if type(item) is str and plain and item and item.isprintable():
                    continue
                if item is None:
                    if not _has_item(data.get(f"_{key}"), index):
                        found.append(
                            f"{path}{key}.{index}: null is not a value (only beside an extension in _{key})"
                        )
                    continue
                _item(item, kind, arg, rule, f"{path}{key}.{index}", found)


def _item(value: Any, kind: int, arg: Any, rule: Rule | None, where: str, found: list[str]) -> None:
    if kind == _OBJECT:
        if type(value) is dict:
            _object(value, arg, f"{where}.", found)
    elif kind in (_ANY_RESOURCE, _RESOURCE):
        if type(value) is dict:
            name = value.get("resourceType")
            inner = resource_classes().get(name) if type(name) is str else None
            if inner is not None:
                _object(value, inner, f"{where}.", found)
    elif rule is not None:
        problem = rule.problem(value)
        if problem is not None:
            found.append(f"{where}: {problem}")


def _has_item(values: Any, index: int) -> bool:
    return type(values) is list and index < len(values) and values[index] is not None


def _extensions(value: Any, primitive: Any, where: str, found: list[str]) -> None:
    """``_x``: any JSON (the model classes look no further) but what R4's JSON format forbids."""
    if type(value) is list:
        if not value:
            found.append(f"{where}: an empty array is not a value (leave the element out)")
        for index, item in enumerate(value):
            if item is None:
                if not _has_item(primitive, index):
                    found.append(f"{where}.{index}: null is not a value (only beside a value in {where[1:]})")
                continue
            _untyped(item, f"{where}.{index}", found)
    elif value is not None:  # a null _x itself: the model classes refuse it already
        _untyped(value, where, found)


def _untyped(value: Any, where: str, found: list[str]) -> None:
    if type(value) is dict:
        if not value:
            found.append(f"{where}: an empty object is not a value (leave the element out)")
        for key, item in value.items():
            _untyped(item, f"{where}.{key}", found)
    elif type(value) is list:
        if not value:
            found.append(f"{where}: an empty array is not a value (leave the element out)")
        for index, item in enumerate(value):
            _untyped(item, f"{where}.{index}", found)
    elif value is None:
        found.append(f"{where}: null is not a value (leave the element out)")
    elif type(value) is str:
        if not value:
            found.append(f"{where}: an empty string is not a value (leave the element out)")
        elif (bad := CONTROL.search(value)) is not None:
            found.append(f"{where}: control character U+{ord(bad.group()):04X} in a string")
