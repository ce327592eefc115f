"""Giving every institution its own id space inside the region.

Two institutions' ``Patient/1`` are different people, so in the integrated layer every
id becomes ``<institution>.<local id>`` and every reference is rewritten to match. The
dot cannot occur in an institution id, so the local id is always recoverable.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from medlake.engine.dialect import Dialect
from medlake.fhir.references import CONDITIONAL, LITERAL, rewrite_references

SEPARATOR = "."


def global_id(institution: str, local_id: str) -> str:
    return f"{institution}{SEPARATOR}{local_id}"


def split_global_id(value: str) -> tuple[str, str]:
    institution, _, local_id = value.partition(SEPARATOR)
    return institution, local_id


_HEAD_START, _HEAD_END = '{"resourceType":"', '","id":"'
#: Where a relative reference's id begins: right after ``"reference":"Type/``. The institution and
#: a dot go there; nothing need be captured, which keeps the engine's regex engine on its fast path.
_RELATIVE = '"reference":"[A-Z][A-Za-z]+/'
#: A relative reference that ``fhir.references.LITERAL`` would not take: an empty id, a character
#: outside the id alphabet before the closing quote (a ``/_history/`` too, to keep this simple),
#: or an id longer than 64. Rows with one are left to Python, which rewrites only literal ones.
_ODD_RELATIVE = _RELATIVE + '(?:"|[A-Za-z0-9.-]*[^A-Za-z0-9."-]|[A-Za-z0-9.-]{65})'


def namespace_sql(dialect: Dialect, resource: str, institution: str, resource_type: str) -> str:
    """The engine-side rewrite of :func:`namespace_resource` for rows without conditional references.

    It relies on the raw layer writing compact JSON with ``resourceType`` and ``id`` first
    (``ingest.examine``); a row not in that shape, or with a relative reference LITERAL would
    not rewrite (:data:`_ODD_RELATIVE`), gets NULL and is rewritten in Python. In every other
    row each ``"reference":"Type/`` starts a literal reference, so inserting the institution
    after it is exactly LITERAL's rewrite; a row is checked for odd ones by one match that
    captures nothing, which with the plain insertion costs about two thirds of matching and
    capturing the whole reference. Inside JSON strings a quote is always escaped, so
    ``"reference":"`` only matches a real key.
    """
    lit = dialect.string_literal
    head = f"{lit(_HEAD_START)} || {resource_type} || {lit(_HEAD_END)}"
    rest = dialect.substring(resource, f"length({head}) + 1", None)
    inserted = f"{lit(dialect.regexp_backreference(0))} || {institution} || '.'"
    rewritten = f"{head} || {institution} || '.' || {dialect.regexp_replace(rest, lit(_RELATIVE), inserted)}"
    odd = dialect.regexp_matches(resource, lit(_ODD_RELATIVE))
    return f"CASE WHEN {dialect.strpos(resource, head)} = 1 AND NOT {odd} THEN {rewritten} END"


def namespace_resource(resource_json: str, institution: str, conditional_targets: Mapping[str, str]) -> str:
    """``resource_json`` with its id and its references moved into the institution's namespace.

    ``conditional_targets`` maps ``Type?system|value`` to the local id of the resource
    carrying that identifier, so Synthea-style conditional references become literal.
    Unresolvable conditional references, absolute URLs and contained references stay as sent.
    """
    resource = orjson.loads(resource_json)
    resource["id"] = global_id(institution, resource["id"])

    def rewrite(reference: str) -> str:
        match = LITERAL.match(reference)
        if match:
            return f"{match[1]}/{global_id(institution, match[2])}"
        match = CONDITIONAL.match(reference)
        if match:
            target = conditional_targets.get(f"{match[1]}?{match[2]}")
            if target is not None:
                return f"{match[1]}/{global_id(institution, target)}"
        return reference

    rewrite_references(resource, rewrite)
    return orjson.dumps(resource).decode()
