"""Evaluating the search parameters' FHIRPath over one resource: the index rows it contributes.

The project's own FHIRPath (``medlake.views``) compiles to SQL for whole-table views; search
parameters need ``resolve()`` and type tests over single resources, so they run on
``fhirpathpy`` (the reference FHIRPath engine in Python) with the R4 model, each expression
compiled once. ``X.where(resolve() is Patient)`` cannot resolve anything inside one resource;
like other servers, the index reads it as "a reference whose type is Patient", which is what
the specification means by it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhirpathpy import compile as compile_fhirpath
from fhirpathpy.models import models

from medlake.serving.definitions import SearchParameter, search_parameters
from medlake.serving.values import (
    date_values,
    quantity_values,
    reference_values,
    string_values,
    token_values,
)

_RESOLVE_IS = re.compile(r"\.where\(resolve\(\) is ([A-Za-z]+)\)")
_AS_OPERATOR = re.compile(r"\(([A-Za-z][A-Za-z0-9.]*) as ([A-Za-z]+)\)")
_AS_FUNCTION = re.compile(r"\.as\(([A-Za-z]+)\)")


def rewrite_resolve(expression: str) -> str:
    """The expression as the index evaluates it: R4's intent, where its letter does not run.

    ``.where(resolve() is T)`` becomes a test of the reference's type, relative or absolute.
    ``(X as T)`` and ``X.as(T)`` become ``X.ofType(T)``: in FHIRPath ``as`` takes one item, so
    R4's ``(Observation.component.value as Quantity)`` fails on any Observation with two
    components; R4B and R5 rewrote these expressions to ``ofType``, which is what they mean.
    """
    expression = _RESOLVE_IS.sub(
        lambda m: f".where(reference.startsWith('{m[1]}/') or reference.contains('/{m[1]}/'))", expression
    )
    expression = _AS_OPERATOR.sub(lambda m: f"{m[1]}.ofType({m[2]})", expression)
    return _AS_FUNCTION.sub(lambda m: f".ofType({m[1]})", expression)


@dataclass
class IndexRows:
    """The search index rows of one resource, by table; each row starts with the parameter code."""

    token: list[tuple[str, str | None, str]] = field(default_factory=list)
    string: list[tuple[str, str, str]] = field(default_factory=list)
    date: list[tuple[str, str, str]] = field(default_factory=list)
    reference: list[tuple[str, str, str]] = field(default_factory=list)
    quantity: list[tuple[str, float, str | None, str | None]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


_MEMBER_PATH = re.compile(
    r"^(?P<type>[A-Z][A-Za-z]+)(?P<members>(?:\.[a-z][A-Za-z0-9]*)+)"
    r"(?:\.ofType\((?P<of_type>[A-Za-z]+)\)"
    r"|\.where\(reference\.startsWith\('(?P<target>[A-Za-z]+)/'\)"
    r" or reference\.contains\('/(?P=target)/'\)\))?$"
)


def member_path(expression: str) -> Callable[[dict], list[Any]] | None:
    """A direct evaluator of ``expression`` if it is a union of plain member paths, else None.

    Most search parameters are ``Type.a.b`` (optionally ``.ofType(T)`` on a choice element, or
    the reference-type test :func:`rewrite_resolve` writes). Walking the JSON for those gives
    what ``fhirpathpy`` gives (``tests/serving/test_evaluate.py`` compares the two on every
    resource of the Synthea export and the demo region) at a small part of its cost; anything
    else runs on ``fhirpathpy``.
    """
    model = models["r4"]
    walkers = []
    for part in (p.strip() for p in expression.split("|")):
        match = _MEMBER_PATH.match(part)
        if not match:
            return None
        steps: list[tuple[str, tuple[str, ...]]] = []  # (member, choice suffixes or ())
        path = match["type"]
        members = match["members"][1:].split(".")
        for position, member in enumerate(members):
            step_path = model["pathsDefinedElsewhere"].get(f"{path}.{member}", f"{path}.{member}")
            choices = model["choiceTypePaths"].get(step_path)
            if choices:
                if position != len(members) - 1:
                    return None  # a step below a choice element: leave it to fhirpathpy
                wanted = match["of_type"]
                suffixes = tuple(c for c in choices if wanted is None or c.lower() == wanted.lower())
                if not suffixes:
                    return None
                steps.append((member, suffixes))
            else:
                if match["of_type"] and position == len(members) - 1:
                    return None  # ofType on a non-choice element needs type tests
                steps.append((member, ()))
            declared = model["path2Type"].get(step_path)
            path = (
                declared
                if declared and declared[0].isupper() and declared not in ("BackboneElement", "Element")
                else step_path
            )
        walkers.append((tuple(steps), match["target"]))

    def evaluate(resource: dict) -> list[Any]:
        found: list[Any] = []
        for steps, target in walkers:
            nodes: list[Any] = [resource]
            for member, suffixes in steps:
                following: list[Any] = []
                keys = [member + suffix for suffix in suffixes] if suffixes else [member]
                for node in nodes:
                    if isinstance(node, dict):
                        for key in keys:
                            value = node.get(key)
                            if isinstance(value, list):
                                following += [v for v in value if v is not None]
                            elif value is not None:
                                following.append(value)
                nodes = following
            if target is not None:
                nodes = [n for n in nodes if _references(n, target)]
            found += nodes
        return found

    return evaluate


def _references(node: Any, target: str) -> bool:
    reference = node.get("reference") if isinstance(node, dict) else None
    return isinstance(reference, str) and (reference.startswith(f"{target}/") or f"/{target}/" in reference)


@dataclass(frozen=True)
class CompiledParameter:
    definition: SearchParameter
    evaluate: Callable[[dict], list[Any]]
    walk: Callable[[dict], list[Any]] | None
    #: The top-level elements the expression starts from, when it can only yield something if one
    #: of them is present (a pure path); None when it must always run (``x.exists() and …``).
    roots: frozenset[str] | None

    def may_yield(self, present: frozenset[str]) -> bool:
        """Whether the expression can yield anything from a resource with these top-level roots."""
        return self.roots is None or not self.roots.isdisjoint(present)


_CHOICE_SUFFIX = re.compile(r"^([a-z][A-Za-z0-9]*?)(?=[A-Z])")
_BOOLEAN_OPERATORS = re.compile(r" and | or | is |implies|=|\b(exists|empty|not|count|iif|all|allTrue)\(")


def _root_of_key(key: str) -> str:
    """``valueQuantity`` → ``value``, ``code`` → ``code`` (a choice element's name without its type)."""
    match = _CHOICE_SUFFIX.match(key)
    return match[1] if match else key


def _without_where(expression: str) -> str:
    """``expression`` with every ``.where(…)`` argument removed (filters cannot create values)."""
    out, i = [], 0
    while i < len(expression):
        if expression.startswith(".where(", i):
            depth, i = 1, i + len(".where(")
            while i < len(expression) and depth:
                depth += {"(": 1, ")": -1}.get(expression[i], 0)
                i += 1
            continue
        out.append(expression[i])
        i += 1
    return "".join(out)


def path_roots(resource_type: str, expression: str) -> frozenset[str] | None:
    """The top-level elements a pure path expression reads, or None if it may yield from nothing."""
    stripped = _without_where(expression)
    if _BOOLEAN_OPERATORS.search(stripped):
        return None
    roots = set()
    for part in stripped.split("|"):
        match = re.match(rf"^\s*\(?{resource_type}\.([a-z][A-Za-z0-9]*)", part)
        if not match:
            return None
        roots.add(_root_of_key(match[1]) if match[1] not in ("extension", "id", "meta") else match[1])
    return frozenset(roots)


@cache
def compiled_parameters(resource_type: str) -> tuple[CompiledParameter, ...]:
    """Every indexable parameter of ``resource_type`` with its expression compiled (once per process)."""
    model = models["r4"]
    return tuple(
        CompiledParameter(
            p,
            compile_fhirpath(rewrite_resolve(p.expression), model),
            member_path(rewrite_resolve(p.expression)),
            path_roots(resource_type, p.expression),
        )
        for p in search_parameters(resource_type).values()
    )


def index_rows(resource: dict, *, walk: bool = True) -> IndexRows:
    """The rows ``resource`` adds to each search index table.

    A parameter whose expression fails on this resource (R4 has a few expressions that do not
    hold for every instance) is skipped and named in ``failures``; the other parameters still
    index, so one odd element never hides the whole resource from search.
    """
    rows = IndexRows()
    present = frozenset(_root_of_key(key) for key in resource)
    for parameter in compiled_parameters(resource["resourceType"]):
        if not parameter.may_yield(present):
            continue
        code = parameter.definition.code
        try:
            found = parameter.walk(resource) if walk and parameter.walk else parameter.evaluate(resource)
        except Exception:  # fhirpathpy raises bare exceptions on type mismatches
            rows.failures.append(code)
            continue
        if not found:
            continue
        kind = parameter.definition.type
        if kind in ("token", "uri"):
            rows.token += sorted({(code, s, c) for s, c in token_values(found)}, key=str)
        elif kind == "string":
            rows.string += sorted({(code, v, exact) for v, exact in string_values(found)})
        elif kind == "date":
            rows.date += sorted({(code, low, high) for low, high in date_values(found)})
        elif kind == "reference":
            rows.reference += sorted({(code, t, i) for t, i in reference_values(found)})
        elif kind in ("quantity", "number"):
            rows.quantity += sorted({(code, v, s, u) for v, s, u in quantity_values(found)}, key=str)
    return rows
