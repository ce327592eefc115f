"""PV1 (+ PV2) → Encounter (IG: Segment PV1 to Encounter, PatientClass concept maps)."""

from __future__ import annotations

from medlake.sources.hl7v2.context import Context
from medlake.sources.hl7v2.datatypes import (
    authority_key,
    codeable_concept,
    identifier,
    location_reference,
    period,
    practitioner_reference,
)
from medlake.sources.hl7v2.ids import stable_id
from medlake.sources.hl7v2.segments import Segment
from medlake.sources.hl7v2.vocabulary import (
    PATIENT_CLASS,
    PATIENT_CLASS_STATUS,
    V2_TABLE,
    V3_NULL_FLAVOR,
    V3_PARTICIPATION,
)

#: PV1 field → Encounter.participant type (v3 ParticipationType).
PARTICIPANTS = (
    (7, "ATND", "attender"),
    (8, "REF", "referrer"),
    (9, "CON", "consultant"),
    (17, "ADM", "admitter"),
    (52, "PART", "Participation"),
)
#: Trigger events after which the visit is over whatever PV1-45 says.
ENDING_EVENTS = {"A03"}


def encounter_id(pv1: Segment, patient_id: str | None, ctx: Context, *, required: bool) -> str | None:
    """The visit's id: PV1-19, else patient + PV1-44 admit time, else (if ``required``) the message."""
    visit = pv1.first(19)
    if visit.c(1):
        return stable_id("Encounter", authority_key(visit.c(4, 1), visit.c(4, 2), visit.c(4, 3)), visit.c(1))
    admitted = pv1.value(44)
    if admitted and patient_id:
        return stable_id("Encounter", "admitted", patient_id, admitted)
    if required:
        return stable_id("Encounter", "message", *ctx.message_key)
    return None


def encounter(
    pv1: Segment, pv2: Segment | None, encounter_id: str, patient_id: str | None, ctx: Context
) -> dict:
    tz = ctx.tz
    patient_class = pv1.value(2).upper()
    resource: dict = {
        "resourceType": "Encounter",
        "id": encounter_id,
        "meta": ctx.meta(),
        "status": _status(pv1, patient_class, ctx.message.header.trigger),
        "class": _class(patient_class),
    }
    identifiers = [
        i
        for i in (
            identifier(pv1.first(19), "PV1-19", tz, type_code="VN"),
            *(identifier(cx, "PV1-50", tz) for cx in pv1.reps(50)),
        )
        if i
    ]
    if identifiers:
        resource["identifier"] = identifiers
    if kind := codeable_concept(pv1.first(4), "HL70007"):
        resource["type"] = [kind]
    if service := codeable_concept(pv1.first(10), "HL70069"):
        resource["serviceType"] = service
    if patient_id:
        resource["subject"] = {"reference": f"Patient/{patient_id}"}
    participants = []
    for field, code, display in PARTICIPANTS:
        for xcn in pv1.reps(field):
            if individual := practitioner_reference(xcn):
                participants.append(
                    {
                        "type": [
                            {"coding": [{"system": V3_PARTICIPATION, "code": code, "display": display}]}
                        ],
                        "individual": individual,
                    }
                )
    if participants:
        resource["participant"] = participants
    if when := period(pv1.value(44), pv1.value(45), "PV1-44/PV1-45 (admit/discharge)", tz):
        resource["period"] = when
    if pv2 is not None and (reason := codeable_concept(pv2.first(3))):
        resource["reasonCode"] = [reason]
    if hospitalization := _hospitalization(pv1, tz):
        resource["hospitalization"] = hospitalization
    locations = []
    for field, status in ((3, "planned" if patient_class == "P" else "active"), (6, "completed")):
        if place := location_reference(pv1.first(field)):
            locations.append({"location": place, "status": status})
    if locations:
        resource["location"] = locations
    return resource


def _status(pv1: Segment, patient_class: str, trigger: str) -> str:
    if pv1.value(45) or trigger in ENDING_EVENTS:
        return "finished"
    return PATIENT_CLASS_STATUS.get(patient_class, "in-progress")


def _class(patient_class: str) -> dict:
    if patient_class in PATIENT_CLASS:
        system, code, display = PATIENT_CLASS[patient_class]
        return {"system": system, "code": code, "display": display}
    if patient_class:  # a local class: kept as sent (the binding is extensible)
        return {"system": V2_TABLE.format(4), "code": patient_class}
    return {"system": V3_NULL_FLAVOR, "code": "UNK", "display": "unknown"}


def _hospitalization(pv1: Segment, tz: str) -> dict | None:
    out: dict = {}
    if pre := identifier(pv1.first(5), "PV1-5", tz):
        out["preAdmissionIdentifier"] = pre
    for key, field, table in (
        ("admitSource", 14, "HL70023"),
        ("reAdmission", 13, "HL70092"),
        ("dischargeDisposition", 36, "HL70112"),
    ):
        if concept := codeable_concept(pv1.first(field), table):
            out[key] = concept
    return out or None
