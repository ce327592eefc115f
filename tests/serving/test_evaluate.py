"""Evaluating search parameters: the direct path walk agrees with fhirpathpy; values per search type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medlake.serving.definitions import search_parameters, served_types
from medlake.serving.evaluate import compiled_parameters, index_rows, rewrite_resolve
from medlake.serving.values import date_interval, normalise, string_values, token_values
from medlake.synth import generate_region
from tests.conftest import shared_path

KINDS = ("token", "string", "date", "reference", "quantity")


def served_resources(folder: Path) -> list[dict]:
    wanted = set(served_types())
    found = []
    for path in sorted(folder.rglob("*.ndjson")):
        found += [
            r for r in map(json.loads, path.read_text().splitlines()) if r.get("resourceType") in wanted
        ]
    return found


def assert_walk_agrees(resources: list[dict]) -> None:
    assert resources
    for resource in resources:
        walked, evaluated = index_rows(resource), index_rows(resource, walk=False)
        for kind in KINDS:
            assert sorted(map(repr, getattr(walked, kind))) == sorted(map(repr, getattr(evaluated, kind))), (
                resource["resourceType"],
                resource["id"],
                kind,
            )
        assert walked.failures == evaluated.failures == []


def test_the_walk_agrees_with_fhirpathpy_on_the_demo_region(tmp_path: Path) -> None:
    generate_region(tmp_path / "region", 8, 5)
    assert_walk_agrees(served_resources(tmp_path / "region"))


def test_the_walk_agrees_with_fhirpathpy_on_synthea() -> None:
    assert_walk_agrees(served_resources(shared_path("reference/synthea-bulk-10-patients")))


def test_most_parameters_are_plain_paths_and_the_rest_run_on_fhirpathpy() -> None:
    compiled = [p for t in served_types() for p in compiled_parameters(t)]
    walked = [p for p in compiled if p.walk]
    assert len(walked) > 0.8 * len(compiled)
    evaluated = {f"{p.definition.resource_type}.{p.definition.code}" for p in compiled if not p.walk}
    assert "Patient.deceased" in evaluated  # `deceased.exists() and deceased != false` is no path


def test_r4_expressions_are_read_as_meant() -> None:
    patient = search_parameters("Observation")["patient"].expression
    assert patient == "Observation.subject.where(resolve() is Patient)"
    assert rewrite_resolve(patient) == (
        "Observation.subject.where(reference.startsWith('Patient/') or reference.contains('/Patient/'))"
    )
    combo = search_parameters("Observation")["component-value-quantity"].expression
    assert rewrite_resolve(combo) == (
        "Observation.component.value.ofType(Quantity) | Observation.component.value.ofType(SampledData)"
    )
    # a blood pressure: two components; R4's `as` would fail on it, ofType indexes both
    pressure = {
        "resourceType": "Observation",
        "id": "bp",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": "Group/g1"},
        "component": [
            {
                "code": {"text": "systolic"},
                "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
            },
            {
                "code": {"text": "diastolic"},
                "valueQuantity": {"value": 80, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
            },
        ],
    }
    for walk in (True, False):
        rows = index_rows(pressure, walk=walk)
        assert rows.failures == []
        values = sorted(v for code, v, _, _ in rows.quantity if code == "component-value-quantity")
        assert values == [80.0, 120.0]
        # a Group subject is a subject, not a patient
        assert ("subject", "Group", "g1") in rows.reference
        assert not [r for r in rows.reference if r[0] == "patient"]


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("2021", "2021-01-01T00:00:00.000000", "2022-01-01T00:00:00.000000"),
        ("2021-12", "2021-12-01T00:00:00.000000", "2022-01-01T00:00:00.000000"),
        ("2021-02-28", "2021-02-28T00:00:00.000000", "2021-03-01T00:00:00.000000"),
        ("2021-03-04T10:00:00+02:00", "2021-03-04T08:00:00.000000", "2021-03-04T08:00:01.000000"),
        ("2021-03-04T10:00:00.5Z", "2021-03-04T10:00:00.500000", "2021-03-04T10:00:00.500001"),
    ],
)
def test_a_date_covers_its_precision(value: str, low: str, high: str) -> None:
    assert date_interval(value) == (low, high)


def test_dates_that_are_not_dates() -> None:
    assert date_interval("2021-02-30") is None
    assert date_interval("yesterday") is None


def test_tokens_and_strings() -> None:
    concept = {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}], "text": "Diabetes"}
    assert token_values([concept, True, {"system": "urn:x", "value": "42"}]) == [
        ("http://snomed.info/sct", "44054006"),
        (None, "true"),
        ("urn:x", "42"),
    ]
    name = {"use": "official", "family": "Müller", "given": ["José", "Ann"]}
    assert string_values([name]) == [("muller", "Müller"), ("jose", "José"), ("ann", "Ann")]
    assert normalise("ÅNGSTRÖM ") == "angstrom"


def test_the_definitions_are_the_specifications() -> None:
    """Generated from hl7.fhir.r4.examples@4.0.1 by the script, not written by hand."""
    from medlake.serving.definitions import source_package

    assert source_package() == "hl7.fhir.r4.examples@4.0.1"
    for resource_type in served_types():
        parameters = search_parameters(resource_type)
        assert {"_id", "_lastUpdated"} <= set(parameters)
        for code, parameter in parameters.items():
            assert parameter.url.startswith("http://hl7.org/fhir/SearchParameter/"), code
            assert parameter.type in ("token", "string", "date", "reference", "quantity", "uri", "number")
            for part in parameter.expression.split(" | "):
                assert part.lstrip("(").startswith(f"{resource_type}."), (resource_type, code, part)
    assert (
        search_parameters("Patient")["birthdate"].url
        == "http://hl7.org/fhir/SearchParameter/individual-birthdate"
    )
    assert search_parameters("Observation")["code"].expression == "Observation.code"
