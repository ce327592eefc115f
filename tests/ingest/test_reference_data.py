"""Real data written by others must land whole: every resource stored or quarantined with a reason."""

from __future__ import annotations

import orjson

from medlake.fhir.reading import read_records
from medlake.ingest import ingest_path
from medlake.ingest.delivery import find_files
from medlake.lake.tables import RAW_RESOURCES, Layer
from tests.conftest import shared_path


def _resources_in(folder) -> list[dict]:
    out = []
    for file in find_files(folder):
        out.extend(orjson.loads(r.text) for r in read_records(file) if r.error is None)
    return out


def test_synthea_bulk_export_lands_whole(workspace) -> None:
    folder = shared_path("reference/synthea-bulk-10-patients")
    reports = ingest_path(workspace, folder, "synthea-bulk")
    expected = _resources_in(folder)
    assert sum(r.received for r in reports) == len(expected)
    assert sum(r.quarantined for r in reports) == 0, [r for r in reports if r.quarantined]
    raw = workspace.lake.read(workspace.lake.uri(Layer.RAW, RAW_RESOURCES), ["resource_type", "resource_id"])
    stored = set(
        zip(raw.column("resource_type").to_pylist(), raw.column("resource_id").to_pylist(), strict=True)
    )
    assert stored == {(r["resourceType"], r["id"]) for r in expected}


def test_synthea_transaction_bundles_land_whole(workspace) -> None:
    folder = shared_path("reference/synthea-bundles")
    reports = ingest_path(workspace, folder, "synthea-bundles")
    entries = sum(len(orjson.loads(f.read_bytes())["entry"]) for f in find_files(folder))
    assert sum(r.received for r in reports) == entries
    assert sum(r.stored for r in reports) + sum(r.duplicates for r in reports) == entries
    assert sum(r.quarantined for r in reports) == 0
    # Patient bundles refer to hospitals and practitioners by conditional reference; all resolve
    # once the hospital and practitioner bundles (ingested last, alphabetically) are in.
    last = [r for r in reports if "Information" in r.source]
    assert all(r.unresolved_references == 0 for r in last)
