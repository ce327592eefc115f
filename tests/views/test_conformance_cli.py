"""``medlake conformance sql-on-fhir``: output, summary line, exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlake.cli.conformance import app
from tests.conftest import SHARED

SUITE = SHARED / "reference" / "sql-on-fhir-v2" / "tests"


def write_suite(folder: Path, expected_given: list[str]) -> Path:
    """A one-test suite in the official format whose expectation we choose."""
    suite = {
        "title": "hand-made",
        "resources": [{"resourceType": "Patient", "id": "p1", "name": [{"given": ["A", "B"]}]}],
        "tests": [
            {
                "title": "given names",
                "view": {
                    "resource": "Patient",
                    "select": [{"column": [{"name": "g", "path": "name.given", "collection": True}]}],
                },
                "expect": [{"g": expected_given}],
            }
        ],
    }
    path = folder / "hand_made.json"
    path.write_text(json.dumps(suite), encoding="utf-8")
    return folder


def test_passing_suite_exits_zero(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sql-on-fhir", str(write_suite(tmp_path, ["A", "B"]))])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "1 passed, 0 failed"


def test_failures_are_listed_and_exit_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sql-on-fhir", str(write_suite(tmp_path, ["B", "A"]))])
    assert result.exit_code == 1
    assert "FAIL hand_made.json :: given names" in result.output
    assert result.output.strip().splitlines()[-1] == "0 passed, 1 failed"


def test_json_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sql-on-fhir", str(write_suite(tmp_path, ["A", "B"])), "--json"])
    assert result.exit_code == 0
    start = result.stdout.index("{")
    report = json.loads(result.stdout[start : result.stdout.rindex("}") + 1])
    assert report["passed"] == 1 and report["failed"] == 0
    assert report["results"][0]["name"] == "given names"


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sql-on-fhir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2


def test_official_suite_passes() -> None:
    if not SUITE.is_dir():
        pytest.skip(f"the SQL-on-FHIR v2 suite {SUITE} is not present (it lives in ../shared/)")
    result = CliRunner().invoke(app, ["sql-on-fhir", str(SUITE)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].endswith("passed, 0 failed")
