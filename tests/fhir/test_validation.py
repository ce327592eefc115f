"""R4 validation: the fast check is never more lenient than the model classes it is built from."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import orjson
import pytest

from medlake.fhir.reading import find_files, read_records
from medlake.fhir.validation import InvalidResource, certainly_valid, resource_classes, validate
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


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> list[dict]:
    region = tmp_path_factory.mktemp("region")
    generate_region(region, residents=40, seed=8)
    folders = [p for p in region.iterdir() if p.is_dir() and p.name != "truth"]
    folders += [
        p
        for p in (SHARED / "reference/synthea-bulk-10-patients", SHARED / "reference/synthea-bundles")
        if p.exists()
    ]
    return _resources(folders)


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
    assert len(sample) > 3_000
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
