"""The catalog on both backends: SQLite (embedded) and the real PostgreSQL server."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from medlake.catalog import Catalog
from medlake.catalog.models import Base
from medlake.catalog.store import LineageInput


def test_migrations_match_models(catalog: Catalog) -> None:
    """Every model change must come with a migration: autogenerate finds no difference."""
    with catalog.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert {"institutions", "jobs", "batches", "datasets", "lineage"} <= set(
        inspect(catalog.engine).get_table_names()
    )


def test_migrate_twice_is_harmless(catalog: Catalog) -> None:
    catalog.ensure_institution("hosp-a", "Hospital A", "hospital")
    catalog.migrate()
    assert [i.id for i in catalog.institutions()] == ["hosp-a"]


def test_batch_lifecycle_reconciles(catalog: Catalog) -> None:
    catalog.ensure_institution("chc-1")
    job = catalog.start_job("ingest")
    first = catalog.open_batch("b1", "chc-1", "fhir", "/data/x.ndjson", "ab" * 32, job)
    again = catalog.open_batch("b1", "chc-1", "fhir", "/data/x.ndjson", "ab" * 32, job)
    assert again.started_at == first.started_at, "a re-opened batch keeps its first start time"
    with pytest.raises(ValueError, match="does not reconcile"):
        catalog.close_batch(
            "b1",
            received=10,
            stored=5,
            quarantined=1,
            duplicates=1,
            unresolved_references=0,
            unresolved_sample=[],
        )
    closed = catalog.close_batch(
        "b1",
        received=10,
        stored=8,
        quarantined=1,
        duplicates=1,
        unresolved_references=2,
        unresolved_sample=["a", "b"],
    )
    assert closed.status == "committed"
    assert [(b.id, b.stored, b.unresolved_sample) for b in catalog.batches("chc-1")] == [
        ("b1", 8, ["a", "b"])
    ]
    catalog.finish_job(job, "succeeded", {"n": 1})
    assert catalog.jobs()[0].status == "succeeded"


def test_a_job_block_ends_succeeded_with_its_summary_or_failed(catalog: Catalog) -> None:
    with catalog.job("build", {"asked": "all"}) as job:
        assert catalog.jobs()[0].status == "running"
        job.summary["tables"] = ["warehouse.patient"]
    with pytest.raises(KeyboardInterrupt), catalog.job("ingest") as failing:
        raise KeyboardInterrupt  # what a kill signal turns into: the job still says it failed
    by_id = {j.id: j for j in catalog.jobs()}
    assert by_id[job.id].status == "succeeded" and by_id[job.id].finished_at is not None
    assert by_id[job.id].details == {"asked": "all", "tables": ["warehouse.patient"]}
    assert by_id[failing.id].status == "failed" and by_id[failing.id].details is None


def test_dataset_versions_replace_lineage(catalog: Catalog) -> None:
    job = catalog.start_job("build")
    common = {"layer": "warehouse", "location": "warehouse/patient", "schema": [], "job_id": job}
    catalog.record_dataset(
        name="warehouse.patient",
        version=1,
        rows=3,
        rows_by_institution={"a": 3},
        inputs=[LineageInput("dataset", "integrated.Patient", 4)],
        **common,
    )
    catalog.record_dataset(
        name="warehouse.patient",
        version=2,
        rows=5,
        rows_by_institution={"a": 3, "b": 2},
        inputs=[LineageInput("dataset", "integrated.Patient", 5), LineageInput("batch", "b9")],
        **common,
    )
    dataset = catalog.dataset("warehouse.patient")
    assert (dataset.version, dataset.rows, dataset.rows_by_institution) == (2, 5, {"a": 3, "b": 2})
    lineage = [
        (x.input_kind, x.input_name, x.input_version, x.dataset_version)
        for x in catalog.lineage("warehouse.patient")
    ]
    assert lineage == [("dataset", "integrated.Patient", 5, 2), ("batch", "b9", None, 2)]


def test_appended_tables_accumulate_lineage(catalog: Catalog) -> None:
    common = {
        "layer": "raw",
        "location": "raw/resources",
        "schema": [],
        "job_id": None,
        "rows_by_institution": {},
    }
    catalog.record_dataset(
        name="raw.resources",
        version=1,
        rows=1,
        inputs=[LineageInput("batch", "b1")],
        append_lineage=True,
        **common,
    )
    catalog.record_dataset(
        name="raw.resources",
        version=2,
        rows=2,
        inputs=[LineageInput("batch", "b2")],
        append_lineage=True,
        **common,
    )
    assert [x.input_name for x in catalog.lineage("raw.resources")] == ["b1", "b2"]
