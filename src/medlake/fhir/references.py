"""Finding and rewriting references inside FHIR resources.

A reference is any ``{"reference": "..."}`` value. Three shapes matter here:
literal relative (``Patient/123``), conditional (``Patient?identifier=system|value``,
as Synthea's bundles use) and bundle-local (``urn:uuid:…``). Absolute URLs to other
servers and contained references (``#x``) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

LITERAL = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
CONDITIONAL = re.compile(r"^([A-Z][A-Za-z]+)\?identifier=(.+)$")


def iter_references(node: Any) -> Iterator[str]:
    """Every reference string in ``node``, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            elif isinstance(value, dict | list):
                yield from iter_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_references(item)


def rewrite_references(node: Any, rewrite: Callable[[str], str]) -> None:
    """Replace, in place, every reference string ``r`` in ``node`` with ``rewrite(r)``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                node[key] = rewrite(value)
            elif isinstance(value, dict | list):
                rewrite_references(value, rewrite)
    elif isinstance(node, list):
        for item in node:
            rewrite_references(item, rewrite)


@lru_cache(maxsize=1 << 16)  # the same Patient/Practitioner references recur across a file
def reference_key(reference: str) -> str | None:
    """A comparable key for a reference that should resolve inside the institution.

    ``Patient/1`` → ``Patient/1``; ``Patient?identifier=s|v`` → ``Patient?s|v``; anything
    else (absolute URLs, contained, urn:) → None, since it cannot be checked locally.
    """
    match = LITERAL.match(reference)
    if match:
        return f"{match[1]}/{match[2]}"
    match = CONDITIONAL.match(reference)
    if match:
        return f"{match[1]}?{match[2]}"
    return None


def identifier_keys(resource: dict) -> list[str]:
    """``Type?system|value`` for each identifier, the targets of conditional references."""
    resource_type = resource.get("resourceType")
    keys = []
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            keys.append(f"{resource_type}?{ident.get('system') or ''}|{ident['value']}")
    return keys
