"""Workers write each chunk's accepted rows to a scratch file; the parent joins the batch's constants.

A chunk with few accepted rows sends them back instead, and the parent writes them. These
files live only as long as their group: each is removed when the group commits, and all of
them when a job fails. The order of first delivery, first line must hold across files
written by different workers and the parent.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from medlake.fhir.reading import Record
from medlake.ingest import Delivery, ingest_deliveries, ingest_path
from medlake.ingest.examine import Task, examine_work, pack
from medlake.lake.layers import RAW_RESOURCES, Layer
from medlake.synth import generate_region

CORPUS = Path(__file__).with_name("corpus")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder the job's scratch folder is made in (inherited by the forked workers)."""
    root = tmp_path / "scratch"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def chunk_files(root: Path) -> list[Path]:
    """Chunk files the workers have finished (a file being written has another name)."""
    return sorted(root.glob("medlake-ingest-*/chunk-*.parquet"))


def region_folder(base: Path) -> Path:
    region = base / "region"
    generate_region(region, residents=25, seed=3)
    folder = next(p for p in sorted(region.iterdir()) if p.is_dir() and p.name != "truth")
    shutil.copy(CORPUS / "mixed.ndjson", folder / "zz-mixed.ndjson")
    return folder


@pytest.mark.parametrize("workers", [1, 2], ids=["inline", "pool"])
def test_chunk_files_never_outlive_their_groups_commit(
    make_workspace, tmp_path: Path, scratch: Path, workers: int
) -> None:
    folder = region_folder(tmp_path)
    ws = make_workspace(ingest_workers=workers, ingest_chunk_size=7, ingest_group_records=40)
    seen = {"files": 0, "after_a_commit": 0}

    def check(_: int) -> None:
        files = chunk_files(scratch)
        committed = {b.source_uri for b in ws.catalog.batches() if b.status == "committed"}
        spilled = {s for f in files for s in pq.read_table(f, columns=["source_file"]).column(0).to_pylist()}
        assert not spilled & committed, "a chunk file outlived the commit of its rows"
        seen["files"] = max(seen["files"], len(files))
        seen["after_a_commit"] += bool(files and committed)

    reports = ingest_path(ws, folder, "hosp-a", progress=check)
    assert all(r.received == r.stored + r.quarantined + r.duplicates for r in reports)
    assert seen["files"] > 0, "the workers wrote chunk files"
    assert seen["after_a_commit"] > 0, "files were checked while earlier groups had committed"
    assert list(scratch.iterdir()) == [], "the job's scratch folder is gone"


def test_chunk_files_are_removed_when_the_job_fails(make_workspace, tmp_path: Path, scratch: Path) -> None:
    folder = region_folder(tmp_path)
    ws = make_workspace(ingest_workers=2, ingest_chunk_size=5)
    present: list[int] = []

    class Interrupted(Exception):
        pass

    def interrupt(_: int) -> None:
        present.append(len(chunk_files(scratch)))
        if len(present) == 6:
            raise Interrupted

    with pytest.raises(Interrupted):
        ingest_path(ws, folder, "hosp-a", progress=interrupt)
    assert present[-1] > 0, "chunk files existed when the job failed"
    assert list(scratch.iterdir()) == [], "nothing is left behind, not even files the pool wrote after"
    assert ws.lake.table(ws.lake.uri(Layer.RAW, RAW_RESOURCES)) is None, "nothing was committed"


@pytest.mark.parametrize("workers", [1, 2], ids=["inline", "pool"])
def test_first_delivery_and_first_line_win_across_chunk_files(
    make_workspace, tmp_path: Path, workers: int
) -> None:
    """Copies of resources spread over many chunk files, possibly written by different workers.

    Across deliveries the earlier delivery wins even from a later line; within a delivery of
    packed records that repeats a line number, the record handed over first wins.
    """
    patient = (CORPUS / "patient-v2.ndjson").read_text().strip()
    filler = '{"resourceType": "Patient", "id": "filler", "gender": "female"}'
    folder = tmp_path / "deliveries"
    folder.mkdir()
    (folder / "a.ndjson").write_text(f"{filler}\n{patient}\n")
    (folder / "b.ndjson").write_text(f"{patient}\n")
    ws = make_workspace(ingest_workers=workers, ingest_chunk_size=1)
    reports = ingest_path(ws, folder, "hosp-a")
    assert [(r.received, r.stored, r.duplicates) for r in reports] == [(2, 2, 0), (1, 0, 1)]
    rows = ws.lake.read(ws.lake.uri(Layer.RAW, RAW_RESOURCES)).to_pylist()
    assert {(r["resource_id"], r["source_file"], r["line"]) for r in rows} == {
        ("filler", str(folder / "a.ndjson"), 1),
        ("p1", str(folder / "a.ndjson"), 2),
    }

    # 40 copies of 60 resources, every record numbered line 1: only the order they were handed
    # over in tells the copies apart (an engine left to break the tie picks any of them)
    resources = [b'{"resourceType": "Patient", "id": "t%d", "gender": "male"}' % k for k in range(60)]
    records = [Record(f"copy-{copy}", 1, text) for copy in range(40) for text in resources]
    delivery = Delivery("hosp-a", "test", "test://packed", "packed-1", read=lambda: records)
    ws = make_workspace(ingest_workers=workers, ingest_chunk_size=7)
    [report] = ingest_deliveries(ws, [delivery])
    assert (report.received, report.stored, report.duplicates) == (2_400, 60, 2_340)
    rows = ws.lake.read(ws.lake.uri(Layer.RAW, RAW_RESOURCES)).to_pylist()
    assert {r["source_file"] for r in rows} == {"copy-0"}


def test_a_chunk_goes_to_a_file_from_file_rows_accepted_rows_on(tmp_path: Path) -> None:
    """Below the threshold the rows come back as a batch; from it on, the same rows as a file."""
    lines = [line.encode() for line in (CORPUS / "mixed.ndjson").read_text().splitlines() if line.strip()]
    work = pack([Record("mixed", number, text) for number, text in enumerate(lines, start=1)])
    spill = tmp_path / "chunk-4.parquet"
    small = examine_work(Task(4, str(spill), 5, work))
    assert (small.received, small.accepted, small.spill) == (len(lines), 4, None)
    assert not spill.exists() and small.rows is not None
    assert small.rows.column("_chunk").to_pylist() == [4] * 4
    assert small.rows.column("_row").to_pylist() == [0, 1, 2, 3]

    big = examine_work(Task(4, str(spill), 4, work))
    assert (big.accepted, big.spill, big.rows) == (4, str(spill), None)
    assert pq.read_table(spill).to_batches() == [small.rows]
    assert big.rejected == small.rejected and len(big.rejected) == len(lines) - 4
    assert [p.name for p in tmp_path.iterdir()] == ["chunk-4.parquet"], "no partial file is left"
