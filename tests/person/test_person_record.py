"""The person record end to end: a small synthetic region ingested, built, linked, then served.

Expected counts are computed here with plain SQL over the warehouse tables, independently of
the person package's own queries.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tests.conftest import built_region
from typer.testing import CliRunner

import medlake
from medlake.cli import app
from medlake.mpi import MasterPatientIndex
from medlake.person import (
    GOLDEN_TABLE,
    UnknownPersonError,
    person_record,
    refresh_person,
    refresh_serving_store,
)
from medlake.person.record import DirectReader
from medlake.person.store import PersonStore, drop_serving_store, store_url
from medlake.workspace import Workspace

RESIDENTS = 100
SEED = 20240611

#: timeline kind -> warehouse table it comes from
KIND_TABLES = {
    "encounter": "encounter",
    "condition": "condition",
    "procedure": "procedure",
    "medication": "medication_request",
    "immunization": "immunization",
    "claim": "claim",
    "payment": "explanation_of_benefit",
}


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws, _ = built_region(tmp_path_factory.mktemp("person_region"), RESIDENTS, SEED)
    link(ws)
    refresh_person(ws)
    return ws


def link(ws: Workspace) -> None:
    """Write warehouse.person_link with the master patient index."""
    MasterPatientIndex(ws).run()


def linked_patients(ws: Workspace) -> dict[str, set[str]]:
    persons: dict[str, set[str]] = {}
    for row in ws.table("warehouse.person_link", ["person_id", "patient_id"]).to_pylist():
        persons.setdefault(row["person_id"], set()).add(row["patient_id"])
    return persons


def sample_persons(ws: Workspace, n: int) -> list[str]:
    """Persons with several records first (where crossing institutions matters), then random ones."""
    persons = linked_patients(ws)
    multi = sorted(p for p, ids in persons.items() if len(ids) > 1)
    single = sorted(p for p, ids in persons.items() if len(ids) == 1)
    rng = random.Random(5)
    return multi[: n // 2] + rng.sample(single, min(len(single), n - min(len(multi), n // 2)))


def in_list(ids: set[str]) -> str:
    return ", ".join("'" + i.replace("'", "''") + "'" for i in sorted(ids))


def test_golden_table_has_one_row_per_person_and_is_catalogued(region: Workspace) -> None:
    persons = linked_patients(region)
    golden = region.table(GOLDEN_TABLE).to_pylist()
    assert sorted(g["person_id"] for g in golden) == sorted(persons)
    for g in golden:
        assert g["records"] == len(persons[g["person_id"]])
        for column, value in g.items():
            if column.endswith("_from") and value is not None:
                assert value in persons[g["person_id"]], f"{column} cites a patient of another person"
    dataset = region.catalog.dataset(GOLDEN_TABLE)
    assert dataset is not None and dataset.rows == len(persons)
    inputs = {entry.input_name for entry in region.catalog.lineage(GOLDEN_TABLE)}
    assert {"warehouse.person_link", "warehouse.person_record"} <= inputs


def test_golden_values_are_those_of_the_cited_record(region: Workspace) -> None:
    records = {r["patient_id"]: r for r in region.table("warehouse.person_record").to_pylist()}
    for g in region.table(GOLDEN_TABLE).to_pylist():
        if g["name_from"]:
            cited = records[g["name_from"]]
            assert (g["given"], g["family"]) == (cited["given"], cited["family"])
        if g["birth_date_from"]:
            assert g["birth_date"] == records[g["birth_date_from"]]["birth_date"]


@pytest.mark.slow
def test_timeline_and_series_come_from_the_persons_patients_and_count_alike(region: Workspace) -> None:
    persons = linked_patients(region)
    tables = {name.split(".", 1)[1] for name in region.tables() if name.startswith("warehouse.")}
    checked_events = 0
    for person_id in sample_persons(region, 12):
        patients = persons[person_id]
        record = person_record(region, person_id, source="store")
        assert set(record.patients["patient_id"]) == patients
        assert set(record.timeline["patient_id"]) <= patients
        assert set(record.observations["patient_id"]) <= patients
        for kind, table in KIND_TABLES.items():
            expected = 0
            if table in tables:
                expected = region.sql(
                    f"SELECT count(*) AS n FROM warehouse.{table} WHERE patient_id IN ({in_list(patients)})"
                ).to_pylist()[0]["n"]
            events = record.timeline[record.timeline["kind"] == kind]
            assert len(events) == expected, (person_id, kind)
            if expected:
                ids = region.sql(
                    f"SELECT id, patient_id FROM warehouse.{table} WHERE patient_id IN ({in_list(patients)})"
                ).to_pylist()
                assert {(r["id"], r["patient_id"]) for r in ids} == set(
                    zip(events["source_id"], events["patient_id"], strict=True)
                )
            checked_events += expected
        numeric = region.sql(
            f"""SELECT (SELECT count(*) FROM warehouse.observation
                        WHERE patient_id IN ({in_list(patients)}) AND value_quantity IS NOT NULL)
                     + (SELECT count(*) FROM warehouse.observation_component
                        WHERE patient_id IN ({in_list(patients)}) AND value_quantity IS NOT NULL) AS n"""
        ).to_pylist()[0]["n"]
        assert len(record.observations) == numeric
    assert checked_events > 0, "the sample must contain clinical events"


def test_blood_pressure_series_come_from_components(region: Workspace) -> None:
    row = region.sql(
        """SELECT l.person_id, c.value_quantity, c.observation_id FROM warehouse.observation_component c
           JOIN warehouse.person_link l USING (patient_id)
           WHERE c.loinc_code = '8480-6' ORDER BY c.observation_id LIMIT 1"""
    ).to_pylist()
    assert row, "the synthetic region records blood pressure"
    record = person_record(region, row[0]["person_id"])
    systolic = record.observations[
        (record.observations["code"] == "8480-6")
        & (record.observations["source_id"] == row[0]["observation_id"])
    ]
    assert list(systolic["name"]) == ["systolic blood pressure"]
    assert float(systolic["value"].iloc[0]) == pytest.approx(float(row[0]["value_quantity"]))
    assert int(systolic["component"].iloc[0]) >= 0
    summary = record.series_summary()
    assert int(summary.loc[summary["code"] == "8480-6", "count"].iloc[0]) == int(
        (record.observations["code"] == "8480-6").sum()
    )


def test_sqlite_store_returns_what_the_warehouse_returns(region: Workspace) -> None:
    store = PersonStore(store_url(region))
    try:
        with DirectReader(region) as direct:
            for person_id in sample_persons(region, 10):
                assert store.record(person_id).as_dict() == direct.record(person_id).as_dict()
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_store_returns_what_the_warehouse_returns(region: Workspace, postgres_url: str) -> None:
    report = refresh_serving_store(region, url=postgres_url)
    assert report.persons == len(linked_patients(region))
    store = PersonStore(postgres_url)
    try:
        with DirectReader(region) as direct:
            for person_id in sample_persons(region, 10):
                assert store.record(person_id).as_dict() == direct.record(person_id).as_dict()
        with pytest.raises(UnknownPersonError):
            store.record("nobody.0")
        # a rebuild swaps the schema: the open reader sees the new build
        again = refresh_serving_store(region, url=postgres_url)
        assert store.meta()["build_id"] == again.build_id != report.build_id
    finally:
        store.close()
        drop_serving_store(postgres_url)


class Interrupted(Exception):
    pass


def _interrupt_build_after_first_rows(ws: Workspace, url: str) -> None:
    def progress(_rows: int) -> None:
        raise Interrupted("killed mid-build")

    with pytest.raises(Interrupted):
        refresh_serving_store(ws, progress, url=url)


def test_rebuild_is_atomic_a_failed_build_leaves_the_old_store(region: Workspace, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'person.db'}"
    first = refresh_serving_store(region, url=url)
    reader = PersonStore(url)
    person_id = sample_persons(region, 2)[0]
    before = reader.record(person_id).as_dict()

    _interrupt_build_after_first_rows(region, url)
    assert reader.meta()["build_id"] == first.build_id, "the old store is still the live one"
    assert reader.record(person_id).as_dict() == before
    assert not list(tmp_path.glob("person.db.building-*")), "the half-written file was removed"

    # a file left by a build killed outright is swept by the next build, which swaps in cleanly
    (tmp_path / "person.db.building-deadbeef").write_bytes(b"half written")
    second = refresh_serving_store(region, url=url)
    assert not list(tmp_path.glob("person.db.building-*"))
    assert reader.meta()["build_id"] == second.build_id != first.build_id, "an open reader sees the new file"
    assert reader.record(person_id).as_dict() == before
    reader.close()


@pytest.mark.postgres
def test_postgres_failed_build_leaves_the_old_schema(region: Workspace, postgres_url: str) -> None:
    first = refresh_serving_store(region, url=postgres_url)
    try:
        _interrupt_build_after_first_rows(region, postgres_url)
        reader = PersonStore(postgres_url)
        assert reader.meta()["build_id"] == first.build_id
        reader.close()
    finally:
        drop_serving_store(postgres_url)


def test_unknown_id_is_a_key_error_that_says_what_ids_are(region: Workspace) -> None:
    for source in ("store", "direct"):
        with pytest.raises(KeyError) as caught:
            person_record(region, "no-such.person", source=source)  # type: ignore[arg-type]
        assert isinstance(caught.value, UnknownPersonError)
        assert "no-such.person" in str(caught.value) and "person_link" in str(caught.value)


def test_workspace_person_method(region: Workspace) -> None:
    person_id = sample_persons(region, 1)[0]
    public = medlake.open_workspace(region.home)
    assert public.person(person_id).as_dict() == person_record(region, person_id).as_dict()


def test_cli_json_is_the_full_record_and_unknown_ids_fail(region: Workspace) -> None:
    runner = CliRunner()
    person_id = sample_persons(region, 2)[0]
    result = runner.invoke(app, ["person", person_id, "--home", str(region.home), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    expected = json.loads(json.dumps(person_record(region, person_id).as_dict(), default=str))
    assert printed == expected
    assert len(printed["timeline"]) == len(person_record(region, person_id).timeline)

    human = runner.invoke(app, ["person", person_id, "--home", str(region.home)])
    assert human.exit_code == 0 and "timeline" in human.output and "observation series" in human.output

    missing = runner.invoke(app, ["person", "nobody.1", "--home", str(region.home)])
    assert missing.exit_code == 1
    assert "nobody.1" in missing.output


def test_cli_build_reports_the_store(region: Workspace) -> None:
    result = CliRunner().invoke(app, ["person", "build", "--home", str(region.home), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["golden"]["persons"] == len(linked_patients(region))
    assert report["store"]["rows"]["person_golden"] == report["golden"]["persons"]
    assert report["store"]["url"].endswith("person.db")
