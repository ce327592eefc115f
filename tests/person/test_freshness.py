"""Derived person data is never silently stale: a build that moves its inputs says so (or
refreshes it), and ``medlake sync --chain`` runs sources → build → link → person as one job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import built_region
from typer.testing import CliRunner

from medlake.build.run import build_all
from medlake.chain import CHAIN_JOB, refresh_person_tables, run_chain
from medlake.cli import app
from medlake.ingest import ingest_path
from medlake.mpi import MasterPatientIndex
from medlake.mpi.publish import PERSON_LINK
from medlake.person import GOLDEN_TABLE, refresh_person
from medlake.person.freshness import SERVING_STORE, stale_person_tables


def _linked_region(base: Path):
    ws, region = built_region(base, residents=40, seed=7, exclude=("chc-west",))
    MasterPatientIndex(ws).run()
    refresh_person(ws)
    assert stale_person_tables(ws) == []
    return ws, region


def _linked_institutions(ws) -> set[str]:
    return set(ws.table(PERSON_LINK, ["institution"]).column(0).to_pylist())


@pytest.mark.slow
def test_a_build_that_moves_their_inputs_marks_the_person_tables_stale_then_refreshes_them(tmp_path) -> None:
    ws, region = _linked_region(tmp_path)
    ingest_path(ws, region / "chc-west", "chc-west")
    result = CliRunner().invoke(app, ["build", "--home", str(ws.home), "--no-person"])
    assert result.exit_code == 0, result.output
    stale = {s.name: s for s in stale_person_tables(ws)}
    assert set(stale) == {PERSON_LINK, GOLDEN_TABLE, SERVING_STORE}
    assert any(name == "warehouse.person_record" for name, _, _ in stale[PERSON_LINK].moved)
    assert "stale: warehouse.person_link is stale" in result.output
    assert "medlake link run" in result.output
    catalog_text = CliRunner().invoke(app, ["catalog", "--home", str(ws.home)]).output
    assert "stale: person serving store is stale" in catalog_text
    listed = CliRunner().invoke(app, ["catalog", "--home", str(ws.home), "--json"]).output
    entries = {e["name"]: e for e in json.loads(listed)}
    assert {m["input"] for m in entries[PERSON_LINK]["stale"]} >= {"warehouse.person_record"}
    assert entries["warehouse.patient"]["stale"] == []
    assert "chc-west" not in _linked_institutions(ws)

    outcome = refresh_person_tables(ws)
    assert outcome.linked is not None and outcome.rebuilt is not None
    assert outcome.stale_after == [] and stale_person_tables(ws) == []
    assert "chc-west" in _linked_institutions(ws)
    # nothing moved since: nothing to refresh, nothing linked
    again = refresh_person_tables(ws)
    assert again.stale_before == [] and again.linked is None


@pytest.mark.slow
def test_sync_chain_runs_sources_build_link_and_person_as_one_job(tmp_path) -> None:
    ws, region = _linked_region(tmp_path)
    ws.catalog.add_source("chc-west-export", "chc-west", "fhir", str(region / "chc-west"))
    report = run_chain(ws)
    assert report.failed_sources == [] and report.runs[0].new > 0
    assert "integrated.Patient" in {t.name for t in report.built}
    assert report.person.linked is not None and report.person.stale_after == []
    assert "chc-west" in _linked_institutions(ws)
    job = next(j for j in ws.catalog.jobs() if j.kind == CHAIN_JOB)
    assert job.status == "succeeded"
    assert job.details["person"] == {"linked": True, "rebuilt": True, "stale": []}
    assert job.details["sources"][0]["source"] == "chc-west-export"
    # a second pass: the source brings nothing new, the build writes nothing, nothing is relinked
    second = run_chain(ws)
    assert second.built == [] and second.person.linked is None
    assert len([j for j in ws.catalog.jobs() if j.kind == CHAIN_JOB]) == 2
    assert build_all(ws) == []
