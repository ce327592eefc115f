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
_REFERENCE = '"reference":"([A-Z][A-Za-z]+)/([A-Za-z0-9.-]{1,64})(/_history/[A-Za-z0-9.-]{1,64})?"'


def namespace_sql(dialect: Dialect, resource: str, institution: str, resource_type: str) -> str:
    """The engine-side rewrite of :func:`namespace_resource` for rows without conditional references.

    It relies on the raw layer writing compact JSON with ``resourceType`` and ``id`` first
    (``ingest.examine``); a row not in that shape gets NULL and is rewritten in Python. The
    reference pattern is ``fhir.references.LITERAL``'s; inside JSON strings a quote is
    always escaped, so ``"reference":"`` only matches a real key.
    """
    lit, group = dialect.string_literal, dialect.regexp_backreference
    head = f"{lit(_HEAD_START)} || {resource_type} || {lit(_HEAD_END)}"
    rest = dialect.substring(resource, f"length({head}) + 1", None)
    new_id = f"{head} || {institution} || '.' || {rest}"
    before, after = lit(f'"reference":"{group(1)}/'), lit(f'.{group(2)}{group(3)}"')
    replacement = f"{before} || {institution} || {after}"
    rewritten = dialect.regexp_replace(new_id, lit(_REFERENCE), replacement)
    return f"CASE WHEN {dialect.strpos(resource, head)} = 1 THEN {rewritten} END"


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
