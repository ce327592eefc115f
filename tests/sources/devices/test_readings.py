"""Device messages → Observations: deterministic, valid FHIR R4, and precise about what is wrong."""

from __future__ import annotations

import orjson
import pytest

from medlake.fhir.reading import Record
from medlake.fhir.validation import validate
from medlake.ingest import Delivery, ingest_deliveries
from medlake.sources.devices.readings import (
    MESSAGE_ID_SYSTEM,
    Message,
    ReadingError,
    device_from_topic,
    observation_id,
    reading_record,
    to_observation,
)
from medlake.sources.devices.registry import DeviceRegistry

REGISTRY = DeviceRegistry(
    [
        {
            "resourceType": "Device",
            "id": "mon-1",
            "identifier": [{"system": "urn:serial", "value": "SN-1"}],
            "patient": {"reference": "Patient/p1"},
        },
        {"resourceType": "Device", "id": "mon-2"},  # in the store room: no patient
        {
            "resourceType": "Device",
            "id": "mon-3",
            "status": "entered-in-error",
            "patient": {"reference": "Patient/x"},
        },
    ]
)


def compact(**fields: object) -> Message:
    reading = {
        "msg_id": "42",
        "device": "mon-1",
        "loinc": "8867-4",
        "value": 72,
        "unit": "/min",
        "time": "2024-05-01T10:00:00+02:00",
    }
    reading.update(fields)
    payload = {k: v for k, v in reading.items() if v is not None}
    return Message("devices/mon-1/vitals", orjson.dumps(payload))


def test_compact_reading_becomes_a_valid_vital_sign_observation() -> None:
    observation = to_observation(compact(), REGISTRY)
    validate(observation)
    assert observation["subject"] == {"reference": "Patient/p1"}, "the registry supplies the patient"
    assert observation["device"] == {"reference": "Device/mon-1"}
    assert observation["valueQuantity"] == {
        "value": 72,
        "unit": "/min",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    }
    assert observation["code"]["coding"][0]["code"] == "8867-4"
    assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
    assert observation["effectiveDateTime"] == "2024-05-01T10:00:00+02:00"
    assert {"system": MESSAGE_ID_SYSTEM, "value": "mon-1/42"} in observation["identifier"]


def test_the_same_message_gives_the_same_bytes_and_id_from_device_and_message_id_only() -> None:
    first = reading_record(compact(), 1, "mqtt://b:1883", REGISTRY)
    again = reading_record(compact(), 7, "mqtt://b:1883", REGISTRY)
    assert first.text == again.text
    by_serial = to_observation(compact(device="SN-1"), REGISTRY)
    assert by_serial["id"] == observation_id("mon-1", "42") == orjson.loads(first.text)["id"]
    assert to_observation(compact(msg_id="43"), REGISTRY)["id"] != by_serial["id"]


def test_explicit_patient_wins_and_device_may_come_from_the_topic() -> None:
    observation = to_observation(compact(patient="p9", device=None), REGISTRY, "devices/+/vitals")
    assert observation["subject"] == {"reference": "Patient/p9"}
    assert observation["device"] == {"reference": "Device/mon-1"}
    assert device_from_topic("ward/7/mon-3/vitals", "ward/7/+/vitals") == "mon-3"
    assert device_from_topic("devices/x", "devices/#") is None


def test_consciousness_is_coded_acvpu() -> None:
    observation = to_observation(compact(loinc="67775-7", value="c", unit=None), REGISTRY)
    validate(observation)
    assert observation["valueCodeableConcept"]["coding"][0]["code"] == "130987000"


def test_fhir_observation_payload_gets_subject_device_and_a_derived_id() -> None:
    sent = {
        "resourceType": "Observation",
        "id": "obs-17",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "9279-1"}]},
        "device": {"reference": "Device/SN-1"},
        "valueQuantity": {"value": 18, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }
    observation = to_observation(Message("devices/any/vitals", orjson.dumps(sent)), REGISTRY)
    validate(observation)
    assert observation["id"] == observation_id("mon-1", "obs-17")
    assert observation["subject"] == {"reference": "Patient/p1"}
    assert observation["device"] == {"reference": "Device/mon-1"}
    assert observation["valueQuantity"]["value"] == 18


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (Message("d/mon-1/v", b"{not json"), "payload is not JSON"),
        (Message("d/mon-1/v", b"[1, 2]"), "payload is a JSON list"),
        (compact(device="ghost"), "unknown device 'ghost'"),
        (compact(device="mon-3"), "unknown device 'mon-3'"),
        (compact(device="mon-2"), "not associated with a patient"),
        (compact(msg_id=None), "msg_id is missing"),
        (compact(loinc="HR"), "not a LOINC code"),
        (compact(unit="bpm"), "expected the UCUM unit '/min'"),
        (compact(unit=None), "has no unit"),
        (compact(value="fast"), "not a finite number"),
        (compact(value=900), "outside the plausible"),
        (compact(time="2024-05-01T10:00:00"), "no UTC offset"),
        (compact(time="yesterday"), "not an ISO 8601 timestamp"),
        (compact(loinc="67775-7", value="Z", unit=None), "not one of A, C, V, P, U"),
        (compact(patient="Patient/a b"), "not a FHIR id"),
        (Message("d/mon-1/v", b'{"resourceType": "Patient", "id": "p"}'), "must be an Observation"),
    ],
)
def test_bad_messages_are_refused_with_the_reason(message: Message, reason: str) -> None:
    with pytest.raises(ReadingError, match=reason.replace("(", r"\(")):
        to_observation(message, REGISTRY)
    record = reading_record(message, 3, "mqtt://b:1883", REGISTRY)
    assert record.error is not None and reason in record.error
    assert record.error_stage == "convert"
    assert record.text == message.payload, "the quarantine keeps the original payload"


def test_registry_from_the_lake_follows_the_current_device_version(workspace) -> None:
    def device(patient: str, updated: str) -> bytes:
        return orjson.dumps(
            {
                "resourceType": "Device",
                "id": "mon-1",
                "meta": {"lastUpdated": updated},
                "patient": {"reference": f"Patient/{patient}"},
            }
        )

    # the newer association arrives first: the order of delivery must not decide
    for patient, updated in (("p2", "2024-05-02T08:00:00Z"), ("p1", "2024-05-01T08:00:00Z")):
        records = [Record("devices.ndjson", 1, device(patient, updated))]
        ingest_deliveries(
            workspace, [Delivery("icu", "fhir", "devices.ndjson", patient, lambda r=records: r)]
        )
    registry = DeviceRegistry.from_lake(workspace, "icu")
    assert registry.lookup("mon-1").patient == "Patient/p2"  # type: ignore[union-attr]
    assert DeviceRegistry.from_lake(workspace, "other-hospital").lookup("mon-1") is None


def test_registry_file_errors_name_the_line(tmp_path) -> None:
    path = tmp_path / "devices.ndjson"
    path.write_text('{"resourceType": "Device", "id": "a"}\n{oops\n')
    with pytest.raises(ValueError, match=r"devices.ndjson, line 2: malformed JSON"):
        DeviceRegistry.from_file(path)
