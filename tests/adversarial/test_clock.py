"""Clock errors cannot freeze a record: a ``meta.lastUpdated`` far past its arrival is not trusted.

A version stamped 2099 by a sender with a wrong clock would stay current until 2099, whatever
correction followed. The policy: a ``meta.lastUpdated`` up to ``last_updated_tolerance`` seconds
after the version arrived is trusted (clocks drift a little); beyond, the version ranks by its
arrival (as the newest of the versions received before it), and ``medlake quarantine --warnings``
reports it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from typer.testing import CliRunner

from medlake.build.run import build_all
from medlake.cli import app
from medlake.ingest import ingest_path
from medlake.ingest.warnings import data_quality_warnings


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _send(workspace, folder: Path, name: str, gender: str, last_updated: str) -> None:
    path = folder / f"{name}.ndjson"
    patient = {"resourceType": "Patient", "id": "p1", "meta": {"lastUpdated": last_updated}, "gender": gender}
    path.write_bytes(orjson.dumps(patient) + b"\n")
    [report] = ingest_path(workspace, path, "hosp-c")
    assert report.stored == 1


def _current_gender(workspace) -> str:
    [text] = workspace.sql("SELECT resource FROM integrated.Patient").column(0).to_pylist()
    return json.loads(text)["gender"]


def test_a_correction_replaces_a_version_from_2099(workspace, tmp_path) -> None:
    _send(workspace, tmp_path, "wrong-clock", "male", "2099-01-01T00:00:00Z")
    _send(workspace, tmp_path, "correction", "female", _stamp(datetime.now(UTC)))
    build_all(workspace)
    assert _current_gender(workspace) == "female"
    [warning] = data_quality_warnings(workspace)
    assert warning["kind"] == "clock" and warning["resource_id"] == "p1"
    assert warning["source_file"].endswith("wrong-clock.ndjson")
    assert "meta.lastUpdated 2099-01-01T00:00:00+00:00 is 7" in warning["warning"]
    assert "not trusted, the version ranks as the newest of those received before it" in warning["warning"]


def test_a_correction_dated_before_the_wrong_version_arrived_still_replaces_it(workspace, tmp_path) -> None:
    """A distrusted version ranks as the newest of those received before it: a delayed older
    version does not displace it, and a correction carrying its true (earlier) date does."""
    now = datetime.now(UTC)
    _send(workspace, tmp_path, "first", "other", _stamp(now - timedelta(days=2)))
    _send(workspace, tmp_path, "wrong-clock", "male", "2099-01-01T00:00:00Z")
    _send(workspace, tmp_path, "delayed-older", "unknown", _stamp(now - timedelta(days=3)))
    build_all(workspace)
    assert _current_gender(workspace) == "male"
    _send(workspace, tmp_path, "correction", "female", _stamp(now - timedelta(days=1)))
    build_all(workspace)
    assert _current_gender(workspace) == "female"


def test_a_clock_a_little_fast_is_still_trusted(workspace, tmp_path) -> None:
    """Within the tolerance (an hour by default) lastUpdated decides, as it always did: a version
    stamped 30 minutes ahead stays current against an older one that arrives later."""
    now = datetime.now(UTC)
    _send(workspace, tmp_path, "fast-clock", "male", _stamp(now + timedelta(minutes=30)))
    _send(workspace, tmp_path, "older", "female", _stamp(now - timedelta(days=1)))
    build_all(workspace)
    assert _current_gender(workspace) == "male"
    assert data_quality_warnings(workspace) == []


def test_the_tolerance_is_a_setting(make_workspace, tmp_path) -> None:
    workspace = make_workspace(last_updated_tolerance=0)
    now = datetime.now(UTC)
    _send(workspace, tmp_path, "fast-clock", "male", _stamp(now + timedelta(minutes=30)))
    _send(workspace, tmp_path, "later", "female", _stamp(now - timedelta(days=1)))
    build_all(workspace)
    assert _current_gender(workspace) == "female", "distrusted, the first version ranks by its arrival"
    [warning] = data_quality_warnings(workspace)
    assert "beyond the 0 s tolerance" in warning["warning"]


def test_the_warnings_command_lists_them_and_the_quarantine_stays_empty(workspace, tmp_path) -> None:
    _send(workspace, tmp_path, "wrong-clock", "male", "2099-01-01T00:00:00Z")
    runner = CliRunner()
    home = ["--home", str(workspace.home)]
    listed = runner.invoke(app, ["quarantine", "--warnings", "--json", *home])
    assert listed.exit_code == 0, listed.output
    [warning] = json.loads(listed.output)
    assert warning["kind"] == "clock" and warning["institution"] == "hosp-c"
    rejected = runner.invoke(app, ["quarantine", "--json", *home])
    assert rejected.exit_code == 0 and json.loads(rejected.output) == []
