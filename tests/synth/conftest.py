"""One synthetic region shared by the synth tests (generating it once keeps the suite fast)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from medlake.synth import RegionSummary, generate_region

RESIDENTS = 1_000
SEED = 20_240


@dataclass(frozen=True)
class Region:
    """A generated region on disk with small readers over its files."""

    root: Path
    summary: RegionSummary

    def files(self) -> list[Path]:
        return sorted(self.root.glob("*/*.ndjson"))

    def read(self, institution: str, resource_type: str) -> Iterator[dict[str, Any]]:
        path = self.root / institution / f"{resource_type}.ndjson"
        if not path.exists():
            return
        with path.open("rb") as handle:
            for line in handle:
                yield json.loads(line)

    def latest(self, institution: str, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources by id, keeping the last version written."""
        return {resource["id"]: resource for resource in self.read(institution, resource_type)}

    def truth(self, name: str) -> list[dict[str, str]]:
        with (self.root / "truth" / f"{name}.csv").open(newline="") as handle:
            return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def region(tmp_path_factory: pytest.TempPathFactory) -> Region:
    root = tmp_path_factory.mktemp("synth-region")
    return Region(root, generate_region(root, residents=RESIDENTS, seed=SEED))
