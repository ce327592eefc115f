"""CONTRIBUTING.md's "where things go" names every package and module of ``src/medlake`` at
the floor ``tests/test_layers.py`` enforces, so a newcomer's map matches the territory."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_layers import FLOORS, SOURCE

CONTRIBUTING = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"


def _documented_floors() -> dict[str, int]:
    section = CONTRIBUTING.read_text(encoding="utf-8").split("## Where things go", 1)[1].split("\n## ", 1)[0]
    floors: dict[str, int] = {}
    for floor, cell in re.findall(r"^\| (-?\d+) \| ([^|]+) \|", section, flags=re.M):
        for name in re.findall(r"`([a-z_]+)(?:/|\.py)`", cell):
            floors[name] = int(floor)
    return floors


def test_where_things_go_covers_every_package_at_its_floor() -> None:
    documented = _documented_floors()
    units = {p.name for p in SOURCE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    units |= {p.stem for p in SOURCE.glob("*.py") if not p.name.startswith("__")}
    assert units - set(documented) == set(), "CONTRIBUTING.md's table lacks these"
    assert {name: documented[name] for name in units} == {name: FLOORS[name] for name in units}
