"""The view library over Synthea data: row counts, keys that join, and values checked
against the resources themselves (read from ../shared/ at test time)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.views import compile_view
from medlake.views.library import DIRECTORY_VIEWS, library_view, load_library
from tests.views.resources import by_id, first_code, rows_of

ONE_ROW_PER_RESOURCE = {
    "patient": "Patient",
    "encounter": "Encounter",
    "condition": "Condition",
    "observation": "Observation",
    "medication_request": "MedicationRequest",
    "procedure": "Procedure",
    "immunization": "Immunization",
    "claim": "Claim",
    "explanation_of_benefit": "ExplanationOfBenefit",
}


def test_library_has_the_warehouse_tables() -> None:
    views = load_library()
    assert set(ONE_ROW_PER_RESOURCE) | {"observation_component"} <= set(views)
    for table, view in views.items():
        assert view["name"] == table


@pytest.mark.parametrize("table", sorted(load_library()))
def test_library_view_compiles_cleanly(table: str) -> None:
    compiled = compile_view(library_view(table))
    assert compiled.warnings == (), compiled.warnings
    names = compiled.column_names
    assert ("patient_id" in names) == (table not in DIRECTORY_VIEWS)
    assert {"id", "observation_id", "diagnostic_report_id"} & set(names)
    assert all(c.type is not None for c in compiled.columns), "library columns are typed"


@pytest.mark.parametrize("table", sorted(ONE_ROW_PER_RESOURCE))
def test_one_row_per_resource_with_keys(
    table: str,
    engine: DuckDBEngine,
    synthea_bulk: list[dict[str, Any]],
    synthea_bundles: list[dict[str, Any]],
) -> None:
    resource_type = ONE_ROW_PER_RESOURCE[table]
    for resources in (synthea_bulk, synthea_bundles):
        expected = Counter(r["id"] for r in resources if r["resourceType"] == resource_type)
        rows = rows_of(engine, table, resources)
        assert Counter(r["id"] for r in rows) == expected
        patients = set(by_id(resources, "Patient"))
        # every row names its patient, and the patient is in the same data set: tables join
        assert all(r["patient_id"] in patients for r in rows), table


def test_patient_demographics(engine: DuckDBEngine, synthea_bulk: list[dict[str, Any]]) -> None:
    patients = by_id(synthea_bulk, "Patient")
    for row in rows_of(engine, "patient", synthea_bulk):
        source = patients[row["id"]]
        assert row["patient_id"] == row["id"]
        assert row["gender"] == source.get("gender")
        assert row["birth_date"] == source.get("birthDate")
        assert row["deceased"] == ("deceasedDateTime" in source or source.get("deceasedBoolean") is True)
        official = [n for n in source.get("name", []) if n.get("use") == "official"] or source.get("name", [])
        assert row["family_name"] == (official[0].get("family") if official else None)
        birth_sex = [e for e in source.get("extension", []) if e["url"].endswith("us-core-birthsex")]
        assert row["birth_sex"] == (birth_sex[0]["valueCode"] if birth_sex else None)


def test_condition_codes_and_encounters(engine: DuckDBEngine, synthea_bulk: list[dict[str, Any]]) -> None:
    conditions = by_id(synthea_bulk, "Condition")
    encounters = set(by_id(synthea_bulk, "Encounter"))
    rows = rows_of(engine, "condition", synthea_bulk)
    for row in rows:
        source = conditions[row["id"]]
        assert row["code"] == first_code(source["code"])
        assert row["snomed_code"] == first_code(source["code"], "http://snomed.info/sct")
        assert row["clinical_status"] == first_code(source.get("clinicalStatus"))
        assert row["onset_date_time"] == source.get("onsetDateTime")
    assert {r["encounter_id"] for r in rows} <= encounters


def test_medication_request_codes(engine: DuckDBEngine, synthea_bulk: list[dict[str, Any]]) -> None:
    requests = by_id(synthea_bulk, "MedicationRequest")
    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    rows = rows_of(engine, "medication_request", synthea_bulk)
    assert any(r["rxnorm_code"] for r in rows)
    for row in rows:
        source = requests[row["id"]]
        concept = source.get("medicationCodeableConcept")
        assert row["rxnorm_code"] == first_code(concept, rxnorm)
        reference = (source.get("medicationReference") or {}).get("reference")
        assert row["medication_id"] == (reference.split("/")[-1] if reference else None)
        assert row["authored_on"] == source.get("authoredOn")


def test_observation_values(engine: DuckDBEngine, synthea_bundles: list[dict[str, Any]]) -> None:
    observations = by_id(synthea_bundles, "Observation")
    rows = rows_of(engine, "observation", synthea_bundles)
    assert any(r["value_quantity"] is not None for r in rows)
    for row in rows:
        source = observations[row["id"]]
        quantity = source.get("valueQuantity") or {}
        assert row["value_quantity"] == quantity.get("value")
        assert row["value_unit"] == quantity.get("unit")
        assert row["value_code"] == first_code(source.get("valueCodeableConcept"))
        assert row["value_string"] == source.get("valueString")
        assert row["effective_date_time"] == source.get("effectiveDateTime")
        assert row["component_count"] == len(source.get("component", []))


def test_claims_join_their_explanations_of_benefit(
    engine: DuckDBEngine, synthea_bundles: list[dict[str, Any]]
) -> None:
    claims = {r["id"]: r for r in rows_of(engine, "claim", synthea_bundles)}
    source_claims = by_id(synthea_bundles, "Claim")
    for claim_id, row in claims.items():
        assert row["total"] == source_claims[claim_id]["total"]["value"]
    eobs = rows_of(engine, "explanation_of_benefit", synthea_bundles)
    assert eobs and all(e["claim_id"] in claims for e in eobs)
    for eob in eobs:
        assert eob["patient_id"] == claims[eob["claim_id"]]["patient_id"]


def test_observation_components_one_row_each(engine: DuckDBEngine) -> None:
    loinc = "http://loinc.org"

    def component(code: str, value: float) -> dict[str, Any]:
        quantity = {"value": value, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
        return {"code": {"coding": [{"system": loinc, "code": code}]}, "valueQuantity": quantity}

    blood_pressure = {
        "resourceType": "Observation",
        "id": "bp1",
        "status": "final",
        "code": {"coding": [{"system": loinc, "code": "85354-9"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-03-01T10:00:00Z",
        "component": [component("8480-6", 128), component("8462-4", 84)],
    }
    weight = {
        "resourceType": "Observation",
        "id": "w1",
        "status": "final",
        "code": {"coding": [{"system": loinc, "code": "29463-7"}]},
        "subject": {"reference": "Patient/p1"},
        "valueQuantity": {"value": 70.5, "unit": "kg"},
    }
    rows = rows_of(engine, "observation_component", [blood_pressure, weight])
    assert [
        (r["observation_id"], r["component_index"], r["loinc_code"], r["value_quantity"]) for r in rows
    ] == [
        ("bp1", 0, "8480-6", 128),
        ("bp1", 1, "8462-4", 84),
    ]
    assert {r["patient_id"] for r in rows} == {"p1"}
    observation = {r["id"]: r for r in rows_of(engine, "observation", [blood_pressure, weight])}
    assert observation["bp1"]["component_count"] == 2
    assert observation["w1"]["value_quantity"] == 70.5


def test_docs_list_every_library_table_and_column() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "warehouse.md").read_text(encoding="utf-8")
    for table, view in load_library().items():
        section = docs.split(f"### `{table}` ", 1)
        assert len(section) == 2, f"docs/warehouse.md has no section for {table}"
        body = section[1].split("\n### ", 1)[0]
        for name in compile_view(view).column_names:
            assert f"| `{name}` |" in body, f"docs/warehouse.md does not describe {table}.{name}"
