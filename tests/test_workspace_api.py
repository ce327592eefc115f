"""The analyst's Python API, on the embedded default and with the catalog in PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

import medlake
from medlake.build.run import build_all
from medlake.ingest import ingest_path
from medlake.workspace import WorkspaceError

CORPUS = Path(__file__).parent / "ingest" / "corpus"


def _load(ws) -> None:
    ingest_path(ws, CORPUS / "mixed.ndjson", "hosp-a")
    ingest_path(ws, CORPUS / "patient-v2.ndjson", "chc-b")
    build_all(ws)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_open_list_read_and_query(backend, make_workspace, request) -> None:
    settings = {"catalog_url": request.getfixturevalue("postgres_url")} if backend == "postgres" else {}
    ws = make_workspace(**settings)
    _load(ws)
    again = medlake.open_workspace(ws.home)
    assert again.settings.resolved_catalog_url == ws.settings.resolved_catalog_url
    tables = again.tables()
    assert {"raw.resources", "raw.quarantine", "integrated.Patient", "warehouse.patient"} <= set(tables)

    patients = again.table("warehouse.patient").to_pandas().sort_values("id")
    assert list(patients["id"]) == ["chc-b.p1", "hosp-a.p1"]
    assert list(patients["institution"]) == ["chc-b", "hosp-a"]

    counts = again.sql(
        "SELECT p.institution, count(o.id) AS n FROM warehouse.patient p "
        "LEFT JOIN warehouse.observation o ON o.patient_id = p.id GROUP BY ALL ORDER BY 1"
    ).to_pylist()
    assert counts == [{"institution": "chc-b", "n": 0}, {"institution": "hosp-a", "n": 1}]

    with pytest.raises(WorkspaceError, match=r"no table 'warehouse\.nothing'"):
        again.table("warehouse.nothing")
    with pytest.raises(WorkspaceError, match=r"layer\.name"):
        again.table("patient")


def test_open_refuses_a_missing_workspace(tmp_path) -> None:
    with pytest.raises(WorkspaceError, match="medlake init"):
        medlake.open_workspace(tmp_path / "none")


def test_environment_overrides_the_settings_file(make_workspace, monkeypatch) -> None:
    ws = make_workspace(engine_threads=1)
    monkeypatch.setenv("MEDLAKE_ENGINE_THREADS", "2")
    assert medlake.open_workspace(ws.home).settings.engine_threads == 2
    monkeypatch.delenv("MEDLAKE_ENGINE_THREADS")
    assert medlake.open_workspace(ws.home).settings.engine_threads == 1
