"""The integrated layer: current versions, ids namespaced per institution, references rewritten."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from medlake.build.integrated import build_integrated
from medlake.build.namespacing import namespace_resource, split_global_id
from medlake.ingest import ingest_path

CORPUS = Path(__file__).parents[1] / "ingest" / "corpus"


def _integrated(workspace) -> dict[str, list[dict]]:
    with workspace.engine() as engine:
        built = build_integrated(workspace, engine, job_id="test")
    return {t.name: workspace.lake.read(t.uri).to_pylist() for t in built}


def test_two_institutions_same_local_ids_never_collide(workspace) -> None:
    ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    ingest_path(workspace, CORPUS / "mixed.ndjson", "chc-b")
    tables = _integrated(workspace)
    ids = sorted(row["id"] for row in tables["integrated.Patient"])
    assert ids == ["chc-b.p1", "hosp-a.p1"]
    for row in tables["integrated.Observation"]:
        resource = orjson.loads(row["resource"])
        assert resource["id"] == row["id"] and split_global_id(row["id"]) == (
            row["institution"],
            row["local_id"],
        )
        subject = resource["subject"]["reference"]
        assert subject.startswith(f"Patient/{row['institution']}."), "references follow their institution"


def test_newest_version_wins_whatever_the_arrival_order(make_workspace) -> None:
    newer_first, older_first = make_workspace(), make_workspace()
    ingest_path(newer_first, CORPUS / "patient-v2.ndjson", "hosp-a")
    ingest_path(newer_first, CORPUS / "mixed.ndjson", "hosp-a")
    ingest_path(older_first, CORPUS / "mixed.ndjson", "hosp-a")
    ingest_path(older_first, CORPUS / "patient-v2.ndjson", "hosp-a")
    for ws in (newer_first, older_first):
        [patient] = _integrated(ws)["integrated.Patient"]
        assert patient["version_id"] == "2"
        assert orjson.loads(patient["resource"])["name"][0]["family"] == "Ng-Lee"


def test_conditional_references_resolve_to_the_identified_resource() -> None:
    resource = {
        "resourceType": "Encounter",
        "id": "e1",
        "serviceProvider": {"reference": "Organization?identifier=https://x|42"},
        "participant": [{"individual": {"reference": "Practitioner?identifier=npi|7"}}],
        "subject": {"reference": "https://elsewhere.example/fhir/Patient/9"},
    }
    out = orjson.loads(
        namespace_resource(orjson.dumps(resource).decode(), "hosp-a", {"Organization?https://x|42": "org-1"})
    )
    assert out["id"] == "hosp-a.e1"
    assert out["serviceProvider"]["reference"] == "Organization/hosp-a.org-1"
    assert out["participant"][0]["individual"]["reference"] == "Practitioner?identifier=npi|7", (
        "unknown: kept"
    )
    assert out["subject"]["reference"] == "https://elsewhere.example/fhir/Patient/9", "absolute: kept"


def test_synthea_bundles_conditional_references_all_resolve(workspace) -> None:
    from tests.conftest import shared_path

    ingest_path(workspace, shared_path("reference/synthea-bundles"), "synthea")
    encounters = _integrated(workspace)["integrated.Encounter"]
    providers = {orjson.loads(r["resource"])["serviceProvider"]["reference"] for r in encounters}
    assert providers and all(p.startswith("Organization/synthea.") for p in providers)


def test_engine_and_python_namespacing_agree(workspace) -> None:
    """The SQL rewrite (fast path) and the Python rewrite (fallback) give identical JSON."""
    from medlake.build.namespacing import namespace_sql
    from tests.conftest import shared_path

    ingest_path(workspace, shared_path("reference/synthea-bulk-10-patients"), "hosp-a")
    raw = workspace.lake.read(
        workspace.lake.uri("raw", "resources"), ["institution", "resource_type", "resource"]
    )
    with workspace.engine() as engine:
        engine.register("raw", raw)
        sql = namespace_sql(engine.dialect, "resource", "institution", "resource_type")
        rows = engine.sql(f"SELECT institution, resource, {sql} AS namespaced FROM raw").to_pylist()
    rows.append(
        {"institution": "hosp-a", "resource": '{"id":"x","resourceType":"Patient"}', "namespaced": None}
    )
    assert sum(r["namespaced"] is not None for r in rows) == raw.num_rows, "every raw row takes the fast path"
    for row in rows:
        python = namespace_resource(row["resource"], row["institution"], {})
        if row["namespaced"] is not None:
            assert row["namespaced"] == python
        else:
            assert orjson.loads(python)["id"] == "hosp-a.x"


ODD_AND_PLAIN_REFERENCES = [
    ("Patient/p1", True),
    ("Patient/p1/_history/2", False),
    ("Patient/", False),
    ("Patient/" + "a" * 64, True),
    ("Patient/" + "a" * 65, False),
    ("Patient/a b", False),
    ("Patient/a\\u00e9", False),
    ("http://other.example/fhir/Patient/1", True),
    ("#contained", True),
    ("patient/1", True),
    ("urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427", True),
]


@pytest.mark.parametrize(("reference", "engine_rewrites"), ODD_AND_PLAIN_REFERENCES)
def test_engine_rewrites_a_row_only_as_python_would(workspace, reference, engine_rewrites) -> None:
    """Rows whose relative references LITERAL would not take are left to Python (NULL), never
    rewritten differently; rows with only literal, absolute or contained ones are rewritten."""
    from medlake.build.namespacing import namespace_sql

    text = (
        '{"resourceType":"Observation","id":"o1","status":"final",'
        '"subject":{"reference":"Patient/p9"},"performer":[{"reference":"' + reference + '"}]}'
    )
    with workspace.engine() as engine:
        engine.register("rows", pa.table({"institution": ["hosp-a"], "resource": [text]}))
        sql = namespace_sql(engine.dialect, "resource", "institution", "'Observation'")
        namespaced = engine.sql(f"SELECT {sql} AS namespaced FROM rows").column(0)[0].as_py()
    python = namespace_resource(text, "hosp-a", {})
    assert (namespaced is not None) == engine_rewrites
    if namespaced is not None:
        assert namespaced == python
    assert orjson.loads(python)["subject"]["reference"] == "Patient/hosp-a.p9"
