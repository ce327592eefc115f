"""R4 validation: the fast check is never more lenient than the model classes it is built from."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import orjson
import pytest
from fhirclient.models.fhirdate import FHIRDate
from fhirclient.models.fhirdatetime import FHIRDateTime
from fhirclient.models.fhirinstant import FHIRInstant
from fhirclient.models.fhirtime import FHIRTime

from medlake.fhir.reading import read_records
from medlake.fhir.references import iter_references
from medlake.fhir.validation import (
    InvalidResource,
    _date_ok,
    certainly_valid,
    resource_classes,
    validate,
    validate_references,
)
from medlake.ingest.delivery import find_files
from medlake.synth import generate_region
from tests.conftest import SHARED


def _model_accepts(resource: dict) -> bool:
    try:
        resource_classes()[resource["resourceType"]](resource, strict=True)
    except Exception:
        return False
    return True


def _resources(folders: list[Path]) -> list[dict]:
    out = []
    for folder in folders:
        for file in find_files(folder):
            out += [orjson.loads(r.text) for r in read_records(file) if r.error is None]
    return out


#: Synthea's data, when ../shared/ is beside the project (a user's clone has none: the
#: synthetic region is then the whole sample, and the tests say how many they checked)
SYNTHEA = (SHARED / "reference/synthea-bulk-10-patients", SHARED / "reference/synthea-bundles")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> list[dict]:
    region = tmp_path_factory.mktemp("region")
    generate_region(region, residents=40, seed=8)
    folders = [p for p in region.iterdir() if p.is_dir() and p.name != "truth"]
    return _resources(folders + [p for p in SYNTHEA if p.exists()])


def _mutations(resource: dict, rng: random.Random) -> list[dict]:
    """Plausible defects at random places: wrong types, unknown keys, bad dates, dropped elements."""
    paths: list[tuple[list, object]] = []

    def walk(node: object, path: list) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append(([*path, key], value))
                walk(value, [*path, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, [*path, index])

    walk(resource, [])
    out = []
    for _ in range(6):
        path, value = rng.choice(paths)
        if path == ["resourceType"]:
            continue
        mutated = copy.deepcopy(resource)
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        kind = rng.randrange(6)
        if kind == 0:
            del parent[key]
        elif kind == 1:
            parent[key] = 12345 if isinstance(value, str) else "text"
        elif kind == 2:
            parent[key] = [value] if not isinstance(value, list) else (value[0] if value else None)
        elif kind == 3 and isinstance(parent, dict):
            parent[f"{key}Extra"] = value
        elif kind == 4 and isinstance(value, str):
            parent[key] = value.replace("-", "/", 1) if "-" in value else value + "-13-45"
        else:
            parent[key] = None
        out.append(mutated)
    return out


def test_fast_check_agrees_with_the_model_classes_on_real_data(sample) -> None:
    # the synthetic region alone gives some 2,600 resources of 10 types; Synthea adds 15,000 of 16
    with_synthea = all(p.exists() for p in SYNTHEA)
    assert len(sample) > (15_000 if with_synthea else 2_000)
    assert len({r["resourceType"] for r in sample}) >= (16 if with_synthea else 10)
    verdicts = [
        (certainly_valid(r, resource_classes()[r["resourceType"]]), _model_accepts(r)) for r in sample
    ]
    assert all(model for fast, model in verdicts if fast), "the fast check accepted something invalid"
    assert sum(fast for fast, _ in verdicts) == sum(model for _, model in verdicts), "no needless fallbacks"


def test_fast_check_is_never_more_lenient_on_defective_data(sample) -> None:
    rng = random.Random(20261123)
    checked = rejected = 0
    for resource in rng.sample(sample, 600):
        for mutated in _mutations(resource, rng):
            fast = certainly_valid(mutated, resource_classes()[mutated["resourceType"]])
            model = _model_accepts(mutated)
            assert not (fast and not model), orjson.dumps(mutated)[:300]
            checked += 1
            rejected += not model
    assert checked > 2_000 and rejected > checked // 4, "the mutations must produce many invalid resources"


def test_errors_come_from_the_model_classes() -> None:
    with pytest.raises(InvalidResource, match=r"birthDate: .*; gender: Wrong type"):
        validate({"resourceType": "Patient", "id": "x", "birthDate": "1990-02-30", "gender": 3})
    with pytest.raises(InvalidResource, match="unknown resourceType 'Foo'"):
        validate({"resourceType": "Foo"})
    validate(
        {
            "resourceType": "Observation",
            "id": "o",
            "status": "final",
            "code": {"text": "x"},
            "valueQuantity": {"value": 1},
        }
    )


def test_references_collected_by_validation_are_those_of_a_separate_walk(sample) -> None:
    with_refs = 0
    for resource in sample:
        try:
            collected = validate_references(resource)
        except InvalidResource:
            continue
        expected = list(iter_references(resource))
        assert sorted(collected) == sorted(expected), resource.get("id")
        with_refs += bool(expected)
    assert with_refs > 1_000, "the sample must exercise references"


def test_references_inside_primitive_extensions_are_collected() -> None:
    resource = {
        "resourceType": "Patient",
        "id": "p",
        "gender": "female",
        "_gender": {"extension": [{"url": "u", "valueReference": {"reference": "Practitioner/9"}}]},
        "generalPractitioner": [{"reference": "Practitioner/1"}],
        "contained": [{"resourceType": "Organization", "id": "o", "partOf": {"reference": "Organization/2"}}],
    }
    assert sorted(validate_references(resource)) == ["Organization/2", "Practitioner/1", "Practitioner/9"]


def _model_date_ok(typ: type, text: str) -> bool:
    try:
        typ(text)
    except Exception:
        return False
    return True


def test_date_check_answers_as_the_model_date_classes_do() -> None:
    rng = random.Random(7)
    days = ["2020-02-29", "2021-02-29", "1900-02-29", "2000-02-29", "2021-04-31", "2021-12-31", "0001-01-01"]
    days += ["0000-01-01", "2021-13-01", "2021-00-10", "2021-01-32", "2021-1-01", "21-01-01"]
    times = ["", "T10:00:00Z", "T23:59:60+14:00", "T10:00:00.1234567-13:59", "T24:00:00Z", "T10:00:00"]
    times += ["T10:00:00+14:01", "T10:00:00.+01:00", "T10:00Z", "T09:30:00.5+05:30", " ", "T10:00:00-00:00"]
    texts = [d + t for d in days for t in times] + ["2021", "2021-02", "0000", "2021-2", "", "2021-02-29x"]
    texts += [
        f"{rng.randrange(1, 10000):04d}-{rng.randrange(0, 14):02d}-{rng.randrange(0, 33):02d}"
        for _ in range(300)
    ]
    texts += ["10:00:00", "25:00:00", "10:00:60", "10:00:00.123456789"]
    for typ in (FHIRDate, FHIRDateTime, FHIRInstant, FHIRTime):
        for text in texts:
            assert _date_ok(typ, text) == _model_date_ok(typ, text), (typ.__name__, text)
    assert sum(_model_date_ok(FHIRDateTime, t) for t in texts) > 50, "the cases must include valid ones"
