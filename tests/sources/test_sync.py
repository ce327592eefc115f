"""Registered sources and ``medlake sync``: incremental runs, schedules, secrets kept out of the catalog."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from medlake import secrets
from medlake.sources.sync import is_due, parse_interval, sync

CORPUS = Path(__file__).parents[1] / "ingest" / "corpus"


def test_sync_runs_each_source_incrementally(workspace, tmp_path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(CORPUS / "mixed.ndjson", drop)
    workspace.catalog.add_source("hosp-a-bulk", "hosp-a", "fhir", str(drop), schedule="1h")
    [first] = sync(workspace)
    assert (first.batches, first.received, first.new, first.quarantined) == (1, 11, 3, 7)
    [second] = sync(workspace)
    assert (second.new, second.unchanged, second.quarantined) == (0, 11, 0), "nothing new on a second run"
    shutil.copy(CORPUS / "patient-v2.ndjson", drop)
    [third] = sync(workspace)
    assert (third.batches, third.new) == (2, 1)


def test_one_failing_source_does_not_stop_the_others(workspace, tmp_path) -> None:
    workspace.catalog.add_source("broken", "hosp-a", "fhir", str(tmp_path / "missing"))
    workspace.catalog.add_source("good", "hosp-b", "fhir", str(CORPUS / "bom-crlf.ndjson"))
    runs = {r.source: r for r in sync(workspace)}
    assert runs["broken"].error and "missing" in runs["broken"].error
    assert runs["good"].error is None and runs["good"].new == 1


def test_schedules(workspace) -> None:
    assert parse_interval("15m") == timedelta(minutes=15)
    with pytest.raises(ValueError, match="interval"):
        parse_interval("every day")
    source = workspace.catalog.add_source("s", "hosp-a", "fhir", "/nowhere", schedule="1h")
    assert is_due(workspace, source)
    workspace.catalog.set_state("s", "sync.last_run", datetime.now(UTC).isoformat())
    assert not is_due(workspace, source)
    assert is_due(workspace, source, now=datetime.now(UTC) + timedelta(hours=2))


def test_secrets_are_resolved_at_run_time_and_never_stored(workspace, monkeypatch) -> None:
    location = "postgresql://reader:${HIS_PASSWORD}@db.example/his"
    assert not secrets.contains_literal_secret(location)
    assert secrets.contains_literal_secret("postgresql://reader:hunter2@db.example/his")
    with pytest.raises(secrets.MissingSecret, match="HIS_PASSWORD"):
        secrets.resolve(location, workspace.home)
    (workspace.home / "secrets.toml").write_text('HIS_PASSWORD = "from-file"\n')
    assert secrets.resolve(location, workspace.home).endswith("reader:from-file@db.example/his")
    monkeypatch.setenv("HIS_PASSWORD", "s3cret!")
    assert "s3cret!" in secrets.resolve(location, workspace.home)
    assert (
        secrets.redact("mysql+pymysql://reader:s3cret!@host/db failed")
        == "mysql+pymysql://reader:***@host/db failed"
    )

    workspace.catalog.add_source("his", "hosp-a", "fhir", location)
    with workspace.catalog.engine.connect() as con:
        dump = " ".join(str(row) for row in con.execute(text("SELECT * FROM sources")))
    assert "s3cret!" not in dump and "${HIS_PASSWORD}" in dump
