"""One device message → one FHIR ``Observation``, or a precise reason why not.

Two payloads are understood: a FHIR R4 ``Observation`` (JSON), and the compact reading
small devices send::

    {"msg_id": "42", "device": "SN-0001", "patient": "p1", "loinc": "8867-4",
     "value": 72, "unit": "/min", "time": "2024-05-01T10:00:00+02:00"}

``patient`` is optional (the device registry supplies it) and ``device`` may be left to the
topic (``devices/<device>/vitals``). Consciousness (LOINC 67775-7) takes an ACVPU letter.

The Observation id is derived from the device and the message id only, so a broker
redelivery or a consumer restart produces byte-identical resources that the pipeline
stores once. Nothing time-dependent (no "now") enters the content for the same reason.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson

from medlake.errors import InvalidRecord
from medlake.fhir.quality import UNMAPPED, add_warning
from medlake.fhir.reading import Record
from medlake.sources.devices.registry import DeviceRegistry, RegisteredDevice
from medlake.sources.devices.vitals import (
    ACVPU,
    CONSCIOUSNESS,
    LOINC,
    SNOMED,
    UCUM,
    VITAL_SIGNS,
    VITAL_SIGNS_CATEGORY,
)

#: Namespace of the UUIDv5 Observation ids (fixed forever: changing it re-identifies every reading).
OBSERVATION_NAMESPACE = uuid.UUID("0b6f4d52-6a43-5c1e-9a57-3d1f0c2e8b11")
#: Identifier system carrying the device's own message id, so a reading can be traced back.
MESSAGE_ID_SYSTEM = "urn:medlake:device-message"
#: The keys of the compact reading; any other is reported in a data-quality warning.
COMPACT_KEYS = frozenset({"msg_id", "device", "patient", "loinc", "value", "unit", "time"})
#: Characters of unmapped keys and values a warning quotes at most.
UNMAPPED_SHOWN = 4096
_LOINC_CODE = re.compile(r"^\d{1,7}-\d$")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class ReadingError(InvalidRecord):
    """A message that cannot become an Observation; the text says why."""


@dataclass(frozen=True, slots=True)
class Message:
    """A received MQTT message, as much of it as conversion needs."""

    topic: str
    payload: bytes


def observation_id(device_id: str, msg_id: str) -> str:
    return str(uuid.uuid5(OBSERVATION_NAMESPACE, f"{device_id}\0{msg_id}"))


def device_from_topic(topic: str, topic_filter: str | None) -> str | None:
    """The topic level that the filter's first ``+`` wildcard matches (``devices/+/vitals``)."""
    if not topic_filter or "+" not in topic_filter.split("/"):
        return None
    position = topic_filter.split("/").index("+")
    levels = topic.split("/")
    return levels[position] if position < len(levels) and levels[position] else None


def reading_record(
    message: Message, line: int, source: str, registry: DeviceRegistry, topic_filter: str | None = None
) -> Record:
    """The message as a pipeline record: the Observation, or the original payload with the reason."""
    where = f"{source}/{message.topic}"
    try:
        resource = to_observation(message, registry, topic_filter)
    except ReadingError as exc:
        return Record(where, line, message.payload, error=str(exc), error_stage="convert")
    return Record(where, line, orjson.dumps(resource))


def to_observation(message: Message, registry: DeviceRegistry, topic_filter: str | None = None) -> dict:
    try:
        payload = orjson.loads(message.payload)
    except orjson.JSONDecodeError as exc:
        raise ReadingError(f"payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ReadingError(f"payload is a JSON {type(payload).__name__}, not an object")
    if "resourceType" in payload:
        return _from_fhir(payload, message, registry, topic_filter)
    return _from_compact(payload, message, registry, topic_filter)


def _resolve_device(named: object, message: Message, registry: DeviceRegistry, topic_filter: str | None):
    key = named if isinstance(named, str) and named else device_from_topic(message.topic, topic_filter)
    if key is None:
        raise ReadingError(f"no device: the payload names none and topic {message.topic!r} carries none")
    device = registry.lookup(key)
    if device is None:
        raise ReadingError(
            f"unknown device {key!r}: no Device resource with this id or identifier is registered "
            "for the institution (ingest its Device resource, with Device.patient, first)"
        )
    return device


def _patient_reference(named: object, device: RegisteredDevice) -> str:
    if named is None or named == "":
        if device.patient is None:
            raise ReadingError(
                f"device {device.id!r} is not associated with a patient (Device.patient is empty) "
                "and the reading names none"
            )
        return device.patient
    if not isinstance(named, str):
        raise ReadingError(f"patient must be a string id, not {type(named).__name__}")
    patient_id = named.removeprefix("Patient/")
    if not _FHIR_ID.match(patient_id):
        raise ReadingError(f"patient {named!r} is not a FHIR id ([A-Za-z0-9-.], at most 64 characters)")
    return f"Patient/{patient_id}"


def _message_id(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise ReadingError("msg_id is missing or not a string/integer: it is what makes redelivery safe")
    return str(value)


def _instant(value: object) -> str:
    if not isinstance(value, str):
        raise ReadingError("time is missing: a reading needs the moment it was measured")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ReadingError(f"time {value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise ReadingError(f"time {value!r} has no UTC offset; FHIR needs one for a time of day")
    return moment.isoformat()


def _from_compact(
    payload: dict, message: Message, registry: DeviceRegistry, topic_filter: str | None
) -> dict:
    msg_id = _message_id(payload.get("msg_id"))
    device = _resolve_device(payload.get("device"), message, registry, topic_filter)
    subject = _patient_reference(payload.get("patient"), device)
    code = payload.get("loinc")
    if not isinstance(code, str) or not _LOINC_CODE.match(code):
        raise ReadingError(f"loinc {code!r} is not a LOINC code (digits, a dash, a check digit)")
    vital = VITAL_SIGNS.get(code)
    coding = {"system": LOINC, "code": code}
    if vital is not None:
        coding["display"] = vital.display
    observation = {
        "resourceType": "Observation",
        "id": observation_id(device.id, msg_id),
        "identifier": [{"system": MESSAGE_ID_SYSTEM, "value": f"{device.id}/{msg_id}"}],
        "status": "final",
        "category": [VITAL_SIGNS_CATEGORY],
        "code": {"coding": [coding], **({"text": vital.display} if vital else {})},
        "subject": {"reference": subject},
        "effectiveDateTime": _instant(payload.get("time")),
        "device": {"reference": f"Device/{device.id}"},
    }
    observation.update(_value(code, payload.get("value"), payload.get("unit")))
    unmapped = {key: payload[key] for key in sorted(payload) if key not in COMPACT_KEYS}
    if unmapped:  # kept in the warning, so nothing the device sent is lost unseen
        text = orjson.dumps(unmapped).decode()
        if len(text) > UNMAPPED_SHOWN:
            text = text[:UNMAPPED_SHOWN] + f"… ({len(text):,} characters)"
        add_warning(observation, UNMAPPED, f"payload keys with no place in the Observation, left out: {text}")
    return observation


def _value(code: str, value: object, unit: object) -> dict:
    vital = VITAL_SIGNS.get(code)
    if vital is CONSCIOUSNESS:
        letter = value.strip().upper() if isinstance(value, str) else None
        if letter not in ACVPU:
            raise ReadingError(f"consciousness value {value!r} is not one of A, C, V, P, U (ACVPU)")
        snomed, display = ACVPU[letter]
        return {"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": snomed, "display": display}]}}
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReadingError(f"value {value!r} of {code} is not a finite number")
    if not isinstance(unit, str) or not unit:
        raise ReadingError(f"value of {code} has no unit (a UCUM code such as '/min')")
    if vital is not None:
        if unit != vital.unit:
            raise ReadingError(
                f"unit {unit!r} for {code} ({vital.display}): expected the UCUM unit {vital.unit!r}"
            )
        if not vital.low <= value <= vital.high:  # type: ignore[operator]
            raise ReadingError(
                f"{vital.display} {value} {unit} is outside the plausible {vital.low}–{vital.high}: "
                "a device fault"
            )
    return {"valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}


def _from_fhir(payload: dict, message: Message, registry: DeviceRegistry, topic_filter: str | None) -> dict:
    if payload.get("resourceType") != "Observation":
        raise ReadingError(f"a device message must be an Observation, not {payload.get('resourceType')!r}")
    device_ref = payload.get("device")
    named = device_ref.get("reference") if isinstance(device_ref, dict) else None
    if named is None and isinstance(device_ref, dict):
        named = (device_ref.get("identifier") or {}).get("value")
    device = _resolve_device(named, message, registry, topic_filter)
    # a device that sends no id still sends the same bytes on redelivery
    own_id = payload.get("id")
    msg_id = own_id if isinstance(own_id, str) and own_id else hashlib.sha256(message.payload).hexdigest()
    observation = dict(payload)
    subject = (
        (payload.get("subject") or {}).get("reference") if isinstance(payload.get("subject"), dict) else None
    )
    observation["subject"] = {"reference": _patient_reference(subject, device)}
    observation["id"] = observation_id(device.id, msg_id)
    identifiers = [
        i
        for i in payload.get("identifier") or []
        if not (isinstance(i, dict) and i.get("system") == MESSAGE_ID_SYSTEM)
    ]
    observation["identifier"] = [
        *identifiers,
        {"system": MESSAGE_ID_SYSTEM, "value": f"{device.id}/{msg_id}"},
    ]
    observation["device"] = {"reference": f"Device/{device.id}"}
    return observation
