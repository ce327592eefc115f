"""The arrows point down: each package imports only from the floors below it.

The floors, bottom up, are the architecture (docs/architecture.md); an import that points up or
sideways (the workspace reaching into ``person``, the lake into ``ingest``) fails here, with the
module and the line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import medlake

#: Package (or top-level module) -> its floor. A package may import from lower floors only.
FLOORS: dict[str, int] = {
    "errors": -1,
    "config": 0,
    "secrets": 1,
    "landing": 1,
    "engine": 1,
    "fhir": 1,
    "lake": 2,
    "ledger": 2,
    "catalog": 3,
    "workspace": 4,
    "views": 5,
    "access": 5,
    "ingest": 5,
    "link": 5,
    "build": 6,
    "sources": 6,
    "mpi": 6,
    "serving": 6,
    "person": 7,
    "synth": 7,
    "warn": 7,
    "surveil": 7,
    "knowledge": 8,
    "chain": 8,
    "demo": 9,
    "api": 9,
    "server": 9,
    "cli": 10,
    "__init__": 11,
    "__main__": 11,
}

SOURCE = Path(medlake.__file__).parent


def _unit(path: Path) -> str:
    relative = path.relative_to(SOURCE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported unit) for every medlake import in the file, function-level ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "medlake":
            parts = node.module.split(".")
            if len(parts) > 1:
                found.append((node.lineno, parts[1]))
            else:  # from medlake import workspace: the submodules named
                found += [(node.lineno, alias.name) for alias in node.names if alias.name in FLOORS]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name.split(".")[1])
                for alias in node.names
                if alias.name.startswith("medlake.")
            ]
    return found


def test_every_package_has_a_floor() -> None:
    units = {_unit(path) for path in SOURCE.rglob("*.py")} - {"py"}
    assert units <= set(FLOORS), f"give {sorted(units - set(FLOORS))} a floor in FLOORS"


def test_imports_point_down() -> None:
    upward = []
    for path in sorted(SOURCE.rglob("*.py")):
        unit = _unit(path)
        for line, imported in _imports(path):
            if imported != unit and imported in FLOORS and FLOORS[imported] >= FLOORS[unit]:
                upward.append(
                    f"{path.relative_to(SOURCE)}:{line} imports {imported} (floor {FLOORS[imported]})"
                )
    assert upward == []
