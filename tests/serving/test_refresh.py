"""Refreshing the serving index: incremental, crash-safe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from medlake.api import Workspace
from medlake.build.run import build_all
from medlake.ingest import ingest_path
from medlake.serving import ServingIndex, parse_search
from medlake.serving import refresh as refresh_module
from medlake.serving.schema import resources, tokens
from tests.conftest import built_region
from tests.serving.conftest import EVERYTHING


@pytest.fixture(scope="module")
def small_region(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path]:
    ws, region = built_region(tmp_path_factory.mktemp("refresh_region"), residents=6, seed=11)
    return Workspace(ws.settings), region


def total(index: ServingIndex, resource_type: str, params: list[tuple[str, str]]) -> int:
    return index.search(parse_search(resource_type, params), EVERYTHING).total


def integrated_count(ws: Workspace, resource_type: str) -> int:
    return ws.table(f"integrated.{resource_type}", ["id"]).num_rows


def send_new_version(
    ws: Workspace, folder: Path, institution: str, patient: dict, family: str, stamp: str
) -> None:
    """Deliver a corrected Patient, as an institution would, and rebuild."""
    changed = json.loads(json.dumps(patient))
    changed["id"] = patient["id"].split(".", 1)[1]
    changed["name"][0]["family"] = family
    changed["meta"] = {"lastUpdated": stamp, "versionId": "99"}
    delivery = folder / f"{family}.ndjson"
    delivery.write_text(json.dumps(changed) + "\n")
    ingest_path(ws, delivery, institution)
    build_all(ws)


def duplicate_rows(index: ServingIndex) -> int:
    keys = [tokens.c.type, tokens.c.id, tokens.c.param, tokens.c.system, tokens.c.code]
    grouped = select(*keys).group_by(*keys).having(func.count() > 1).subquery()
    with index.engine.connect() as con:
        return con.execute(select(func.count()).select_from(grouped)).scalar_one()


def check_refresh(ws: Workspace, index: ServingIndex, folder: Path, family: str) -> None:
    first = index.refresh()
    for resource_type in ("Patient", "Encounter", "Observation"):
        assert first.indexed[resource_type] == integrated_count(ws, resource_type)
        assert total(index, resource_type, []) == integrated_count(ws, resource_type)
    assert index.refresh().indexed == {}  # nothing changed: nothing re-read

    patient = index.search(parse_search("Patient", [("_count", "1")]), EVERYTHING).matches[0].resource
    institution = patient["id"].split(".", 1)[0]
    old_family = patient["name"][0]["family"]
    assert old_family != family
    send_new_version(ws, folder, institution, patient, family, "2099-01-01T00:00:00Z")
    second = index.refresh()
    assert second.indexed == {"Patient": 1}  # only the changed resource is evaluated again
    assert total(index, "Patient", [("family", family.lower())]) == 1
    assert total(index, "Patient", [("_id", patient["id"]), ("family:exact", old_family)]) == 0
    assert total(index, "Patient", []) == integrated_count(ws, "Patient")
    assert duplicate_rows(index) == 0


def test_refresh_is_incremental_on_sqlite(small_region: tuple[Workspace, Path], tmp_path: Path) -> None:
    ws, _ = small_region
    index = ServingIndex(ws, f"sqlite:///{tmp_path / 'serving.db'}")
    check_refresh(ws, index, tmp_path, "Sqlitecorrected")


@pytest.mark.postgres
def test_refresh_is_incremental_on_postgresql(
    small_region: tuple[Workspace, Path], tmp_path: Path, postgres_url: str
) -> None:
    ws, _ = small_region
    index = ServingIndex(ws, postgres_url)
    try:
        check_refresh(ws, index, tmp_path, "Postgrescorrected")
        with index.engine.connect() as con:  # it really is PostgreSQL's table
            assert con.execute(text("SELECT count(*) FROM fhir_resource")).scalar_one() > 0
            assert con.execute(text("SELECT version()")).scalar_one().startswith("PostgreSQL")
    finally:
        index.close()


def test_a_crash_mid_refresh_leaves_the_index_as_it_was(
    small_region: tuple[Workspace, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, _ = small_region
    index = ServingIndex(ws, f"sqlite:///{tmp_path / 'serving.db'}")
    index.refresh()
    with index.engine.connect() as con:
        before = con.execute(select(func.count()).select_from(resources)).scalar_one()
    patient = index.search(parse_search("Patient", [("_count", "1")]), EVERYTHING).matches[0].resource
    institution = patient["id"].split(".", 1)[0]
    send_new_version(ws, tmp_path, institution, patient, "Crashtest", "2099-02-01T00:00:00Z")

    real = refresh_module.index_rows

    def crash(resource: dict):  # type: ignore[no-untyped-def]
        raise RuntimeError("power cut")

    monkeypatch.setattr(refresh_module, "index_rows", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        index.refresh(full=False)
    # the Patient type was being replaced in one transaction: it is as before the refresh
    assert total(index, "Patient", [("family", "crashtest")]) == 0
    with index.engine.connect() as con:
        assert con.execute(select(func.count()).select_from(resources)).scalar_one() == before
    monkeypatch.setattr(refresh_module, "index_rows", real)
    assert index.refresh().indexed == {"Patient": 1}  # the next refresh carries on
    assert total(index, "Patient", [("family", "crashtest")]) == 1
    assert duplicate_rows(index) == 0
    assert total(index, "Patient", []) == integrated_count(ws, "Patient")


def test_persons_come_from_person_link(small_region: tuple[Workspace, Path], tmp_path: Path) -> None:
    from medlake.mpi import MasterPatientIndex

    ws, _ = small_region
    index = ServingIndex(ws, f"sqlite:///{tmp_path / 'serving.db'}")
    index.refresh()
    with index.engine.connect() as con:
        assert con.execute(select(func.count()).where(resources.c.person_id.is_not(None))).scalar_one() == 0
    MasterPatientIndex(ws).run()
    report = index.refresh()
    assert report.persons_relinked and report.indexed == {}  # no resource re-read, only relinked
    link = {
        (r["patient_id"] if "." in r["patient_id"] else f"{r['institution']}.{r['patient_id']}"): r[
            "person_id"
        ]
        for r in ws.table("warehouse.person_link").to_pylist()
    }
    with index.engine.connect() as con:
        rows = con.execute(select(resources.c.type, resources.c.patient_id, resources.c.person_id)).all()
    clinical = [r for r in rows if r.patient_id is not None]
    assert clinical and all(r.person_id == link.get(r.patient_id) for r in clinical)
    assert all(r.person_id is None for r in rows if r.type in ("Organization", "Practitioner"))
