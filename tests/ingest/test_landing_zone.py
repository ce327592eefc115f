"""A landing zone (one folder per institution) goes in as one job, with the tables separate jobs give.

In one job the workers examine the next delivery, and the next institution's files, while
the parent still gathers and commits the previous ones; nothing of that may show in the
lake or the reports.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medlake.ingest import ingest_path, ingest_paths, institution_folders
from medlake.lake.tables import QUARANTINE, RAW_RESOURCES, Layer
from medlake.synth import generate_region
from medlake.workspace import Workspace

CORPUS = Path(__file__).with_name("corpus")
COLUMNS = ["institution", "resource_type", "resource_id", "content_hash", "source_file", "line", "resource"]


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic region's exports, with a malformed file in one institution's folder."""
    region = tmp_path_factory.mktemp("landing") / "region"
    generate_region(region, residents=30, seed=5)
    first = sorted(p for p in region.iterdir() if p.is_dir() and p.name != "truth")[0]
    shutil.copy(CORPUS / "mixed.ndjson", first / "zz-mixed.ndjson")
    return region


def _rows(ws: Workspace, name: str, columns: list[str]) -> list[tuple]:
    table = ws.lake.read(ws.lake.uri(Layer.RAW, name), columns=columns)
    return sorted(zip(*(table.column(c).to_pylist() for c in columns), strict=True))


def test_institution_folders_are_the_folders_holding_fhir_files(landing: Path) -> None:
    folders = institution_folders(landing)
    assert [name for _, name in folders] == sorted(
        p.name for p in landing.iterdir() if p.is_dir() and any(p.glob("*.ndjson"))
    )
    assert "truth" not in {name for _, name in folders}  # the ground truth's CSVs are no export
    assert all(folder.name == name for folder, name in folders)


@pytest.mark.slow  # a region ingested as one job and again institution by institution
@pytest.mark.parametrize("workers", [1, 2], ids=["inline", "pool"])
def test_one_job_gives_the_tables_and_reports_of_one_job_per_institution(
    landing: Path, make_workspace, workers: int
) -> None:
    sources = institution_folders(landing)
    together, apart = make_workspace(ingest_workers=workers), make_workspace(ingest_workers=workers)
    reports = ingest_paths(together, sources)
    separate = [r for folder, name in sources for r in ingest_path(apart, folder, name)]

    def key(r):
        return (r.institution, Path(r.source).name, r.received, r.stored, r.quarantined, r.duplicates)

    assert [key(r) for r in reports] == [key(r) for r in separate]
    assert {r.institution for r in reports} == {name for _, name in sources}
    assert all(r.received == r.stored + r.quarantined + r.duplicates for r in reports)
    assert sum(r.quarantined for r in reports) > 0  # the malformed file's lines, in its institution
    assert _rows(together, RAW_RESOURCES, COLUMNS) == _rows(apart, RAW_RESOURCES, COLUMNS)
    quarantine = ["institution", "source_file", "line", "stage", "reason"]
    assert _rows(together, QUARANTINE, quarantine) == _rows(apart, QUARANTINE, quarantine)
    jobs = [j for j in together.catalog.jobs() if j.kind == "ingest"]
    assert len(jobs) == 1 and jobs[0].status == "succeeded"
    assert [s["institution"] for s in jobs[0].details["sources"]] == [name for _, name in sources]


def test_a_folder_named_like_no_institution_is_refused_before_anything_is_read(
    landing: Path, make_workspace, tmp_path: Path
) -> None:
    bad = tmp_path / "Hospital North"
    shutil.copytree(sorted(landing.iterdir())[0], bad)
    ws = make_workspace()
    with pytest.raises(ValueError, match="institution ids"):
        ingest_paths(ws, [(bad, bad.name)])
    assert ws.lake.table(ws.lake.uri(Layer.RAW, RAW_RESOURCES)) is None
