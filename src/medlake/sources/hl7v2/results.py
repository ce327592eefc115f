"""OBR → DiagnosticReport and OBX (+ NTE) → Observation (IG: Segment OBR to DiagnosticReport,
Segment OBX to Observation, ObservationResultStatusCodesInterpretation, ResultStatus)."""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field

from medlake.fhir.quality import DEFAULTED, add_warning
from medlake.sources.hl7v2.context import Context
from medlake.sources.hl7v2.datatypes import (
    ConversionError,
    authority_key,
    codeable_concept,
    entity_identifier,
    fhir_datetime,
    fhir_instant,
    fhir_time,
    period,
)
from medlake.sources.hl7v2.ids import stable_id
from medlake.sources.hl7v2.segments import Composite, Segment
from medlake.sources.hl7v2.vocabulary import (
    DATA_ABSENT,
    INTERPRETATION_CODES,
    OBSERVATION_ABSENT,
    OBSERVATION_STATUS,
    REPORT_STATUS,
    UCUM,
    V3_INTERPRETATION,
    coding_system,
)

#: R5's Observation.value[x] allows Attachment; the IG carries ED and RP values in this
#: cross-version extension until R4 can.
VALUE_ATTACHMENT = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.value"
TEXT_TYPES = {"ST", "FT", "TX"}
CODED_TYPES = {"CE", "CWE", "CNE", "CF"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_RANGE = re.compile(r"^\s*([+-]?\d*\.?\d+)\s*-\s*([+-]?\d*\.?\d+)\s*$")
_MIME_TOP = {"application", "audio", "image", "text", "video", "model", "multipart", "message"}
_COMPARATORS = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class Order:
    """One OBR and the observations converted under it so far."""

    obr: Segment
    report_id: str
    key: tuple[str, ...] | None  # what identifies the order across messages, if anything
    effective: str | None
    effective_error: str | None = None  # OBR-7 could not be read: the report fails, its results go on
    results: list[str] = field(default_factory=list)
    seen: dict[tuple[str, str], int] = field(default_factory=dict)


def order_key(obr: Segment, orc: Segment | None) -> tuple[str, ...] | None:
    """The filler order number, else the placer's (from OBR, else from its ORC)."""
    for kind, ei in (
        ("filler", obr.first(3)),
        ("placer", obr.first(2)),
        ("filler", orc.first(3) if orc else None),
        ("placer", orc.first(2) if orc else None),
    ):
        if ei is not None and ei.c(1):
            return kind, authority_key(ei.c(2), ei.c(3), ei.c(4)), ei.c(1)
    return None


def start_order(obr: Segment, orc: Segment | None, ctx: Context) -> Order:
    key = order_key(obr, orc)
    report_id = (
        stable_id("DiagnosticReport", *key)
        if key
        else stable_id("DiagnosticReport", *ctx.message_key, str(obr.position))
    )
    try:
        return Order(
            obr, report_id, key, fhir_datetime(obr.value(7), "OBR-7 (observation date/time)", ctx.tz)
        )
    except ConversionError as exc:
        return Order(obr, report_id, key, None, effective_error=f"{obr.label}: {exc}")


def observation_id(obx: Segment, order: Order | None, ctx: Context) -> str:
    if order is None or order.key is None:
        return stable_id("Observation", *ctx.message_key, str(obx.position))
    code = obx.first(3)
    identity = (code.c(3) or code.c(6), code.c(1) or code.c(4), obx.value(4))
    occurrence = order.seen.get(identity[1:], 0)
    order.seen[identity[1:]] = occurrence + 1
    return stable_id("Observation", *order.key, *identity, str(occurrence))


def observation(
    obx: Segment,
    notes: list[Segment],
    ctx: Context,
    *,
    observation_id: str,
    patient_id: str | None,
    encounter_id: str | None,
    order: Order | None,
) -> dict:
    """One OBX (with the NTE segments that follow it) as an Observation."""
    code = codeable_concept(obx.first(3))
    if code is None:
        raise ConversionError(
            f"{obx.label}: OBX-3 (observation identifier) is empty; Observation.code is required"
        )
    flag = obx.value(11).upper()
    if flag and flag not in OBSERVATION_STATUS:
        raise ConversionError(f"{obx.label}: OBX-11 {flag!r} is not an HL7 table 0085 result status")
    resource: dict = {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": ctx.meta(),
        "status": OBSERVATION_STATUS.get(flag, "unknown"),
        "code": code,
    }
    if not flag:
        _status_unknown(resource, ctx, obx, "OBX-11 (observation result status)")
    if patient_id:
        resource["subject"] = {"reference": f"Patient/{patient_id}"}
    if encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    effective = fhir_datetime(obx.value(14), "OBX-14 (date/time of the observation)", ctx.tz)
    if effective or (order and order.effective):
        resource["effectiveDateTime"] = effective or order.effective  # type: ignore[union-attr]
    value = observation_value(obx, ctx.tz)
    resource.update(value)
    if not value and flag in OBSERVATION_ABSENT:
        resource["dataAbsentReason"] = {"coding": [{"system": DATA_ABSENT, "code": OBSERVATION_ABSENT[flag]}]}
    interpretations = [c for cwe in obx.reps(8) if (c := _interpretation(cwe))]
    if interpretations:
        resource["interpretation"] = interpretations
    if reference_range := _reference_range(obx):
        resource["referenceRange"] = [reference_range]
    if method := codeable_concept(obx.first(17)):
        resource["method"] = method
    if site := codeable_concept(obx.first(20)):
        resource["bodySite"] = site
    if ident := entity_identifier(obx.first(21), "FILL"):
        resource["identifier"] = [ident]
    texts = [text for nte in notes if (text := "\n".join(rep.joined() for rep in nte.reps(3)).strip())]
    if texts:
        resource["note"] = [{"text": text} for text in texts]
    return resource


def report(order: Order, ctx: Context, *, patient_id: str | None, encounter_id: str | None) -> dict:
    """The OBR as a DiagnosticReport listing the observations converted under it."""
    obr = order.obr
    if order.effective_error:
        raise ConversionError(order.effective_error)
    flag = obr.value(25).upper()
    if flag and flag not in REPORT_STATUS:
        raise ConversionError(f"{obr.label}: OBR-25 {flag!r} has no DiagnosticReport status (HL7 table 0123)")
    code = codeable_concept(obr.first(4))
    if code is None:
        raise ConversionError(
            f"{obr.label}: OBR-4 (universal service identifier) is empty; a report needs a code"
        )
    resource: dict = {
        "resourceType": "DiagnosticReport",
        "id": order.report_id,
        "meta": ctx.meta(),
        "status": REPORT_STATUS[flag] if flag else "unknown",
        "code": code,
    }
    if not flag:  # the IG requires OBR-25; FHIR has a code for a status nobody stated
        _status_unknown(resource, ctx, obr, "OBR-25 (result status)")
    identifiers = [
        i for i in (entity_identifier(obr.first(2), "PLAC"), entity_identifier(obr.first(3), "FILL")) if i
    ]
    if identifiers:
        resource["identifier"] = identifiers
    if category := codeable_concept(obr.first(24), "HL70074"):
        resource["category"] = [category]
    if patient_id:
        resource["subject"] = {"reference": f"Patient/{patient_id}"}
    if encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    if obr.value(8):
        resource["effectivePeriod"] = period(obr.value(7), obr.value(8), "OBR-7/OBR-8", ctx.tz)
    elif order.effective:
        resource["effectiveDateTime"] = order.effective
    if issued := fhir_instant(obr.value(22), "OBR-22 (results report/status change)", ctx.tz):
        resource["issued"] = issued
    if order.results:
        resource["result"] = [{"reference": f"Observation/{i}"} for i in order.results]
    return resource


def _status_unknown(resource: dict, ctx: Context, segment: Segment, field: str) -> None:
    """Record on the resource that its status was not sent and ``unknown`` stands in for it."""
    header = ctx.message.header
    add_warning(
        resource,
        DEFAULTED,
        f"{field} is empty in {segment.label} of {header.kind} message {header.control_id!r}; "
        "status stored as 'unknown'",
    )


# ---- OBX-5 by OBX-2 -----------------------------------------------------------------------------


def observation_value(obx: Segment, tz: str) -> dict:
    """``value[x]`` (or the attachment extension) for OBX-5 as OBX-2 types it."""
    value_type = obx.value(2).upper() or "ST"
    reps = obx.reps(5)
    if not reps:
        return {}
    if value_type in TEXT_TYPES:
        return {"valueString": "\n".join(rep.joined() for rep in reps)}
    if len(reps) > 1:
        raise ConversionError(
            f"{obx.label}: OBX-5 holds {len(reps)} values of type {value_type} but Observation.value[x] "
            "holds one"
        )
    rep = reps[0]
    units = obx.first(6)
    if value_type == "NM":
        return {"valueQuantity": _quantity(number(rep.c(1), f"{obx.label} OBX-5 (NM)"), units)}
    if value_type == "SN":
        return _structured_numeric(rep, units, obx.label)
    if value_type in CODED_TYPES:
        return {"valueCodeableConcept": codeable_concept(rep)}
    if value_type in ("IS", "ID"):
        return {"valueCodeableConcept": {"coding": [{"code": rep.c(1)}], "text": rep.c(1)}}
    if value_type in ("DT", "DTM", "TS"):
        return {"valueDateTime": fhir_datetime(rep.c(1), f"{obx.label} OBX-5 ({value_type})", tz)}
    if value_type == "TM":
        return {"valueTime": fhir_time(rep.c(1), f"{obx.label} OBX-5 (TM)")}
    if value_type == "NR":
        return {"valueRange": _range(rep.c(1), rep.c(2), units, obx.label)}
    if value_type == "DR":
        return {"valuePeriod": period(rep.c(1, 1), rep.c(2, 1), f"{obx.label} OBX-5 (DR)", tz)}
    if value_type == "ED":
        return _attachment(_encapsulated(rep, obx.label))
    if value_type == "RP":
        return _attachment(_pointer(rep))
    return {"valueString": rep.text()}  # HD, EI, CX, XPN, …: kept readable as text


def number(text: str, where: str) -> int | float:
    """An HL7 NM as a JSON number; raises for anything that is not one."""
    value = text.strip()
    if not _NUMBER.match(value):
        raise ConversionError(f"{where}: {text!r} is not a number")
    if "." not in value:
        return int(value)
    parsed = float(value)
    if not math.isfinite(parsed):
        raise ConversionError(f"{where}: {text!r} is not a finite number")
    return parsed


def _quantity(value: int | float, units: Composite) -> dict:
    out: dict = {"value": value}
    if units.empty:
        return out
    out["unit"] = units.c(2) or units.c(1)
    if coding_system(units.c(3)) == UCUM and units.c(1):
        out["system"], out["code"] = UCUM, units.c(1)
    return out


def _structured_numeric(rep: Composite, units: Composite, label: str) -> dict:
    comparator, first, separator, second = rep.c(1), rep.c(2), rep.c(3), rep.c(4)
    where = f"{label} OBX-5 (SN)"
    if comparator == "<>" or separator == "+":
        return {"valueString": " ".join(p for p in (comparator, first, separator, second, units.c(1)) if p)}
    if separator in (":", "/"):
        return {
            "valueRatio": {
                "numerator": _quantity(number(first, where), units),
                "denominator": {"value": number(second, where)},
            }
        }
    if separator == "-":
        return {"valueRange": _range(first, second, units, label)}
    quantity = _quantity(number(first, where), units)
    if comparator in _COMPARATORS:
        quantity["comparator"] = _COMPARATORS[comparator]
    elif comparator not in ("", "="):
        raise ConversionError(f"{where}: comparator {comparator!r} is not one of > < >= <= = <>")
    return {"valueQuantity": quantity}


def _range(low: str, high: str, units: Composite, label: str) -> dict:
    out = {}
    if low:
        out["low"] = _quantity(number(low, f"{label} range low"), units)
    if high:
        out["high"] = _quantity(number(high, f"{label} range high"), units)
    return out


def _encapsulated(rep: Composite, label: str) -> dict:
    kind, subtype, encoding, data = rep.c(2).lower(), rep.c(3).lower(), rep.c(4).upper(), rep.c(5)
    out: dict = {}
    if kind in _MIME_TOP and subtype:
        out["contentType"] = f"{kind}/{subtype}"
    if not data:
        return out
    if encoding == "BASE64":
        compact = "".join(data.split())
        try:
            base64.b64decode(compact, validate=True)
        except binascii.Error:
            raise ConversionError(f"{label}: OBX-5 (ED) says Base64 but its data is not Base64") from None
        out["data"] = compact
    elif encoding == "HEX":
        try:
            out["data"] = base64.b64encode(bytes.fromhex(data)).decode()
        except ValueError:
            raise ConversionError(f"{label}: OBX-5 (ED) says Hex but its data is not hexadecimal") from None
    else:  # "A" (ASCII) or unstated: the text itself
        out["data"] = base64.b64encode(data.encode("utf-8")).decode()
    return out


def _pointer(rep: Composite) -> dict:
    pointer = rep.c(1)
    kind, subtype = rep.c(3).lower(), rep.c(4).lower()
    out: dict = {}
    if pointer:
        out["url" if not any(c.isspace() for c in pointer) else "title"] = pointer
    if kind in _MIME_TOP and subtype:
        out["contentType"] = f"{kind}/{subtype}"
    return out


def _attachment(attachment: dict) -> dict:
    return {"extension": [{"url": VALUE_ATTACHMENT, "valueAttachment": attachment}]} if attachment else {}


def _interpretation(cwe: Composite) -> dict | None:
    """Table 0078 codes (what the IG's InterpretationCodes map covers) in their v3 system."""
    code = cwe.c(1).upper()
    if code in INTERPRETATION_CODES and cwe.c(3).upper() in ("", "HL70078"):
        concept: dict = {"coding": [{"system": V3_INTERPRETATION, "code": code}]}
        if cwe.c(2):
            concept["text"] = cwe.c(2)
        return concept
    return codeable_concept(cwe, "HL70078")


def _reference_range(obx: Segment) -> dict | None:
    text = obx.value(7)
    if not text:
        return None
    out: dict = {"text": text}
    match = _RANGE.match(text)
    if match:
        units = obx.first(6)
        out["low"] = _quantity(number(match[1], f"{obx.label} OBX-7"), units)
        out["high"] = _quantity(number(match[2], f"{obx.label} OBX-7"), units)
    return out
