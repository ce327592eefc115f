"""A workspace's own views (the ``views_dir`` setting): added to the library, replacing a
library view of the same name, and checked when loaded so a broken file stops the build
before any table is rewritten, with the file named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlake.build.run import build_all
from medlake.cli import app
from medlake.ingest import ingest_path
from medlake.views import ViewDefinitionError
from medlake.views.library import load_library

CORPUS = Path(__file__).parents[1] / "ingest" / "corpus"

HEART_RATE = {
    "resourceType": "ViewDefinition",
    "name": "heart_rate",
    "status": "active",
    "description": "One row per heart-rate observation (LOINC 8867-4).",
    "resource": "Observation",
    "where": [{"path": "code.coding.where(system = 'http://loinc.org' and code = '8867-4').exists()"}],
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()", "type": "id"},
                {"name": "patient_id", "path": "subject.getReferenceKey(Patient)", "type": "id"},
                {"name": "beats_per_minute", "path": "value.ofType(Quantity).value", "type": "decimal"},
            ]
        }
    ],
}


def _with_column(view: dict, column: dict) -> dict:
    copied = json.loads(json.dumps(view))
    copied["select"][0]["column"].append(column)
    return copied


#: the library's patient view with one more column: a replacement keeps the library's columns
WIDER_PATIENT = _with_column(
    load_library()["patient"], {"name": "first_prefix", "path": "name.prefix.first()", "type": "string"}
)


def write(folder: Path, view: dict, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or view['name']}.json"
    path.write_text(json.dumps(view), encoding="utf-8")
    return path


def test_views_are_added_and_replace_library_views_of_the_same_name(tmp_path: Path) -> None:
    write(tmp_path, HEART_RATE)
    write(tmp_path, WIDER_PATIENT)
    library, merged = load_library(), load_library(tmp_path)
    assert set(merged) == set(library) | {"heart_rate"}
    assert merged["heart_rate"] == HEART_RATE
    assert merged["patient"] == WIDER_PATIENT != library["patient"]
    assert list(merged) == sorted(merged)


def test_a_replacement_must_keep_the_library_views_columns(tmp_path: Path) -> None:
    narrower = json.loads(json.dumps(load_library()["person_record"]))
    narrower["select"][0]["column"] = [
        c for c in narrower["select"][0]["column"] if c["name"] != "national_id"
    ]
    write(tmp_path, narrower)
    with pytest.raises(ViewDefinitionError, match="lacks its columns national_id"):
        load_library(tmp_path)


def _broken(view: dict, **changes: object) -> dict:
    return json.loads(json.dumps(view)) | changes


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        ("heart_rate", "{not json", "is not valid JSON"),
        (
            "heart_rate",
            json.dumps(_broken(HEART_RATE, name="pulse")),
            "must be a ViewDefinition named 'heart_rate'",
        ),
        (
            "Heart-Rate",
            json.dumps(_broken(HEART_RATE, name="Heart-Rate")),
            "lower-case letters, digits and _",
        ),
        ("person_link", json.dumps(_broken(HEART_RATE, name="person_link")), "written by medlake itself"),
        ("heart_rate", json.dumps(_broken(HEART_RATE, resource="Heartbeat")), "Heartbeat"),
        (
            "heart_rate",
            json.dumps(_broken(HEART_RATE, select=[{"column": [{"name": "id", "path": "id.where("}]}])),
            "heart_rate.json",
        ),
        (
            "heart_rate",
            json.dumps(
                _broken(HEART_RATE, select=[{"column": [{"name": "id", "path": "subjcet.reference"}]}])
            ),
            "has no element 'subjcet'",
        ),
    ],
)
def test_a_broken_view_file_is_refused_with_the_file_named(
    tmp_path: Path, file_name: str, content: str, message: str
) -> None:
    folder = tmp_path / "views"
    folder.mkdir()
    (folder / f"{file_name}.json").write_text(content, encoding="utf-8")
    with pytest.raises(ViewDefinitionError) as error:
        load_library(folder)
    assert message in str(error.value)
    assert str(folder / f"{file_name}.json") in str(error.value)


def test_a_views_dir_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ViewDefinitionError, match="is not a folder"):
        load_library(tmp_path / "nowhere")


def test_the_build_runs_the_workspace_views(make_workspace, tmp_path: Path) -> None:
    workspace = make_workspace(views_dir="my-views")  # relative: under the workspace directory
    write(workspace.home / "my-views", HEART_RATE)
    write(workspace.home / "my-views", WIDER_PATIENT)
    ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    built = {t.name for t in build_all(workspace)}
    assert {"warehouse.heart_rate", "warehouse.patient", "warehouse.observation"} <= built
    heart = workspace.table("warehouse.heart_rate").to_pylist()
    # the library's observation view (tested on its own) finds the same heart rates
    observations = workspace.table("warehouse.observation").to_pylist()
    expected = {(r["id"], r["value_quantity"]) for r in observations if r["loinc_code"] == "8867-4"}
    assert {(r["id"], r["beats_per_minute"]) for r in heart} == expected
    assert ("hosp-a.o1", 72) in expected and len(heart) == len(expected)
    assert "first_prefix" in workspace.table("warehouse.patient").column_names


def test_a_broken_view_stops_the_build_before_any_table_is_written(make_workspace) -> None:
    workspace = make_workspace(views_dir="my-views")
    write(workspace.home / "my-views", _broken(HEART_RATE, resource="Heartbeat"), "heart_rate")
    ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    with pytest.raises(ViewDefinitionError, match=r"heart_rate\.json"):
        build_all(workspace)
    assert workspace.tables() == [] or all(
        not t.startswith(("integrated.", "warehouse.")) for t in workspace.tables()
    )
    assert not [job for job in workspace.catalog.jobs() if job.kind == "build"], "no build job was started"


def test_the_command_line_says_which_file_in_one_line(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "ws"
    monkeypatch.setenv("MEDLAKE_HOME", str(home))
    monkeypatch.setenv("MEDLAKE_INGEST_WORKERS", "1")
    monkeypatch.setenv("MEDLAKE_VIEWS_DIR", str(tmp_path / "views"))
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    write(tmp_path / "views", _broken(HEART_RATE, name="pulse"), "heart_rate")
    result = runner.invoke(app, ["build"])
    assert result.exit_code == 1, result.output
    assert "heart_rate.json" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
