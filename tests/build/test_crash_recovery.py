"""``kill -9`` at any moment of ingest or build, then a re-run, gives exactly a clean run's tables.

A child process runs ingest (FHIR files of three institutions, HL7 v2 files and CSV
exports of two more, worker pool on) and build. It is killed
with SIGKILL after increasing delays, each time resumed from where it died, and finally
run to the end. Every table of the lake and every batch of the catalog must then equal
those of an uninterrupted run over the same files; only ``received_at`` (the wall-clock
time a batch was first opened) may differ, because the two runs happen at different times.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medlake.synth import generate_region
from medlake.synth.exports import write_demo_exports
from medlake.workspace import init_workspace, open_workspace

PIPELINE = """
import sys
from pathlib import Path
from medlake.ingest import ingest_path
from medlake.build.run import build_all
from medlake.sources.hl7v2 import ingest_hl7_path
from medlake.sources.tabular.files import ingest_csv
from medlake.workspace import open_workspace
ws = open_workspace(sys.argv[1])
hl7, exports, *folders = sys.argv[2:]
for folder in folders:
    ingest_path(ws, Path(folder), Path(folder).name)
ingest_hl7_path(ws, Path(hl7), "hosp-hl7")
ingest_csv(ws, Path(exports) / "patients.csv", "region-patients", "chc-csv")
ingest_csv(ws, Path(exports) / "lab-results.csv", "region-lab-results", "chc-csv")
build_all(ws)
"""
HL7_CORPUS = Path(__file__).parents[1] / "sources" / "hl7v2" / "corpus"


def snapshot(home: Path) -> dict[str, list[tuple]]:
    ws = open_workspace(home)
    lake_root = Path(ws.settings.resolved_lake_uri)
    tables: dict[str, list[tuple]] = {}
    for log in sorted(lake_root.glob("*/*/_delta_log")):
        data = ws.lake.read(str(log.parent))
        if data is None:
            continue
        keep = [c for c in data.column_names if c != "received_at"]
        rows = data.select(keep).to_pylist()
        tables[f"{log.parent.parent.name}.{log.parent.name}"] = sorted(
            tuple(str(row[c]) for c in keep) for row in rows
        )
    tables["catalog.batches"] = sorted(
        (b.id, b.status, b.received, b.stored, b.quarantined, b.duplicates, b.unresolved_references)
        for b in ws.catalog.batches()
    )
    tables["catalog.datasets"] = sorted((d.name, d.rows) for d in ws.catalog.datasets())
    return tables


def run(home: Path, folders: list[Path], kill_after: float | None = None) -> int:
    process = subprocess.Popen(
        [sys.executable, "-c", PIPELINE, str(home), *map(str, folders)],
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    if kill_after is None:
        return process.wait(timeout=600)
    try:
        return process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the worker pool dies with its parent
        return process.wait()


@pytest.mark.slow
@pytest.mark.parametrize(
    "group_records",
    [None, 150],
    ids=["one-group-per-job", "groups-commit-while-the-pool-examines-ahead"],
)
def test_kill_9_anywhere_then_rerun_equals_clean_run(tmp_path: Path, group_records: int | None) -> None:
    region = tmp_path / "region"
    generate_region(region, residents=150, seed=11)
    folders = sorted(p for p in region.iterdir() if p.is_dir() and p.name != "truth")[:3]
    # defective records too, so the quarantine's commit is exercised as well
    shutil.copy(
        Path(__file__).parents[1] / "ingest" / "corpus" / "mixed.ndjson", folders[0] / "zz-mixed.ndjson"
    )
    exports = write_demo_exports(tmp_path / "exports", patients=80, seed=4)["region-patients"].parent
    folders = [HL7_CORPUS, exports, *folders]  # the order the pipeline script takes them in

    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    groups = {"ingest_group_records": group_records} if group_records else {}
    for home in (clean, crashed):
        init_workspace(home, ingest_workers=2, ingest_chunk_size=200, **groups)
    start = time.monotonic()
    assert run(clean, folders) == 0
    clean_seconds = time.monotonic() - start

    killed = 0
    for fraction in (0.15, 0.3, 0.45, 0.6, 0.75, 0.9):
        if run(crashed, folders, kill_after=clean_seconds * fraction) == -signal.SIGKILL:
            killed += 1
    assert killed >= 3, "most kills must land while the pipeline is still running"
    assert run(crashed, folders) == 0

    expected, actual = snapshot(clean), snapshot(crashed)
    assert set(actual) == set(expected)
    assert any(name.startswith("warehouse.") for name in expected), "the build ran"
    assert expected["raw.quarantine"], "some records were quarantined"
    institutions = {row[0] for row in expected["raw.resources"]}
    assert {"hosp-hl7", "chc-csv"} <= institutions, "HL7 and CSV sources took part"
    for name in expected:
        assert actual[name] == expected[name], f"{name} differs after crash recovery"
