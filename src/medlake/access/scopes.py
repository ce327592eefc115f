"""SMART App Launch v2 scopes: parsed once, asked one question — does this scope grant that?

Grammar (SMART v2, with the v1 forms servers must still accept)::

    scope       = context "/" type "." permissions [ "?" query ]
    context     = "patient" | "user" | "system"
    type        = a FHIR resource type | "*"
    permissions = an ordered subset of "cruds"  |  "read" (= rs)  |  "write" (= cud)  |  "*" (= cruds)

Scopes that are not resource scopes (``openid``, ``fhirUser``, ``launch``, ``offline_access``)
grant nothing here. A v2 scope with a ``?query`` (fine-grained, e.g. only laboratory
Observations) is accepted by the parser but grants nothing: honouring a partial grant needs a
filter the index does not apply yet, and granting the whole type instead would be an escalation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medlake.access.errors import IdentityError

CONTEXTS = ("patient", "user", "system")
_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{1,63})"
    r"\.(?P<permissions>[cruds]{1,5}|read|write|\*)(?:\?(?P<query>\S+))?$"
)
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_ORDER = "cruds"
_OTHER = re.compile(r"^(openid|fhirUser|profile|launch(/patient|/encounter)?|offline_access|online_access)$")

#: The permission letters an interaction needs.
NEEDS: dict[str, str] = {
    "read": "r",
    "search": "s",
    "export": "rs",
    "create": "c",
    "update": "u",
    "delete": "d",
}


@dataclass(frozen=True)
class Scope:
    """One parsed resource scope."""

    context: str
    resource_type: str  # a type or "*"
    permissions: frozenset[str]
    query: str | None = None

    def grants(self, resource_type: str, letters: str) -> bool:
        """True when this scope alone allows every permission letter on ``resource_type``."""
        if self.query is not None:
            return False  # fine-grained: see the module docstring
        if self.resource_type not in ("*", resource_type):
            return False
        return set(letters) <= self.permissions


def parse(text: str) -> Scope | None:
    """The resource scope ``text`` is, ``None`` for a non-resource scope; a malformed one raises."""
    if _OTHER.match(text):
        return None
    match = _SCOPE.match(text)
    if not match:
        raise IdentityError(f"not a SMART scope: {text[:80]!r} (e.g. patient/Observation.rs, system/*.rs)")
    letters = _V1.get(match["permissions"], match["permissions"])
    if match["permissions"] not in _V1:
        positions = [_ORDER.index(letter) for letter in letters]
        if positions != sorted(set(positions)):
            raise IdentityError(f"SMART v2 permissions are ordered c,r,u,d,s without repeats: {text[:80]!r}")
    return Scope(match["context"], match["type"], frozenset(letters), match["query"])


def parse_all(text: str | list[str] | frozenset[str]) -> list[Scope]:
    """Every resource scope of a space-separated scope string (or a collection of scopes)."""
    items = text.split() if isinstance(text, str) else list(text)
    return [scope for scope in map(parse, items) if scope is not None]


def granted(scopes: frozenset[str], contexts: frozenset[str], resource_type: str, interaction: str) -> bool:
    """True when one of ``scopes`` in one of the allowed ``contexts`` grants the interaction."""
    if interaction not in NEEDS:
        raise ValueError(f"unknown interaction {interaction!r}; one of {', '.join(NEEDS)}")
    letters = NEEDS[interaction]
    for text in scopes:
        try:
            scope = parse(text)
        except IdentityError:
            continue  # a malformed scope grants nothing
        if scope is not None and scope.context in contexts and scope.grants(resource_type, letters):
            return True
    return False


def narrow(requested: str, allowed: frozenset[str]) -> frozenset[str]:
    """The requested scopes a client or user may have: each must be granted by an allowed scope.

    Used at token issue: asking for ``system/*.cruds`` when registered for ``system/*.rs`` gets
    nothing of it (a scope is kept only if an allowed scope covers every letter and type of it).
    """
    allowed_scopes = parse_all(allowed)
    kept = set()
    for text in requested.split():
        scope = parse(text)
        if scope is None:
            if text in allowed:
                kept.add(text)
            continue
        if scope.query is not None and text in allowed:
            kept.add(text)
            continue
        for grant in allowed_scopes:
            if (
                grant.query is None
                and grant.context == scope.context
                and grant.resource_type in ("*", scope.resource_type)
                and scope.permissions <= grant.permissions
            ):
                kept.add(text)
                break
    return frozenset(kept)
