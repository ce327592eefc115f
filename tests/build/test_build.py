"""``build_all``: views run beside the integrated layer, and a failure on either side stops the build."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from medlake.build import run as build_module
from medlake.build.run import build_all
from medlake.ingest import ingest_path
from medlake.views.library import load_library

CORPUS = Path(__file__).parents[1] / "ingest" / "corpus"


def _helpers_alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "medlake-build-views"]


def _last_build_status(workspace) -> str:
    return next(job.status for job in workspace.catalog.jobs() if job.kind == "build")


def test_every_view_waits_for_its_own_integrated_table(workspace, monkeypatch) -> None:
    """A view runs only once its resource type's integrated table is committed, and reads that
    version (the lineage the catalog records names it)."""
    ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    committed: set[str] = set()
    started_too_early: list[str] = []
    real_integrated, real_view = build_module.build_integrated, build_module.build_view

    def integrated(*args, written, **kwargs):
        def note(table):
            committed.add(table.name.split(".", 1)[1])
            written(table)

        return real_integrated(*args, written=note, **kwargs)

    def view(workspace, engine, name, definition, job_id, *rest):
        ready = definition["resource"] in committed
        table = real_view(workspace, engine, name, definition, job_id, *rest)
        if table is not None and not ready:  # None: no integrated table of its type at all
            started_too_early.append(name)
        return table

    monkeypatch.setattr(build_module, "build_integrated", integrated)
    monkeypatch.setattr(build_module, "build_view", view)
    built = {t.name: t for t in build_all(workspace)}
    assert not started_too_early
    views = [t for t in built.values() if t.name.startswith("warehouse.")]
    library = load_library().items()
    fed = {f"warehouse.{name}" for name, v in library if f"integrated.{v['resource']}" in built}
    assert fed, "the corpus feeds some views"
    assert {t.name for t in views} == fed, "no view was skipped for running before its source existed"
    for table in views:
        ((kind, source, version),) = table.inputs
        assert (kind, version) == ("dataset", built[source].version)


def test_a_failing_view_fails_the_build(workspace, monkeypatch) -> None:
    ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    real_view = build_module.build_view

    def view(workspace, engine, name, definition, job_id, *rest):
        if name == "patient":
            raise RuntimeError("the patient view broke")
        return real_view(workspace, engine, name, definition, job_id, *rest)

    monkeypatch.setattr(build_module, "build_view", view)
    with pytest.raises(RuntimeError, match="the patient view broke"):
        build_all(workspace)
    assert _last_build_status(workspace) == "failed"
    assert not _helpers_alive()


def test_a_failing_integrated_layer_stops_the_views(workspace, monkeypatch) -> None:
    ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    ran: list[str] = []
    real_view = build_module.build_view

    def integrated(*args, written, **kwargs):
        raise OSError("disk full")

    def view(workspace, engine, name, definition, job_id, *rest):
        ran.append(name)
        return real_view(workspace, engine, name, definition, job_id, *rest)

    monkeypatch.setattr(build_module, "build_integrated", integrated)
    monkeypatch.setattr(build_module, "build_view", view)
    with pytest.raises(OSError, match="disk full"):
        build_all(workspace)
    assert not ran
    assert _last_build_status(workspace) == "failed"
    assert not _helpers_alive()
