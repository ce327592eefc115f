"""Data-quality warnings that travel with the resource they concern.

Some defects need not cost a record its place in the lake: an HL7 ORU whose OBR-25 (result
status) is empty still carries a report, and FHIR has a code for "we do not know the status"
(``unknown``). Such a resource is stored with what FHIR provides, and says so itself: a
``meta.tag`` of the system :data:`SYSTEM`, whose code names the kind of warning and whose display
says what happened, where (message, segment, field), and what was stored instead. Being part of
the resource, the warning is stored exactly once with it, in the same commit, kept with every
version in the raw layer, carried into the integrated layer, and never counted as quarantined
(the resource *is* stored: received = stored + quarantined + duplicates still holds).
``medlake quarantine --warnings`` lists them (``ingest.warnings``).
"""

from __future__ import annotations

SYSTEM = "urn:medlake:data-quality"
#: A value was missing or unusable, and FHIR's code for the case was stored instead.
DEFAULTED = "defaulted"
#: Part of what was received has no place in the FHIR resource and was left out (the display
#: holds it).
UNMAPPED = "unmapped"


def warning_tag(code: str, display: str) -> dict:
    """The ``meta.tag`` entry for one warning."""
    return {"system": SYSTEM, "code": code, "display": display}


def add_warning(resource: dict, code: str, display: str) -> dict:
    """``resource`` with the warning added to its ``meta.tag`` (changed in place, and returned)."""
    resource.setdefault("meta", {}).setdefault("tag", []).append(warning_tag(code, display))
    return resource


def warnings_of(resource: dict) -> list[tuple[str, str]]:
    """(code, display) of each data-quality warning the resource carries."""
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    if not isinstance(tags, list):
        return []
    return [
        (str(tag.get("code", "")), str(tag.get("display", "")))
        for tag in tags
        if isinstance(tag, dict) and tag.get("system") == SYSTEM
    ]
