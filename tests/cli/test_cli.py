"""The ``medlake`` command line, end to end over a real workspace."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from medlake.cli import app
from tests.cli.conftest import CORPUS, runner
from tests.cli.conftest import medlake_cli as medlake


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["ingest", "fhir"],
        ["build"],
        ["sql"],
        ["catalog"],
        ["quarantine"],
        ["synth"],
        ["demo"],
        ["conformance", "sql-on-fhir"],
        ["sources", "add"],
        ["sync"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    assert "Usage" in medlake(*command, "--help")


def test_commands_refuse_a_missing_workspace(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MEDLAKE_HOME", str(tmp_path / "nowhere"))
    result = runner.invoke(app, ["catalog"])
    assert result.exit_code == 1 and "medlake init" in result.output


def test_init_writes_settings_and_reports_locations(tmp_path) -> None:
    out = json.loads(medlake("init", "--home", str(tmp_path / "w"), "--json"))
    assert Path(out["settings"]).exists() and out["catalog"].startswith("sqlite:///")
    assert out["lake"] == str(tmp_path / "w" / "lake")


def test_ingest_build_query_catalog_quarantine(home) -> None:
    reports = json.loads(medlake("ingest", "fhir", str(CORPUS / "mixed.ndjson"), "-i", "hosp-a", "--json"))
    assert [(r["received"], r["stored"], r["quarantined"], r["duplicates"]) for r in reports] == [
        (11, 3, 7, 1)
    ]
    again = json.loads(medlake("ingest", "fhir", str(CORPUS / "mixed.ndjson"), "-i", "hosp-a", "--json"))
    assert again[0]["status"] == "unchanged"

    built = {t["table"]: t["rows"] for t in json.loads(medlake("build", "--json"))["built"]}
    assert built["integrated.Patient"] == 1 and built["warehouse.observation"] == 2
    again = json.loads(medlake("build", "--json"))
    assert again["built"] == [] and again["unchanged"] == len(built), "nothing new: nothing written"

    rows = json.loads(medlake("sql", "SELECT id, institution FROM warehouse.patient", "--format", "json"))
    assert rows == [{"id": "hosp-a.p1", "institution": "hosp-a"}]
    text = medlake("sql", "SELECT count(*) AS n FROM warehouse.observation", "--format", "csv")
    assert list(csv.DictReader(io.StringIO(text))) == [{"n": "2"}]

    catalog = {d["name"]: d for d in json.loads(medlake("catalog", "--json"))}
    observation = catalog["warehouse.observation"]
    assert observation["rows_by_institution"] == {"hosp-a": 2}
    assert observation["lineage"]["datasets"][0]["name"] == "integrated.Observation"
    assert catalog["integrated.Observation"]["lineage"]["batches"] == [reports[0]["batch_id"]]
    assert {c["name"] for c in observation["schema"]} >= {"institution", "id", "patient_id"}

    quarantined = json.loads(medlake("quarantine", "--json"))
    assert isinstance(quarantined, list) and len(quarantined) == 7
    assert {"institution", "batch_id", "reason", "raw", "line", "stage"} <= set(quarantined[0])
    assert json.loads(medlake("quarantine", "--json", "-i", "other")) == []


def test_sql_errors_are_clear(home) -> None:
    result = runner.invoke(app, ["sql", "SELECT * FROM warehouse.nothing"])
    assert result.exit_code == 1 and "nothing" in result.output


def test_conformance_command_closes_with_counts(tmp_path) -> None:
    from tests.conftest import shared_path

    suite = shared_path("reference/sql-on-fhir-v2/tests")
    out = medlake("conformance", "sql-on-fhir", str(suite))
    assert out.strip().splitlines()[-1].endswith("0 failed")


def test_sources_add_list_remove_and_sync(home, tmp_path) -> None:
    refused = runner.invoke(
        app, ["sources", "add", "his", "-i", "hosp-a", "--kind", "fhir", "--location", "mysql://u:pw@h/db"]
    )
    assert refused.exit_code == 1 and "${VAR}" in refused.output
    medlake(
        "sources",
        "add",
        "bulk",
        "-i",
        "hosp-a",
        "--kind",
        "fhir",
        "--location",
        str(CORPUS),
        "--schedule",
        "1h",
    )
    [listed] = json.loads(medlake("sources", "list", "--json"))
    assert (listed["id"], listed["kind"], listed["schedule"], listed["last_run"]) == (
        "bulk",
        "fhir",
        "1h",
        None,
    )
    [run] = json.loads(medlake("sync", "--json"))
    assert run["error"] is None and run["received"] == run["new"] + run["unchanged"] + run["quarantined"]
    assert json.loads(medlake("sources", "list", "--json"))[0]["last_run"] is not None
    medlake("sources", "remove", "bulk")
    assert json.loads(medlake("sources", "list", "--json")) == []


def test_ingest_per_folder_takes_a_landing_zone_in_one_job(home, tmp_path) -> None:
    landing = tmp_path / "landing"
    for institution, file in (("hosp-a", "mixed.ndjson"), ("chc-b", "patient-v2.ndjson")):
        (landing / institution).mkdir(parents=True)
        (landing / institution / file).write_bytes((CORPUS / file).read_bytes())
    (landing / "notes").mkdir()
    (landing / "notes" / "readme.txt").write_text("not an export")
    reports = json.loads(medlake("ingest", "fhir", str(landing), "--per-folder", "--json"))
    assert sorted((r["institution"], Path(r["source"]).name) for r in reports) == [
        ("chc-b", "patient-v2.ndjson"),
        ("hosp-a", "mixed.ndjson"),
    ]
    again = json.loads(medlake("ingest", "fhir", str(landing), "--per-folder", "--json"))
    assert [r["status"] for r in again] == ["unchanged", "unchanged"]
    medlake("build")
    rows = json.loads(medlake("sql", "SELECT id FROM warehouse.patient ORDER BY id", "--format", "json"))
    assert [r["id"] for r in rows] == ["chc-b.p1", "hosp-a.p1"]


@pytest.mark.parametrize("options", [[], ["-i", "hosp-a", "--per-folder"]], ids=["neither", "both"])
def test_ingest_fhir_needs_either_an_institution_or_per_folder(home, options) -> None:
    result = runner.invoke(app, ["ingest", "fhir", str(CORPUS), *options])
    assert result.exit_code == 1 and "--per-folder" in result.output
