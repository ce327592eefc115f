"""One accepted value must not break every build: a row no view can convert is quarantined (stage
``build``), every other row is built, and rebuilding — after a crash or not — adds it once.

Validation now refuses such values at ingest, so the bad row is put into the raw layer the way a
lake ingested before that stored it: the integer 2^63 (``ConversionException`` in the
warehouse's BIGINT column) as old ingest accepted it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

import medlake.build.run as build_module
from medlake.build.run import build_all
from medlake.ingest import ingest_path
from medlake.lake.tables import QUARANTINE, RAW_RESOURCES, RAW_RESOURCES_SCHEMA, Layer

CORPUS = Path(__file__).with_name("corpus") / "fhir"
LEGACY = {
    "resourceType": "Observation",
    "id": "big",
    "status": "final",
    "code": {"text": "steps"},
    "valueInteger": 2**63,
}


def _with_legacy_row(workspace) -> None:
    """Good rows through ingest, and the bad one as a pre-validation lake holds it."""
    ingest_path(workspace, CORPUS / "valid-edges.ndjson", "hosp-b")
    text = orjson.dumps(LEGACY).decode()
    row = {
        "institution": "hosp-b",
        "batch_id": "legacy-batch",
        "source_file": "legacy/observations.ndjson",
        "line": 42,
        "received_at": datetime(2026, 1, 5, tzinfo=UTC),
        "resource_type": "Observation",
        "resource_id": "big",
        "version_id": None,
        "last_updated": None,
        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
        "refs": [],
        "identifiers": [],
        "resource": text,
    }
    table = pa.Table.from_pylist([row], schema=RAW_RESOURCES_SCHEMA)
    workspace.lake.write(workspace.lake.uri(Layer.RAW, RAW_RESOURCES), table, partition_by=["institution"])


def _build_quarantine(workspace) -> list[dict]:
    table = workspace.lake.read(workspace.lake.uri(Layer.RAW, QUARANTINE))
    return [] if table is None else [r for r in table.to_pylist() if r["stage"] == "build"]


def _observation_ids(workspace) -> list[str]:
    return sorted(workspace.sql("SELECT id FROM warehouse.observation").column("id").to_pylist())


def test_the_bad_row_is_quarantined_and_every_other_row_built(workspace) -> None:
    _with_legacy_row(workspace)
    built = {t.name: t for t in build_all(workspace)}
    assert built["integrated.Observation"].rows == 4, "the resource is stored in the integrated layer"
    assert _observation_ids(workspace) == ["hosp-b.v1", "hosp-b.v2", "hosp-b.v5"]
    [row] = _build_quarantine(workspace)
    assert (row["institution"], row["batch_id"], row["source_file"], row["line"]) == (
        "hosp-b",
        "legacy-batch",
        "legacy/observations.ndjson",
        42,
    )
    assert row["reason"].startswith(
        "warehouse.observation cannot convert Observation hosp-b.big: "
        "column value_integer (value.ofType(integer)): Conversion Error"
    )
    assert str(2**63) in row["reason"] and orjson.loads(row["raw"]) == LEGACY
    job = next(j for j in workspace.catalog.jobs(5) if j.kind == "build")
    assert job.status == "succeeded" and job.details["rejected_rows"] == 1


def test_rebuilding_quarantines_the_row_once(workspace) -> None:
    _with_legacy_row(workspace)
    build_all(workspace)
    build_all(workspace)
    assert len(_build_quarantine(workspace)) == 1
    assert _observation_ids(workspace) == ["hosp-b.v1", "hosp-b.v2", "hosp-b.v5"]


@pytest.mark.parametrize("crash_at", ["record_built", "quarantine_rejects"])
def test_a_build_that_fails_after_finding_the_row_leaves_it_once_after_the_rerun(
    workspace, monkeypatch, crash_at: str
) -> None:
    """Killed after the quarantine commit (before the catalog) or before it: the re-run ends
    with one quarantine row, as a clean build does."""
    _with_legacy_row(workspace)
    if crash_at == "record_built":
        original = workspace.catalog.record_built

        def crash(*args, **kwargs):
            raise OSError("killed after the quarantine was committed")

        monkeypatch.setattr(workspace.catalog, "record_built", crash)
    else:
        original = build_module.quarantine_rejects

        def crash(*args, **kwargs):
            raise OSError("killed before the quarantine was committed")

        monkeypatch.setattr(build_module, "quarantine_rejects", crash)
    with pytest.raises(OSError, match="killed"):
        build_all(workspace)
    expected = 1 if crash_at == "record_built" else 0
    assert len(_build_quarantine(workspace)) == expected
    monkeypatch.undo()
    assert original is not None
    build_all(workspace)
    assert len(_build_quarantine(workspace)) == 1
    assert _observation_ids(workspace) == ["hosp-b.v1", "hosp-b.v2", "hosp-b.v5"]


def test_a_column_with_several_values_is_a_row_error_too(workspace, tmp_path) -> None:
    """The view library's own error for a column that yields two values names the column, and
    only that resource is left out."""
    from medlake.build.warehouse import build_view

    patients = tmp_path / "patients.ndjson"
    patients.write_bytes(
        orjson.dumps({"resourceType": "Patient", "id": "one", "name": [{"given": ["Ann"]}]})
        + b"\n"
        + orjson.dumps({"resourceType": "Patient", "id": "two", "name": [{"given": ["Bo", "Cy"]}]})
        + b"\n"
    )
    ingest_path(workspace, patients, "hosp-b")
    build_all(workspace)
    view = {
        "resourceType": "ViewDefinition",
        "name": "given",
        "status": "active",
        "resource": "Patient",
        "select": [
            {"column": [{"name": "id", "path": "getResourceKey()"}, {"name": "given", "path": "name.given"}]}
        ],
    }
    rejects: list = []
    with workspace.engine() as engine:
        table = build_view(workspace, engine, "given", view, "test-job", rejects.extend)
    assert table is not None and table.rows == 1
    [reject] = rejects
    assert (
        reject.local_id == "two" and "column given (name.given) produced more than one value" in reject.reason
    )
