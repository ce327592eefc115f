"""One HL7 v2 message → FHIR R4 resources, or the reasons it (or part of it) cannot be.

Every message that can be read is kept whole as a FHIR ``Binary`` (content type
``x-application/hl7-v2+er7``, the message text in base64, id = its SHA-256), so Z-segments
and every field the mapping does not use survive in the raw layer through the same
pipeline, with the same de-duplication and lineage. The mapped resources name that Binary
in ``meta.source``. Then, by message type:

* ADT^A01/A03/A04/A08 → Patient (PID), Encounter (PV1/PV2), Observation (each OBX);
* ADT^A40 → per PID/MRG pair: the surviving Patient with ``link.type = replaces`` and the
  merged-away Patient, inactive, with ``link.type = replaced-by``;
* ORU^R01 → Patient, Encounter (when the visit can be identified), a DiagnosticReport per
  OBR listing its Observations, an Observation per OBX (patient-level OBX too).

A resource that cannot be converted (an invalid date, an unmappable code, an OBX without
a code) becomes a failure with its reason and the rest of the message is still converted
(ACK AE); a message that cannot be taken at all becomes a rejection (AR or AE, see
:mod:`medlake.sources.hl7v2.parsing`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from medlake.fhir.reading import Record
from medlake.sources.hl7v2.context import Context
from medlake.sources.hl7v2.datatypes import ConversionError, fhir_instant
from medlake.sources.hl7v2.encounter import encounter, encounter_id
from medlake.sources.hl7v2.framing import Chunk
from medlake.sources.hl7v2.ids import content_id
from medlake.sources.hl7v2.parsing import Header, MessageRejected, ParsedMessage, parse_message, read_header
from medlake.sources.hl7v2.patient import merged_away, patient, patient_id
from medlake.sources.hl7v2.results import Order, observation, observation_id, report, start_order
from medlake.sources.hl7v2.segments import Segment
from medlake.sources.hl7v2.structure import SUPPORTED, check_structure
from medlake.sources.hl7v2.vocabulary import V2_TABLE

BINARY_CONTENT_TYPE = "x-application/hl7-v2+er7"
DEFAULT_TIMEZONE = "UTC"
_SUPPORTED = set(SUPPORTED)


@dataclass
class MessageConversion:
    """What one message became: resources, per-resource failures, or a whole-message rejection."""

    number: int
    text: bytes
    header: Header | None
    resources: list[dict] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (what, reason)
    rejection: MessageRejected | None = None

    @property
    def ack_code(self) -> str:
        """MSA-1: AA (all stored), AE (content error: rejected or partly quarantined), AR."""
        if self.rejection is not None:
            return self.rejection.ack_code
        return "AE" if self.failures else "AA"

    @property
    def reason(self) -> str | None:
        if self.rejection is not None:
            return self.rejection.reason
        if self.failures:
            return "; ".join(f"{what} not stored: {why}" for what, why in self.failures)
        return None

    @property
    def error_code(self) -> str | None:
        if self.rejection is not None:
            return self.rejection.error_code
        return "102" if self.failures else None

    def records(self, source: str, line: int) -> list[Record]:
        """Pipeline records: each resource, and the original message once per failure or rejection."""
        if self.rejection is not None:
            stage = self.rejection.stage
            return [Record(source, line, self.text, error=self.rejection.reason, error_stage=stage)]
        out = [Record(source, line, orjson.dumps(resource)) for resource in self.resources]
        for what, why in self.failures:
            out.append(Record(source, line, self.text, error=f"{what}: {why}", error_stage="convert"))
        return out


def convert_chunk(chunk: Chunk, tz: str = DEFAULT_TIMEZONE) -> MessageConversion:
    """Convert one chunk from :func:`medlake.sources.hl7v2.framing.split_messages`."""
    if chunk.error is not None:
        rejection = MessageRejected(chunk.error, stage="read", ack_code="AR", error_code="100")
        return MessageConversion(chunk.number, chunk.text, None, rejection=rejection)
    return convert_message(chunk.text, tz, number=chunk.number, truncated=chunk.truncated)


def convert_message(
    text: bytes, tz: str = DEFAULT_TIMEZONE, *, number: int = 1, truncated: str | None = None
) -> MessageConversion:
    """Convert one message (segments separated by CR) to FHIR resources."""
    try:
        parsed = parse_message(text, supported=_SUPPORTED, truncated=truncated)
        check_structure(parsed.header.message_type, parsed.header.trigger, parsed.segment_ids)
        ctx = _context(parsed, tz)
        conversion = MessageConversion(number, text, parsed.header, [_binary(parsed, ctx)])
        _MAPPERS[parsed.header.message_type](parsed, ctx, conversion.resources)
    except MessageRejected as rejection:
        return MessageConversion(number, text, _header_or_none(text), rejection=rejection)
    conversion.failures = ctx.failures
    return conversion


def _header_or_none(text: bytes) -> Header | None:
    try:
        return read_header(text)
    except MessageRejected:
        return None


def _context(parsed: ParsedMessage, tz: str) -> Context:
    stamp = parsed.header.timestamp
    source = "MSH-7 (date/time of message)"
    if not stamp:
        evn = parsed.all("EVN")
        stamp, source = (evn[0].value(2), "EVN-2 (recorded date/time)") if evn else ("", source)
    try:
        last_updated = fhir_instant(stamp, source, tz)
    except ConversionError as exc:
        raise MessageRejected(
            f"{exc}; every resource's version order depends on it",
            stage="convert",
            ack_code="AE",
            error_code="102",
        ) from None
    return Context(parsed, tz, content_id(parsed.text), last_updated)


def _binary(parsed: ParsedMessage, ctx: Context) -> dict:
    header = parsed.header
    meta: dict = {
        "tag": [
            {"system": V2_TABLE.format(76), "code": header.message_type},
            {"system": V2_TABLE.format(3), "code": header.trigger},
        ]
    }
    if ctx.last_updated:
        meta["lastUpdated"] = ctx.last_updated
    return {
        "resourceType": "Binary",
        "id": ctx.binary_id,
        "meta": meta,
        "contentType": BINARY_CONTENT_TYPE,
        "data": base64.b64encode(parsed.text).decode("ascii"),
    }


def _attempt(
    ctx: Context, what: str, build: Callable[..., dict], *args: object, **kwargs: object
) -> dict | None:
    """``build(*args, **kwargs)``, or None with the failure recorded: one resource failing
    must not cost the message its other resources."""
    try:
        return build(*args, **kwargs)
    except ConversionError as exc:
        ctx.fail(what, str(exc))
        return None


def _named_patient(pid: Segment) -> str:
    """The patient id, or a whole-message rejection: nothing in it could be attached to anyone."""
    try:
        return patient_id(pid)
    except ConversionError as exc:
        raise MessageRejected(str(exc), stage="convert", ack_code="AE", error_code="101") from None


def _notes_after(segments: tuple[Segment, ...], index: int) -> list[Segment]:
    notes = []
    for following in segments[index + 1 :]:
        if following.name != "NTE":
            break
        notes.append(following)
    return notes


def _add(out: list[dict], resource: dict | None) -> None:
    if resource is not None:
        out.append(resource)


def _adt(parsed: ParsedMessage, ctx: Context, out: list[dict]) -> None:
    if parsed.header.trigger == "A40":
        _merge(parsed, ctx, out)
        return
    [pid], [pv1] = parsed.all("PID"), parsed.all("PV1")  # check_structure saw to exactly one each
    pv2 = next(iter(parsed.all("PV2")), None)
    subject = _named_patient(pid)
    _add(out, _attempt(ctx, "Patient", patient, pid, ctx))
    visit = encounter_id(pv1, subject, ctx, required=True) or ""
    _add(out, _attempt(ctx, "Encounter", encounter, pv1, pv2, visit, subject, ctx))
    segments = parsed.segments
    for index, segment in enumerate(segments):
        if segment.name == "OBX":
            oid = observation_id(segment, None, ctx)
            kwargs = {"observation_id": oid, "patient_id": subject, "encounter_id": visit, "order": None}
            notes = _notes_after(segments, index)
            _add(
                out,
                _attempt(ctx, "Observation", observation, segment, notes, ctx, **kwargs),
            )


def _merge(parsed: ParsedMessage, ctx: Context, out: list[dict]) -> None:
    survivor: dict | None = None
    survivor_id = ""
    for segment in parsed.segments:
        if segment.name == "PID":
            survivor_id = _named_patient(segment)
            survivor = _attempt(ctx, "Patient", patient, segment, ctx)
            _add(out, survivor)
        elif segment.name == "MRG":
            prior = _attempt(ctx, "merged Patient (MRG)", merged_away, segment, survivor_id, ctx)
            _add(out, prior)
            if prior is not None and survivor is not None:
                survivor.setdefault("link", []).append(
                    {"other": {"reference": f"Patient/{prior['id']}"}, "type": "replaces"}
                )


def _oru(parsed: ParsedMessage, ctx: Context, out: list[dict]) -> None:
    subject: str | None = None
    visit: str | None = None
    orc: Segment | None = None
    order: Order | None = None
    segments = parsed.segments

    def close_order() -> None:
        nonlocal order
        if order is not None:
            built = _attempt(
                ctx, "DiagnosticReport", report, order, ctx, patient_id=subject, encounter_id=visit
            )
            _add(out, built)
        order = None

    for index, segment in enumerate(segments):
        name = segment.name
        if name == "PID":
            close_order()
            subject, visit, orc = _named_patient(segment), None, None
            _add(out, _attempt(ctx, "Patient", patient, segment, ctx))
        elif name == "PV1":
            following = segments[index + 1] if index + 1 < len(segments) else None
            pv2 = following if following is not None and following.name == "PV2" else None
            visit = encounter_id(segment, subject, ctx, required=False)
            if visit is not None:
                _add(out, _attempt(ctx, "Encounter", encounter, segment, pv2, visit, subject, ctx))
        elif name == "ORC":
            close_order()
            orc = segment
        elif name == "OBR":
            close_order()
            order = start_order(segment, orc, ctx)
            orc = None
        elif name == "OBX":
            oid = observation_id(segment, order, ctx)
            kwargs = {"observation_id": oid, "patient_id": subject, "encounter_id": visit, "order": order}
            notes = _notes_after(segments, index)
            result = _attempt(ctx, "Observation", observation, segment, notes, ctx, **kwargs)
            _add(out, result)
            if result is not None and order is not None:
                order.results.append(oid)
    close_order()


_MAPPERS: dict[str, Callable[[ParsedMessage, Context, list[dict]], None]] = {"ADT": _adt, "ORU": _oru}
