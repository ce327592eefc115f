"""Judging one received record: parse, check, validate, fingerprint.

This runs in worker processes, so it takes and returns plain picklable values and keeps
no state. A record either becomes a raw-layer row (:class:`Accepted`) or a quarantine
entry (:class:`Rejected`) with the stage and a reason a data engineer can act on.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import NamedTuple

import orjson

from medlake.fhir.reading import Record
from medlake.fhir.references import identifier_keys, iter_references, reference_key
from medlake.fhir.validation import InvalidResource, validate


class Accepted(NamedTuple):
    source_file: str
    line: int
    resource_type: str
    resource_id: str
    version_id: str | None
    last_updated: datetime | None
    content_hash: str
    refs: list[str]
    identifiers: list[str]
    resource: str


class Rejected(NamedTuple):
    source_file: str
    line: int
    stage: str
    reason: str
    raw: str


Outcome = Accepted | Rejected


def _as_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def examine(record: Record) -> Outcome:
    """Accept or reject one record; never raises for bad input."""
    if record.error is not None:
        return Rejected(
            record.source_file, record.line, record.error_stage, record.error, _as_text(record.text)
        )
    try:
        resource = orjson.loads(record.text)
    except orjson.JSONDecodeError as exc:
        return Rejected(
            record.source_file, record.line, "parse", f"malformed JSON: {exc}", _as_text(record.text)
        )
    if not isinstance(resource, dict):
        kind = type(resource).__name__
        return Rejected(
            record.source_file, record.line, "parse", f"not a JSON object but {kind}", _as_text(record.text)
        )
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return Rejected(
            record.source_file, record.line, "structure", "no resourceType", _as_text(record.text)
        )
    try:
        validate(resource)
    except InvalidResource as exc:
        return Rejected(record.source_file, record.line, "validation", str(exc), _as_text(record.text))
    resource_id = resource.get("id")
    if not isinstance(resource_id, str):
        reason = f"{resource_type} has no id, so it cannot be addressed or updated later"
        return Rejected(record.source_file, record.line, "structure", reason, _as_text(record.text))
    meta = resource.get("meta") or {}
    canonical = orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)
    refs = sorted({key for ref in iter_references(resource) if (key := reference_key(ref))})
    return Accepted(
        source_file=record.source_file,
        line=record.line,
        resource_type=resource_type,
        resource_id=resource_id,
        version_id=meta.get("versionId"),
        last_updated=_instant(meta.get("lastUpdated")),
        content_hash=hashlib.sha256(canonical).hexdigest(),
        refs=refs,
        identifiers=identifier_keys(resource),
        resource=orjson.dumps(_type_and_id_first(resource)).decode(),
    )


def examine_chunk(records: list[Record]) -> list[Outcome]:
    return [examine(record) for record in records]


def _instant(value: object) -> datetime | None:
    """``meta.lastUpdated`` as an aware UTC datetime (validation already checked its format)."""
    if not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _type_and_id_first(resource: dict) -> dict:
    """The same resource with ``resourceType`` and ``id`` as its first keys.

    Key order carries no meaning in JSON; putting these two first lets later layers find
    them at a fixed place in the text without parsing it (see ``layers.namespacing``).
    """
    head = {"resourceType": resource["resourceType"], "id": resource["id"]}
    return head | {k: v for k, v in resource.items() if k not in head}
