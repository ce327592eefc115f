"""Workers write each chunk's accepted rows as a data file of the raw layer; the parent commits them.

A chunk with few accepted rows sends them back instead, and the parent writes them. A file
only becomes part of the table when a commit names it: whatever the job does (repeats that
force a file to be rewritten, a failure half way), no file is left in the table's folder
that the log does not name. The order of first delivery, first line must hold across files
written by different workers and the parent.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from medlake.fhir.reading import Record
from medlake.ingest import Delivery, ingest_deliveries, ingest_path
from medlake.ingest.examine import RAW_FILE, Destination, Task, examine_work, pack
from medlake.lake import Lake
from medlake.lake.tables import RAW_RESOURCES, Layer
from medlake.workspace import Workspace
from tests.conftest import synthetic_region

CORPUS = Path(__file__).with_name("corpus")


def region_folder(base: Path) -> Path:
    region = base / "region"
    synthetic_region(region, residents=25, seed=3)
    folder = next(p for p in sorted(region.iterdir()) if p.is_dir() and p.name != "truth")
    shutil.copy(CORPUS / "mixed.ndjson", folder / "zz-mixed.ndjson")
    return folder


def files_on_disk(ws: Workspace) -> set[str]:
    root = Path(ws.lake.uri(Layer.RAW, RAW_RESOURCES))
    return {str(p) for p in root.glob("institution=*/*.parquet")}


def files_in_log(ws: Workspace) -> set[str]:
    return set(ws.lake.files(ws.lake.uri(Layer.RAW, RAW_RESOURCES)))


@pytest.mark.parametrize("workers", [1, 2], ids=["inline", "pool"])
def test_the_table_folder_holds_exactly_the_committed_files(
    make_workspace, tmp_path: Path, workers: int
) -> None:
    folder = region_folder(tmp_path)
    ws = make_workspace(ingest_workers=workers, ingest_chunk_size=7, ingest_group_records=40)
    first = ingest_path(ws, folder, "hosp-a")
    assert all(r.received == r.stored + r.quarantined + r.duplicates for r in first)
    assert len(files_in_log(ws)) > 1 and files_on_disk(ws) == files_in_log(ws)

    # a second export repeats most of the first: files whose rows repeat content are written again
    # without those rows, and the originals go
    again = tmp_path / "again"
    again.mkdir()
    observations = (folder / "Observation.ndjson").read_text().splitlines()
    changed = observations[3].replace('"status":"final"', '"status":"amended"')
    assert changed != observations[3]
    (again / "Observation.ndjson").write_text(
        "\n".join([*observations[:3], changed, *observations[4:]]) + "\n"
    )
    [report] = ingest_path(ws, again, "hosp-a")
    assert (report.received, report.stored, report.duplicates) == (
        len(observations),
        1,
        len(observations) - 1,
    )
    assert files_on_disk(ws) == files_in_log(ws)
    table = ws.lake.read(ws.lake.uri(Layer.RAW, RAW_RESOURCES))
    assert table.num_rows == sum(r.stored for r in [*first, report])
    assert pc.count_distinct(table.column("content_hash")).as_py() == table.num_rows


def test_a_failed_job_leaves_no_file_behind(make_workspace, tmp_path: Path) -> None:
    folder = region_folder(tmp_path)
    ws = make_workspace(ingest_workers=2, ingest_chunk_size=5)
    present: list[int] = []

    class Interrupted(Exception):
        pass

    def interrupt(_: int) -> None:
        present.append(len(files_on_disk(ws)))
        if len(present) == 6:
            raise Interrupted

    with pytest.raises(Interrupted):
        ingest_path(ws, folder, "hosp-a", progress=interrupt)
    assert present[-1] > 0, "workers had written files when the job failed"
    assert files_on_disk(ws) == set(), "nothing is left behind, not even files the pool wrote after"
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
    """Below the threshold the rows come back as a batch; from it on, the same rows as a data file."""
    lines = [line.encode() for line in (CORPUS / "mixed.ndjson").read_text().splitlines() if line.strip()]
    work = pack([Record("mixed", number, text) for number, text in enumerate(lines, start=1)])
    lake = Lake(str(tmp_path))
    received_at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    target = lake.file_target(lake.uri(Layer.RAW, RAW_RESOURCES), {"institution": "hosp-a"})
    destination = Destination("batch-1", received_at, target)
    small = examine_work(Task(4, "part-4.parquet", 5, destination, work))
    assert (small.received, small.accepted, small.file) == (len(lines), 4, None)
    assert small.rows is not None and small.rows.schema == RAW_FILE
    assert set(small.rows.column("batch_id").to_pylist()) == {"batch-1"}
    assert set(small.rows.column("received_at").to_pylist()) == {received_at}
    assert small.keys is not None and small.refs is not None
    assert small.keys.column("content_hash") == small.rows.column("content_hash")
    made = {ref for refs in small.rows.column("refs").to_pylist() for ref in refs}
    assert sorted(small.refs.to_pylist()) == sorted(made)
    assert not list(tmp_path.rglob("*.parquet"))

    big = examine_work(Task(4, "part-4.parquet", 4, destination, work))
    assert big.file is not None and (big.accepted, big.rows, big.file.rows) == (4, None, 4)
    assert big.file.path == "institution=hosp-a/part-4.parquet"
    written = pq.read_table(tmp_path / "raw" / RAW_RESOURCES / big.file.path)
    assert written.to_batches() == [small.rows]
    assert big.keys == small.keys and big.rejected == small.rejected and len(big.rejected) == len(lines) - 4
