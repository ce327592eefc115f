"""Synthetic monitors: valid Device registry, reproducible values, deterioration that NEWS2 would flag."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime

import orjson

from medlake.fhir.validation import validate
from medlake.sources.devices.readings import Message, to_observation
from medlake.sources.devices.registry import DeviceRegistry
from medlake.sources.devices.vitals import (
    BODY_TEMPERATURE,
    HEART_RATE,
    OXYGEN_SATURATION,
    RESPIRATORY_RATE,
    SYSTOLIC_BP,
)
from medlake.synth.devices import (
    bedsides,
    compact_payload,
    device_resource,
    fhir_payload,
    vital_round,
)


def test_registry_devices_are_valid_and_resolve_both_payload_formats() -> None:
    beds = bedsides(5, deteriorate=0.4, seed=2)
    assert sum(b.deteriorating for b in beds) == 2
    resources = [device_resource(b) for b in beds]
    for resource in resources:
        validate(resource)
    registry = DeviceRegistry(resources)
    bed = beds[0]
    for encode in (compact_payload, fhir_payload):
        for vital, value in vital_round(bed, 0.5, random.Random(1)):
            payload = encode(bed, "m1", vital, value, datetime(2024, 5, 1, 10, tzinfo=UTC))
            observation = to_observation(Message(f"devices/{bed.device_id}/vitals", payload), registry)
            validate(observation)
            assert observation["subject"] == {"reference": f"Patient/{bed.patient_id}"}


def test_same_seed_same_values() -> None:
    first = [vital_round(b, 0.3, random.Random(5)) for b in bedsides(3, seed=9)]
    again = [vital_round(b, 0.3, random.Random(5)) for b in bedsides(3, seed=9)]
    assert first == again
    assert orjson.dumps(first) != orjson.dumps(
        [vital_round(b, 0.3, random.Random(5)) for b in bedsides(3, seed=8)]
    )


def _means(bed, severity: float) -> dict:
    rng = random.Random(11)
    rounds = [dict((v.loinc, value) for v, value in vital_round(bed, severity, rng)) for _ in range(50)]
    return {
        loinc: statistics.fmean(r[loinc] for r in rounds)
        for loinc in (
            v.loinc for v in (HEART_RATE, RESPIRATORY_RATE, OXYGEN_SATURATION, BODY_TEMPERATURE, SYSTOLIC_BP)
        )
    } | {"acvpu": rounds[-1]["67775-7"]}


def test_deteriorating_patients_reach_news2_red_ranges_and_stable_ones_do_not() -> None:
    beds = bedsides(10, deteriorate=0.3, seed=4)
    sick = next(b for b in beds if b.deteriorating)
    well = next(b for b in beds if not b.deteriorating)
    # NEWS2 (Royal College of Physicians, 2017) scores 3 for each of these
    ill = _means(sick, 1.0)
    assert ill[RESPIRATORY_RATE.loinc] >= 25
    assert ill[OXYGEN_SATURATION.loinc] <= 91
    assert ill[SYSTOLIC_BP.loinc] <= 90
    assert ill[HEART_RATE.loinc] >= 131
    assert ill[BODY_TEMPERATURE.loinc] >= 39.1
    assert ill["acvpu"] != "A"
    assert _means(sick, 0.0)[RESPIRATORY_RATE.loinc] <= 20, "they start out well"
    fine = _means(well, 1.0)
    assert 12 <= fine[RESPIRATORY_RATE.loinc] <= 20 and fine[OXYGEN_SATURATION.loinc] >= 94
    assert 51 <= fine[HEART_RATE.loinc] <= 90 and fine["acvpu"] == "A"
