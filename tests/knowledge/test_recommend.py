"""Recommendations on a synthetic region: every one cites a record of the person, none is about a
condition the person has no record of (unless a result or a risk points to it), consent is kept.

Whether an article is about a condition is judged here by its UMLS concept ids against the
region's own code table (medlake.synth.terminology), not by the recommender's route (names,
codes and the graph), so the code under test does not grade itself.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from medlake.knowledge.build import build_graph
from medlake.knowledge.evidence import RESULT_RULES, Evidence, FhirConsent
from medlake.knowledge.recommend import Recommender, name_variants
from medlake.knowledge.store import load_articles
from medlake.mpi import MasterPatientIndex
from medlake.person import UnknownPersonError
from medlake.synth import terminology as T
from medlake.workspace import Workspace, init_workspace
from tests.conftest import built_region
from tests.knowledge.articles import CHRONIC, write

RESIDENTS = 80
SEED = 20261207

#: the region's chronic conditions and the UMLS concepts of articles about them
CONDITION_CUIS: dict[str, tuple[T.Concept, set[str]]] = {
    "hypertension": (T.HYPERTENSION, {"C0020538"}),
    "type 2 diabetes": (T.DIABETES_T2, {"C0011860"}),
    "atrial fibrillation": (T.ATRIAL_FIBRILLATION, {"C0004238"}),
    "coronary heart disease": (T.CORONARY_HEART_DISEASE, {"C0018799"}),
    "myocardial infarction": (T.MYOCARDIAL_INFARCTION, {"C0027051"}),
    "stroke": (T.STROKE, {"C0038454"}),
    "chronic kidney disease": (T.CHRONIC_KIDNEY_DISEASE_3, {"C1561643"}),
    "asthma": (T.ASTHMA, {"C0004096"}),
    "obesity": (T.OBESITY, {"C0028754"}),
}


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    base = tmp_path_factory.mktemp("recommend")
    ws, _ = built_region(base, RESIDENTS, SEED)
    MasterPatientIndex(ws).run()
    load_articles(ws, write(base / "chronic.jsonl", CHRONIC))
    build_graph(ws, ontologies=("icd10", "articles"))
    return ws


def diagnoses(ws: Workspace) -> dict[str, set[str]]:
    """Person -> the region's conditions they have a record of (any status), by code."""
    codes = {}
    for name, (concept, _) in CONDITION_CUIS.items():
        for code, _display in concept.codes.values():
            codes[code] = name
    rows = ws.sql(
        "SELECT l.person_id, c.code, c.icd10_code, c.snomed_code FROM warehouse.condition c "
        "JOIN warehouse.person_link l ON c.patient_id = l.patient_id"
    ).to_pylist()
    found: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for code in (row["code"], row["icd10_code"], row["snomed_code"]):
            if code in codes:
                found[row["person_id"]].add(codes[code])
    return found


def about(article_id: str) -> set[str]:
    cuis = set(next(a["cuis"] for a in CHRONIC if a["id"] == article_id))
    return {name for name, (_, wanted) in CONDITION_CUIS.items() if cuis & wanted}


def test_every_recommendation_cites_a_record_of_the_person(region: Workspace) -> None:
    everyone = Recommender(region).recommend_all(limit=20)
    records = {
        (r["person_id"], r["id"])
        for table in ("condition", "medication_request", "observation")
        for r in region.sql(
            f"SELECT l.person_id, t.id FROM warehouse.{table} t "
            "JOIN warehouse.person_link l ON t.patient_id = l.patient_id"
        ).to_pylist()
    }
    count = 0
    for person, chosen in everyone.items():
        for rec in chosen:
            count += 1
            assert (person, rec.cites["source_id"]) in records
            assert rec.cites["institution"] in rec.reason
            assert rec.reason.startswith("because ")
    assert count > RESIDENTS / 4


def test_never_about_a_condition_the_person_has_no_record_of(region: Workspace) -> None:
    everyone = Recommender(region).recommend_all(limit=20)
    has = diagnoses(region)
    for person, chosen in everyone.items():
        for rec in chosen:
            assert not rec.article_id.startswith(("COMBO", "NOONAN"))
            if rec.cites["kind"] in ("condition", "medication"):
                assert about(rec.article_id) <= has[person], (person, rec)


def test_residents_with_a_chronic_condition_get_its_article(region: Workspace) -> None:
    everyone = Recommender(region).recommend_all(limit=20)
    active = region.sql(
        "SELECT DISTINCT l.person_id, c.code, c.icd10_code, c.snomed_code FROM warehouse.condition c "
        "JOIN warehouse.person_link l ON c.patient_id = l.patient_id "
        "WHERE coalesce(c.clinical_status, 'active') NOT IN ('resolved', 'inactive', 'remission')"
    ).to_pylist()
    checked = 0
    for row in active:
        for name in ("hypertension", "type 2 diabetes"):
            concept, _ = CONDITION_CUIS[name]
            if {row["code"], row["icd10_code"], row["snomed_code"]} & {c for c, _ in concept.codes.values()}:
                checked += 1
                topics = set().union(*(about(r.article_id) for r in everyone.get(row["person_id"], [])))
                assert name in topics, row
    assert checked >= 5


def test_abnormal_results_are_warnings_with_their_value(region: Workspace) -> None:
    everyone = Recommender(region).recommend_all(limit=20)
    values = defaultdict(list)  # a blood pressure is one observation with two components
    for row in region.sql(
        "SELECT id AS source_id, value_quantity AS value, coalesce(loinc_code, code) AS code "
        "FROM warehouse.observation UNION ALL SELECT observation_id, value_quantity, "
        "coalesce(loinc_code, code) FROM warehouse.observation_component"
    ).to_pylist():
        values[row["source_id"]].append(row)
    results = [rec for chosen in everyone.values() for rec in chosen if rec.cites["kind"] == "result"]
    assert results
    for rec in results:
        abnormal = [
            row
            for row in values[rec.cites["source_id"]]
            for rule in RESULT_RULES
            if row["code"] in rule.codes
            and row["value"] is not None
            and (
                (rule.above is not None and row["value"] >= rule.above)
                or (rule.below is not None and row["value"] < rule.below)
            )
        ]
        assert any(f"{row['value']:g}" in rec.reason for row in abnormal), rec


class DenyAll:
    def allows(self, workspace, patient_ids):
        return set()


class StrokeRisk:
    def __init__(self, person: str) -> None:
        self.person = person

    def risks(self, workspace, person_id):
        return [
            Evidence(
                self.person,
                "risk",
                (),
                ("Stroke",),
                "a 10-year stroke risk of 18 %",
                "cdc-region",
                "2024-11-02",
                "risk-1",
            )
        ]


def test_consent_and_risk_hooks(region: Workspace) -> None:
    person = next(p for p, c in Recommender(region).recommend_all().items() if c)
    assert Recommender(region, consent=DenyAll()).recommend(person) == []
    chosen = Recommender(region, risks=StrokeRisk(person), consent=DenyAll()).recommend(person)
    assert [r.article_id for r in chosen] == ["STROKE_1"]  # the overview first
    assert chosen[0].reason == "because a 10-year stroke risk of 18 % at cdc-region in 2024 points to stroke"
    with pytest.raises(UnknownPersonError):
        Recommender(region).recommend("PNOSUCHPERSON")


def test_fhir_consent_withdraws_a_patient_record(tmp_path: Path) -> None:
    import orjson
    import pyarrow as pa

    ws = init_workspace(tmp_path / "ws")
    consent = {
        "resourceType": "Consent",
        "id": "chc-east.c1",
        "status": "active",
        "patient": {"reference": "Patient/chc-east.p1"},
        "provision": {"type": "deny"},
    }
    inactive = {
        **consent,
        "id": "chc-east.c2",
        "status": "inactive",
        "patient": {"reference": "Patient/chc-east.p2"},
    }
    table = pa.table({"resource": [orjson.dumps(consent).decode(), orjson.dumps(inactive).decode()]})
    ws.lake.write(ws.lake.uri("integrated", "Consent"), table, mode="overwrite")
    assert FhirConsent().allows(ws, ["chc-east.p1", "chc-east.p2", "chc-east.p3"]) == {
        "chc-east.p2",
        "chc-east.p3",
    }


def test_diagnosis_names_without_their_qualifiers() -> None:
    assert name_variants("Essential (primary) hypertension") == [
        "Essential (primary) hypertension",
        "Essential hypertension",
    ]
    assert "Hyperlipidemia" in name_variants("Hyperlipidaemia, unspecified")
    assert "Asthma" in name_variants("Asthma (disorder)")
