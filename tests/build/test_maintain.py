"""``medlake maintain``: fewer files, the same rows, time travel within the retention, and
nothing looks stale (or gets rebuilt) because a table was compacted."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from deltalake import DeltaTable

from medlake.build.maintain import maintain
from medlake.build.run import build_all
from medlake.ingest import ingest_path
from medlake.synth import generate_region


def _rows(table) -> list[tuple]:
    names = sorted(table.column_names)
    return sorted(tuple(str(r[c]) for c in names) for r in table.to_pylist())


def _parquet_files(uri: str) -> int:
    return sum(1 for _ in Path(uri).rglob("*.parquet"))


@pytest.fixture
def many_small_files(workspace, tmp_path):
    """A workspace whose raw and Observation tables got one small file per delivery."""
    region = tmp_path / "region"
    generate_region(region, residents=20, seed=5)
    lines = (region / "chc-west" / "Observation.ndjson").read_bytes().splitlines()
    ingest_path(workspace, region / "chc-west" / "Patient.ndjson", "chc-west")
    build_all(workspace)
    for k in range(6):
        part = tmp_path / f"part-{k}" / "Observation.ndjson"
        part.parent.mkdir()
        part.write_bytes(b"\n".join(lines[k::6]) + b"\n")
        ingest_path(workspace, part, "chc-west")
        build_all(workspace)
    return workspace


def test_compaction_and_vacuum_keep_rows_and_drop_files(many_small_files) -> None:
    ws = many_small_files
    uri = ws.lake.uri("integrated", "Observation")
    before = DeltaTable(uri)
    old_version, live_before = before.version(), len(before.file_uris())
    rows_before = _rows(before.to_pyarrow_table())
    on_disk_before = _parquet_files(uri)
    assert live_before >= 5, "each merge added a file"

    done = {m.name: m for m in maintain(ws, retention_hours=0)}
    after = DeltaTable(uri)
    assert done["integrated.Observation"].files_after < live_before
    assert len(after.file_uris()) == done["integrated.Observation"].files_after
    assert _rows(after.to_pyarrow_table()) == rows_before, "the same rows"
    assert _parquet_files(uri) < on_disk_before, "replaced files left the disk (retention 0)"
    assert done["raw.resources"].files_after < done["raw.resources"].files_before
    # the catalog follows, and nothing downstream looks stale or gets rebuilt for it
    assert ws.catalog.dataset("integrated.Observation").version == after.version()
    stale = {d.name: ws.catalog.stale_inputs(d.name) for d in ws.catalog.datasets()}
    assert {name: moved for name, moved in stale.items() if moved} == {}
    assert build_all(ws) == [], "a compaction changes no row: the next build has nothing to do"
    assert DeltaTable(uri).version() == after.version()
    assert old_version < after.version()


def test_time_travel_within_the_retention_still_works(many_small_files) -> None:
    ws = many_small_files
    uri = ws.lake.uri("integrated", "Observation")
    table = DeltaTable(uri)
    version = table.version()
    rows = _rows(table.to_pyarrow_table())
    maintain(ws, retention_hours=1)  # the replaced files were replaced just now: kept
    assert len(DeltaTable(uri).file_uris()) < len(table.file_uris())
    assert _rows(DeltaTable(uri, version=version).to_pyarrow_table()) == rows
    assert _rows(DeltaTable(uri, version=1).to_pyarrow_table()), "an early version reads too"


def test_a_build_after_compacting_raw_still_finds_new_rows(many_small_files, tmp_path) -> None:
    """New raw rows ingested and then compacted before a build: the build still merges them."""
    ws = many_small_files
    late = {
        "resourceType": "Observation",
        "id": "after-compaction",
        "status": "final",
        "code": {"text": "late"},
    }
    path = tmp_path / "late" / "Observation.ndjson"
    path.parent.mkdir()
    path.write_bytes(orjson.dumps(late) + b"\n")
    ingest_path(ws, path, "chc-west")
    maintain(ws, retention_hours=0)
    build_all(ws)
    ids = ws.lake.read(ws.lake.uri("integrated", "Observation"), ["id"]).column(0).to_pylist()
    assert "chc-west.after-compaction" in ids


def test_the_maintain_command_reports_each_table(many_small_files) -> None:
    from typer.testing import CliRunner

    from medlake.cli import app

    home = str(many_small_files.home)
    result = CliRunner().invoke(
        app, ["maintain", "--home", home, "--table", "integrated.Observation", "--json"]
    )
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    assert report["name"] == "integrated.Observation"
    assert (
        report["files_after"] < report["files_before"] and report["version_after"] > report["version_before"]
    )


def test_maintain_after_build_by_setting(make_workspace) -> None:
    from typer.testing import CliRunner

    from medlake.cli import app

    ws = make_workspace(maintain_after_build=True, vacuum_retention_hours=0)
    corpus = Path(__file__).parents[1] / "ingest" / "corpus" / "mixed.ndjson"
    ingest_path(ws, corpus, "hosp-a")
    ingest_path(ws, Path(__file__).parents[1] / "ingest" / "corpus" / "patient-v2.ndjson", "hosp-a")
    result = CliRunner().invoke(app, ["build", "--home", str(ws.home), "--json"])
    assert result.exit_code == 0, result.output
    maintained = {m["name"]: m for m in json.loads(result.stdout)["maintained"]}
    raw = maintained["raw.resources"]
    assert raw["files_after"] < raw["files_before"], "the two deliveries' files were compacted"
    assert ws.catalog.jobs()[0].kind == "maintain"
