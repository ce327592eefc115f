"""Memory does not grow with the number of residents: the generator streams."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from medlake.synth import generate_region
from medlake.synth.epidemiology import RegionEpidemics


def _peak_bytes(out: Path, residents: int) -> int:
    tracemalloc.start()
    try:
        generate_region(out, residents, seed=11)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_is_flat_in_the_number_of_residents(tmp_path: Path) -> None:
    RegionEpidemics.for_seed(11)  # warm module-level caches so both runs start alike
    small = _peak_bytes(tmp_path / "small", 40)
    large = _peak_bytes(tmp_path / "large", 320)
    assert large < 1.5 * small, (small, large)  # 8x the residents; a growing structure would show
