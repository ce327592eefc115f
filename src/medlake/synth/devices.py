"""Synthetic bedside monitors: vital-sign streams over MQTT, and the Device registry to match.

Each patient has a monitor publishing heart rate, respiratory rate, SpO2, temperature,
systolic blood pressure and consciousness (ACVPU) in rounds. Stable patients wander
around their own baseline; a chosen fraction *deteriorates*: over the ramp their values
drift towards the ranges where NEWS2 scores 3 per parameter (tachypnoea, hypoxia, fever,
hypotension, tachycardia) and, late, new confusion, so an early-warning consumer has real
alarms to find. Values depend only on the seed; message ids carry a run token so two runs
never collide in the lake.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from medlake.errors import InputError, Unreachable
from medlake.sources.devices.broker import new_client, parse_broker
from medlake.sources.devices.vitals import (
    ACVPU,
    BODY_TEMPERATURE,
    CONSCIOUSNESS,
    HEART_RATE,
    LOINC,
    OXYGEN_SATURATION,
    RESPIRATORY_RATE,
    SNOMED,
    SYSTOLIC_BP,
    UCUM,
    VITAL_SIGNS_CATEGORY,
    VitalSign,
)

#: (vital, baseline low, baseline high, value at full deterioration, noise, decimals)
_PROFILE: tuple[tuple[VitalSign, float, float, float, float, int], ...] = (
    (HEART_RATE, 60, 90, 135, 3.0, 0),
    (RESPIRATORY_RATE, 12, 18, 27, 1.0, 0),
    (OXYGEN_SATURATION, 95, 99, 88, 0.7, 0),
    (BODY_TEMPERATURE, 36.4, 37.2, 39.4, 0.1, 1),
    (SYSTOLIC_BP, 110, 135, 88, 4.0, 0),
)
READINGS_PER_ROUND = len(_PROFILE) + 1  # + consciousness
MONITOR_TYPE = {
    "coding": [{"system": SNOMED, "code": "706172005", "display": "Physiologic monitoring system"}]
}
SERIAL_SYSTEM = "urn:medlake:device-serial"


@dataclass(frozen=True, slots=True)
class Bedside:
    """A monitor at a patient's bedside."""

    device_id: str
    serial: str
    patient_id: str
    deteriorating: bool
    baseline: tuple[float, ...]


def bedsides(
    patients: int | Sequence[str],
    deteriorate: float = 0.2,
    seed: int = 1,
    patient_prefix: str = "ward-patient-",
) -> list[Bedside]:
    """One monitor per patient; ``patients`` is a count (ids ``<prefix>0001``…) or existing patient ids."""
    if not 0 <= deteriorate <= 1:
        raise InputError(f"the deteriorating fraction must be between 0 and 1, not {deteriorate}")
    ids = (
        [f"{patient_prefix}{i:04d}" for i in range(1, patients + 1)]
        if isinstance(patients, int)
        else list(patients)
    )
    if not ids:
        raise InputError("at least one patient is needed")
    rng = random.Random(seed)
    sick = set(rng.sample(range(len(ids)), round(len(ids) * deteriorate)))
    return [
        Bedside(
            device_id=f"monitor-{i + 1:04d}",
            serial=f"SN-{seed:03d}-{i + 1:05d}",
            patient_id=patient_id,
            deteriorating=i in sick,
            baseline=tuple(rng.uniform(low, high) for _, low, high, *_ in _PROFILE),
        )
        for i, patient_id in enumerate(ids)
    ]


def device_resource(bed: Bedside) -> dict:
    return {
        "resourceType": "Device",
        "id": bed.device_id,
        "identifier": [{"system": SERIAL_SYSTEM, "value": bed.serial}],
        "status": "active",
        "deviceName": [{"name": f"Bedside monitor {bed.device_id}", "type": "user-friendly-name"}],
        "type": MONITOR_TYPE,
        "patient": {"reference": f"Patient/{bed.patient_id}"},
    }


def write_registry(beds: Sequence[Bedside], path: Path) -> Path:
    """The Device resources as NDJSON: ingest them (``medlake ingest fhir``) or pass them as a registry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(device_resource(bed)) + b"\n" for bed in beds))
    return path


def vital_round(bed: Bedside, severity: float, rng: random.Random) -> list[tuple[VitalSign, float | str]]:
    """One set of readings; ``severity`` 0 (baseline) … 1 (fully deteriorated) for deteriorating patients."""
    s = severity if bed.deteriorating else 0.0
    readings: list[tuple[VitalSign, float | str]] = []
    for (vital, _, _, target, noise, decimals), base in zip(_PROFILE, bed.baseline, strict=True):
        value = base + s * (target - base) + rng.gauss(0, noise)
        value = min(max(value, vital.low), vital.high)  # type: ignore[type-var]
        readings.append((vital, round(value, decimals) if decimals else round(value)))
    acvpu = "A" if s < 0.8 else "C" if s < 0.95 else "V"
    readings.append((CONSCIOUSNESS, acvpu))
    return readings


def compact_payload(bed: Bedside, msg_id: str, vital: VitalSign, value: float | str, at: datetime) -> bytes:
    payload: dict = {
        "msg_id": msg_id,
        "device": bed.serial,
        "loinc": vital.loinc,
        "value": value,
        "time": at.isoformat(),
    }
    if vital.unit is not None:
        payload["unit"] = vital.unit
    return orjson.dumps(payload)


def fhir_payload(bed: Bedside, msg_id: str, vital: VitalSign, value: float | str, at: datetime) -> bytes:
    """The same reading as a FHIR Observation without a subject: the registry supplies the patient."""
    observation: dict = {
        "resourceType": "Observation",
        "id": msg_id,
        "status": "final",
        "category": [VITAL_SIGNS_CATEGORY],
        "code": {"coding": [{"system": LOINC, "code": vital.loinc, "display": vital.display}]},
        "effectiveDateTime": at.isoformat(),
        "device": {"reference": f"Device/{bed.device_id}"},
    }
    if vital is CONSCIOUSNESS:
        code, display = ACVPU[str(value)]
        observation["valueCodeableConcept"] = {
            "coding": [{"system": SNOMED, "code": code, "display": display}]
        }
    else:
        observation["valueQuantity"] = {
            "value": value,
            "unit": vital.unit,
            "system": UCUM,
            "code": vital.unit,
        }
    return orjson.dumps(observation)


@dataclass
class PublishSummary:
    published: int
    seconds: float
    run_id: str
    topics: int

    @property
    def rate(self) -> float:
        return self.published / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {**self.__dict__, "rate": round(self.rate, 1)}


def readings(
    beds: Sequence[Bedside], seed: int, ramp: float, clock: Iterator[float]
) -> Iterator[tuple[Bedside, int, VitalSign, float | str]]:
    """Endless rounds: (bed, round number, vital, value); ``clock`` gives elapsed seconds per round."""
    rng = random.Random(seed * 7919 + 1)
    round_number = 0
    while True:
        elapsed = next(clock)
        severity = min(1.0, elapsed / ramp) if ramp > 0 else 1.0
        for bed in beds:
            for vital, value in vital_round(bed, severity, rng):
                yield bed, round_number, vital, value
        round_number += 1


def _elapsed(start: float) -> Iterator[float]:
    while True:
        yield time.monotonic() - start


def publish_vitals(
    broker_url: str,
    beds: Sequence[Bedside],
    rate: float,
    *,
    duration: float | None = None,
    count: int | None = None,
    topic_prefix: str = "devices",
    payload_format: str = "compact",
    seed: int = 1,
    ramp: float | None = None,
    run_id: str | None = None,
    stop: threading.Event | None = None,
) -> PublishSummary:
    """Publish readings at ``rate`` per second (QoS 1) to ``<prefix>/<device>/vitals`` until
    ``duration`` seconds, ``count`` readings, or ``stop`` — whichever comes first — and wait
    for the broker to acknowledge every one."""
    if rate <= 0:
        raise InputError(f"rate must be positive, not {rate}")
    if duration is None and count is None and stop is None:
        raise InputError("give a duration, a count or a stop event: the publisher would never end")
    if payload_format not in {"compact", "fhir"}:
        raise InputError(f"payload format must be 'compact' or 'fhir', not {payload_format!r}")
    encode = compact_payload if payload_format == "compact" else fhir_payload
    run = run_id or uuid.uuid4().hex[:8]
    broker = parse_broker(broker_url)
    client = new_client(broker, f"medlake-synth-{run}", manual_ack=False)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    try:
        client.connect(broker.host, broker.port, keepalive=30)
    except OSError as exc:
        raise Unreachable(f"cannot connect to MQTT broker {broker.address}: {exc.strerror or exc}") from exc
    client.loop_start()
    start = time.monotonic()
    ramp_seconds = ramp if ramp is not None else (duration or 600.0)
    infos = []
    sent = 0
    try:
        for bed, round_number, vital, value in readings(beds, seed, ramp_seconds, _elapsed(start)):
            if (count is not None and sent >= count) or (stop is not None and stop.is_set()):
                break
            due = start + sent / rate
            now = time.monotonic()
            if duration is not None and now - start >= duration:
                break
            if due > now:
                time.sleep(due - now)
            msg_id = f"{run}-{round_number}-{vital.loinc}"
            payload = encode(bed, msg_id, vital, value, datetime.now(UTC))
            infos.append(client.publish(f"{topic_prefix}/{bed.device_id}/vitals", payload, qos=1))
            sent += 1
        for info in infos:
            info.wait_for_publish(timeout=30)
            if not info.is_published():
                raise Unreachable(
                    f"broker {broker.address} did not acknowledge a published reading within 30 s"
                )
    finally:
        client.disconnect()
        client.loop_stop()
    return PublishSummary(sent, time.monotonic() - start, run, len(beds))
