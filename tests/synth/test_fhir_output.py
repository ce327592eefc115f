"""The output is valid FHIR, self-consistent per institution, and laid out like a bulk export."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest

from medlake.fhir.validation import validate
from medlake.synth import INSTITUTIONS, estimate_resources, residents_for_resources

from .conftest import RESIDENTS, SEED, Region


def _references(value: Any) -> list[str]:
    """Every ``reference`` string anywhere inside a resource."""
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def test_layout_and_region_json(region: Region) -> None:
    summary = json.loads((region.root / "region.json").read_text())
    assert summary["seed"] == SEED and summary["residents"] == RESIDENTS
    assert [i["id"] for i in summary["institutions"]] == [inst.id for inst in INSTITUTIONS]
    assert {i["kind"] for i in summary["institutions"]} == {
        "hospital",
        "community-health-centre",
        "public-health-agency",
    }
    for inst, by_type in summary["counts"].items():
        for resource_type, count in by_type.items():
            path = region.root / inst / f"{resource_type}.ndjson"
            assert sum(1 for _ in path.open("rb")) == count, path
    assert summary["total_resources"] == region.summary.total_resources


@pytest.mark.parametrize("institution", [inst.id for inst in INSTITUTIONS])
def test_every_resource_validates_against_fhir_r4(region: Region, institution: str) -> None:
    checked = 0
    for path in sorted((region.root / institution).glob("*.ndjson")):
        with path.open("rb") as handle:
            for line in handle:
                resource = json.loads(line)
                assert resource["resourceType"] == path.name.removesuffix(".ndjson")
                validate(resource)  # the platform's own R4 validation (fhirclient's R4 models)
                checked += 1
    assert checked > 200


EXPORTED = "2025-04-01T00:00:00Z"


def _time_problems(resource: dict[str, Any]) -> list[str]:
    """Ways a resource could contradict its own timeline (ISO strings of one format compare as times)."""
    updated, kind = resource["meta"]["lastUpdated"], resource["resourceType"]
    checks = [(updated < EXPORTED, "updated after the export")]
    if kind == "Observation":
        checks.append((resource["effectiveDateTime"] <= updated, "recorded before it was measured"))
        checks.append(
            (resource.get("issued", "9") >= resource["effectiveDateTime"], "issued before the specimen")
        )
    elif kind == "Encounter" and "end" in resource["period"]:
        checks.append(
            (resource["period"]["start"] <= resource["period"]["end"] <= updated, "period vs update")
        )
    elif kind == "Condition":
        checks.append((resource["onsetDateTime"] <= resource["recordedDate"], "recorded before onset"))
        checks.append((resource.get("abatementDateTime", "") <= updated, "resolved after its last update"))
    elif kind == "MedicationRequest":
        checks.append((resource["authoredOn"] <= updated[:10], "authored after its last update"))
    elif kind == "Immunization":
        checks.append((resource["occurrenceDateTime"] <= resource["recorded"], "recorded before given"))
    elif kind == "Claim":
        checks.append((resource["billablePeriod"]["end"] <= resource["created"] <= updated, "billed early"))
    return [problem for ok, problem in checks if not ok]


@dataclass
class Audit:
    """Findings of one pass over every file (parsing the whole region once keeps the suite fast)."""

    resources: int = 0
    missing_last_updated: int = 0
    dangling: list[str] = field(default_factory=list)
    references: int = 0
    resent: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    incoherent: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def audit(region: Region) -> Audit:
    found = Audit()
    for inst in INSTITUTIONS:
        ids: dict[str, set[str]] = defaultdict(set)
        references: set[str] = set()
        for path in sorted((region.root / inst.id).glob("*.ndjson")):
            latest: dict[str, dict[str, Any]] = {}
            for line in path.open("rb"):
                resource = json.loads(line)
                found.resources += 1
                if not resource.get("meta", {}).get("lastUpdated", "").endswith("Z"):
                    found.missing_last_updated += 1
                ids[resource["resourceType"]].add(resource["id"])
                found.incoherent += [f"{inst.id} {resource['id']}: {p}" for p in _time_problems(resource)]
                references.update(_references(resource))
                previous = latest.get(resource["id"])
                if previous is not None:
                    found.resent.append((previous, resource))
                latest[resource["id"]] = resource
        found.references += len(references)
        for reference in sorted(references):
            resource_type, _, local_id = reference.partition("/")
            if local_id not in ids[resource_type]:
                found.dangling.append(f"{inst.id}: {reference}")
    return found


def test_every_resource_has_meta_last_updated(region: Region, audit: Audit) -> None:
    assert audit.resources == region.summary.total_resources
    assert audit.missing_last_updated == 0


def test_timelines_are_coherent(audit: Audit) -> None:
    assert audit.incoherent == []


def test_references_resolve_within_the_institution(audit: Audit) -> None:
    assert audit.references > 1_000
    assert audit.dangling == []


def test_newer_versions_validate_and_move_forward(region: Region, audit: Audit) -> None:
    total = region.summary.total_resources
    assert 0.002 * total < len(audit.resent) < 0.05 * total
    assert {new["resourceType"] for _, new in audit.resent} >= {
        "Patient",
        "Condition",
        "Encounter",
        "Observation",
    }
    for number, (old, new) in enumerate(audit.resent):
        assert int(new["meta"]["versionId"]) == int(old["meta"]["versionId"]) + 1
        assert new["meta"]["lastUpdated"] > old["meta"]["lastUpdated"]
        if number % 5 == 0:
            validate(new)


def test_standard_codes_are_used(region: Region) -> None:
    loinc = set()
    for inst in ("chc-central", "hosp-north"):
        for observation in region.read(inst, "Observation"):
            loinc |= {c["code"] for c in observation["code"]["coding"] if c["system"] == "http://loinc.org"}
    assert {
        "85354-9",
        "8867-4",
        "9279-1",
        "59408-5",
        "8310-5",
        "67775-7",
        "2339-0",
        "4548-4",
        "2093-3",
        "2085-9",
        "39156-5",
        "29463-7",
        "33914-3",
    } <= loinc
    blood_pressure = next(
        o for o in region.read("chc-east", "Observation") if o["code"]["text"] == "Blood pressure"
    )
    assert [c["code"]["coding"][0]["code"] for c in blood_pressure["component"]] == ["8480-6", "8462-4"]
    assert blood_pressure["component"][0]["valueQuantity"]["code"] == "mm[Hg]"

    hospital_codes = {
        c["system"] for cond in region.read("hosp-north", "Condition") for c in cond["code"]["coding"]
    }
    assert hospital_codes == {"http://hl7.org/fhir/sid/icd-10", "http://snomed.info/sct"}
    centre_codes = {
        c["system"] for cond in region.read("chc-east", "Condition") for c in cond["code"]["coding"]
    }
    assert centre_codes == {"http://snomed.info/sct"}

    drug_systems = {
        c["system"]
        for m in region.read("hosp-north", "MedicationRequest")
        for c in m["medicationCodeableConcept"]["coding"]
    }
    assert drug_systems == {"http://www.whocc.no/atc", "http://www.nlm.nih.gov/research/umls/rxnorm"}
    vaccines = {i["vaccineCode"]["coding"][0]["code"] for i in region.read("cdc-region", "Immunization")}
    assert {"140", "208"} <= vaccines
    procedures = {
        p["code"]["coding"][0]["system"] for inst in INSTITUTIONS for p in region.read(inst.id, "Procedure")
    }
    assert procedures == {"http://snomed.info/sct"}


def test_claims_carry_costs(region: Region) -> None:
    claims = list(region.read("hosp-south", "Claim")) + list(region.read("chc-west", "Claim"))
    assert claims
    for claim in claims:
        assert claim["total"]["currency"] == "EUR"
        items = sum(item["net"]["value"] for item in claim["item"])
        assert claim["total"]["value"] == pytest.approx(items, abs=0.01)
        assert claim["total"]["value"] > 0
    assert not list(region.read("cdc-region", "Claim"))


def test_resource_count_estimate(region: Region) -> None:
    per_resident = region.summary.total_resources / RESIDENTS
    assert 40 <= per_resident <= 120
    assert region.summary.total_resources == pytest.approx(estimate_resources(RESIDENTS), rel=0.15)
    for target in (10_000, 100_000, 1_000_000):
        residents = residents_for_resources(target)
        assert estimate_resources(residents) == pytest.approx(target, rel=0.01)
    with pytest.raises(ValueError):
        residents_for_resources(0)
