"""Same seed and size give the same bytes; anything else gives different data."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medlake.synth import generate_region

RESIDENTS = 120


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a region by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("first")
    generate_region(root, RESIDENTS, seed=7)
    return snapshot(root)


def test_same_seed_gives_identical_bytes(first_run: dict[str, bytes], tmp_path: Path) -> None:
    generate_region(tmp_path, RESIDENTS, seed=7)
    second = snapshot(tmp_path)
    assert sorted(second) == sorted(first_run)
    different = [name for name in first_run if first_run[name] != second[name]]
    assert different == []


def test_identical_bytes_in_another_process_with_other_hash_seed(
    first_run: dict[str, bytes], tmp_path: Path
) -> None:
    """String hashing is randomised per process; nothing generated may depend on set or hash order."""
    code = "import sys; from pathlib import Path; from medlake.synth import generate_region; "
    code += f"generate_region(Path(sys.argv[1]), {RESIDENTS}, seed=7)"
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=env, timeout=120)
    assert snapshot(tmp_path) == first_run


def test_other_seed_gives_other_data(first_run: dict[str, bytes], tmp_path: Path) -> None:
    generate_region(tmp_path, RESIDENTS, seed=8)
    other = snapshot(tmp_path)
    assert other["truth/persons.csv"] != first_run["truth/persons.csv"]
    assert other["chc-central/Observation.ndjson"] != first_run["chc-central/Observation.ndjson"]
    assert other["region.json"] != first_run["region.json"]


def test_a_larger_region_starts_with_the_smaller_one(first_run: dict[str, bytes], tmp_path: Path) -> None:
    """Resident i is the same person whatever the region size, so benchmarks at different sizes nest."""
    generate_region(tmp_path, RESIDENTS + 40, seed=7)
    larger = (tmp_path / "truth" / "persons.csv").read_bytes()
    assert len(larger) > len(first_run["truth/persons.csv"])
    assert larger.startswith(first_run["truth/persons.csv"])


def test_gzip_output_is_deterministic_and_holds_the_same_lines(
    first_run: dict[str, bytes], tmp_path: Path
) -> None:
    generate_region(tmp_path / "a", RESIDENTS, seed=7, gzip=True)
    generate_region(tmp_path / "b", RESIDENTS, seed=7, gzip=True)
    first, second = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert first == second
    assert "hosp-north/Patient.ndjson.gz" in first and "hosp-north/Patient.ndjson" not in first
    assert gzip.decompress(first["chc-east/Encounter.ndjson.gz"]) == first_run["chc-east/Encounter.ndjson"]


def test_rerun_into_the_same_folder_replaces_the_previous_region(tmp_path: Path) -> None:
    generate_region(tmp_path, RESIDENTS, seed=7, gzip=True)
    generate_region(tmp_path, RESIDENTS, seed=7)
    assert not list(tmp_path.rglob("*.ndjson.gz"))


def test_progress_increments_add_up_to_the_residents(tmp_path: Path) -> None:
    steps: list[int] = []
    generate_region(tmp_path, 150, seed=3, progress=steps.append)
    assert sum(steps) == 150
    assert len(steps) >= 2 and all(step > 0 for step in steps)


@pytest.mark.parametrize(
    ("residents", "seed", "message"),
    [
        (0, 1, "positive integer"),
        (-5, 1, "positive integer"),
        (2.5, 1, "positive integer"),
        (10, "x", "seed"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, residents: object, seed: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_region(tmp_path, residents, seed)  # type: ignore[arg-type]
