"""PID → Patient, and MRG → the merged-away Patient (IG: Segment PID to Patient)."""

from __future__ import annotations

from medlake.sources.hl7v2.context import Context
from medlake.sources.hl7v2.datatypes import (
    ConversionError,
    address,
    authority_key,
    codeable_concept,
    contact_point,
    fhir_date,
    fhir_datetime,
    has_time,
    human_name,
    identifier,
)
from medlake.sources.hl7v2.ids import stable_id
from medlake.sources.hl7v2.segments import Composite, Segment
from medlake.sources.hl7v2.vocabulary import ADMINISTRATIVE_SEX, MARITAL_STATUS, V2_IDENTIFIER_TYPE

BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
MOTHERS_MAIDEN_NAME = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"
US_SSN = "http://hl7.org/fhir/sid/us-ssn"


def identifying_cx(candidates: list[Composite]) -> Composite | None:
    """The identifier that names the patient: the first medical record number (CX-5 ``MR``),
    else the first identifier at all. Which one is chosen must not vary between messages about
    the same patient, and MR is what hospital ADT and lab systems agree on."""
    valued = [cx for cx in candidates if cx.c(1)]
    for cx in valued:
        if cx.c(5).upper() == "MR":
            return cx
    return valued[0] if valued else None


def patient_id_for(cx: Composite) -> str:
    return stable_id("Patient", authority_key(cx.c(4, 1), cx.c(4, 2), cx.c(4, 3)), cx.c(1))


def patient_id(pid: Segment) -> str:
    """The Patient id for this PID; raises when the patient has no identifier at all."""
    cx = identifying_cx(pid.reps(3)) or identifying_cx(pid.reps(2))
    if cx is None:
        raise ConversionError(
            f"{pid.label}: PID-3 and PID-2 hold no identifier, so the patient cannot be named"
        )
    return patient_id_for(cx)


def patient(pid: Segment, ctx: Context) -> dict:
    """The Patient of one PID (demographics as of this message)."""
    tz = ctx.tz
    resource: dict = {"resourceType": "Patient", "id": patient_id(pid), "meta": ctx.meta()}
    identifiers = _identifiers(pid, tz)
    if identifiers:
        resource["identifier"] = identifiers
    names = [n for xpn in pid.reps(5) if (n := human_name(xpn, "PID-5", tz))]
    names += [n for xpn in pid.reps(9) if (n := human_name(xpn, "PID-9", tz))]
    if names:
        resource["name"] = names
    if maiden := pid.value(6, 1, 1):
        resource["extension"] = [{"url": MOTHERS_MAIDEN_NAME, "valueString": maiden}]
    telecoms = [t for xtn in pid.reps(13) if (t := contact_point(xtn, "home"))]
    telecoms += [t for xtn in pid.reps(14) if (t := contact_point(xtn, "work"))]
    telecoms += [t for xtn in pid.reps(40) if (t := contact_point(xtn, None))]
    if telecoms:
        resource["telecom"] = telecoms
    if sex := pid.value(8):
        if sex.upper() not in ADMINISTRATIVE_SEX:
            raise ConversionError(f"{pid.label}: PID-8 {sex!r} is not an HL7 table 0001 administrative sex")
        resource["gender"] = ADMINISTRATIVE_SEX[sex.upper()]
    birth = pid.value(7)
    if birth:
        resource["birthDate"] = fhir_date(birth, "PID-7 (date/time of birth)")
        if has_time(birth):
            exact = fhir_datetime(birth, "PID-7 (date/time of birth)", tz)
            resource["_birthDate"] = {"extension": [{"url": BIRTH_TIME, "valueDateTime": exact}]}
    _deceased(pid, resource, tz)
    addresses = [a for xad in pid.reps(11) if (a := address(xad))]
    county = pid.value(12)
    if county and len(addresses) == 1 and "district" not in addresses[0]:
        addresses[0]["district"] = county
    if addresses:
        resource["address"] = addresses
    if marital := _marital_status(pid.first(16)):
        resource["maritalStatus"] = marital
    _multiple_birth(pid, resource)
    if language := codeable_concept(pid.first(15), "HL70296"):
        resource["communication"] = [{"language": language}]
    return resource


def _identifiers(pid: Segment, tz: str) -> list[dict]:
    found: list[dict] = []
    for field in (2, 3, 4):
        for cx in pid.reps(field):
            ident = identifier(cx, f"PID-{field}", tz)
            if ident and ident not in found:
                found.append(ident)
    if ssn := pid.value(19):
        found.append(
            {
                "system": US_SSN,
                "value": ssn,
                "type": {"coding": [{"system": V2_IDENTIFIER_TYPE, "code": "SS"}]},
            }
        )
    return found


def _deceased(pid: Segment, resource: dict, tz: str) -> None:
    if died := pid.value(29):
        resource["deceasedDateTime"] = fhir_datetime(died, "PID-29 (patient death date and time)", tz)
    elif (flag := pid.value(30).upper()) in ("Y", "N"):
        resource["deceasedBoolean"] = flag == "Y"


def _multiple_birth(pid: Segment, resource: dict) -> None:
    order = pid.value(25)
    if order:
        if not order.isdigit():
            raise ConversionError(f"{pid.label}: PID-25 (birth order) {order!r} is not a whole number")
        resource["multipleBirthInteger"] = int(order)
    elif (flag := pid.value(24).upper()) in ("Y", "N"):
        resource["multipleBirthBoolean"] = flag == "Y"


def _marital_status(cwe: Composite) -> dict | None:
    code = cwe.c(1).upper()
    if code in MARITAL_STATUS:
        system, mapped, display = MARITAL_STATUS[code]
        out: dict = {"coding": [{"system": system, "code": mapped, "display": display}]}
        if cwe.c(2):
            out["text"] = cwe.c(2)
        return out
    return codeable_concept(cwe, "HL70002")


def merged_away(mrg: Segment, survivor_id: str, ctx: Context) -> dict:
    """The patient record MRG names, now inactive and pointing at the one that replaces it.

    Only its identifiers are known from the message, which is all this version needs to say:
    the record is no longer to be used, the survivor is. (The survivor, from the PID, gets the
    matching ``replaces`` link.)"""
    cx = identifying_cx(mrg.reps(1)) or identifying_cx(mrg.reps(4))
    if cx is None:
        raise ConversionError(f"{mrg.label}: MRG-1 and MRG-4 hold no prior patient identifier")
    prior_id = patient_id_for(cx)
    if prior_id == survivor_id:
        raise ConversionError(
            f"{mrg.label}: MRG-1 names the same patient as PID-3; there is nothing to merge"
        )
    identifiers = []
    for field in (1, 4):
        for rep in mrg.reps(field):
            ident = identifier(rep, f"MRG-{field}", ctx.tz)
            if ident and ident not in identifiers:
                identifiers.append(ident)
    return {
        "resourceType": "Patient",
        "id": prior_id,
        "meta": ctx.meta(),
        "identifier": identifiers,
        "active": False,
        "link": [{"other": {"reference": f"Patient/{survivor_id}"}, "type": "replaced-by"}],
    }
