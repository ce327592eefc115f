"""The measured child for medlake's own phases: ``synth`` (make the input) or ``pipeline`` (ingest → build).

Run by ``bench/ingest.py`` with the project's interpreter, one process per step, so the
synthesiser's memory is not charged to the pipeline and vice versa.

    python bench/_medlake_runner.py synth OUT_DIR RESOURCES SEED RESULT_JSON
    python bench/_medlake_runner.py pipeline REGION_DIR HOME WORKERS RESULT_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from _phases import PhaseClock
from medlake.build.run import build_all
from medlake.ingest import ingest_paths
from medlake.synth import generate_region, residents_for_resources
from medlake.workspace import init_workspace


def synth(out_dir: Path, resources: int, seed: int, result: Path) -> None:
    clock = PhaseClock()
    with clock.phase("synth"):
        summary = generate_region(out_dir, residents=residents_for_resources(resources), seed=seed)
    clock.write(result, resources=summary.total_resources, residents=summary.residents, counts=summary.counts)


def pipeline(region: Path, home: Path, workers: int, result: Path) -> None:
    """Every institution's folder in one ``ingest_paths`` job (as ``medlake ingest fhir REGION
    --per-folder`` and the demo do), then one ``build_all``."""
    institutions = [i["id"] for i in json.loads((region / "region.json").read_text())["institutions"]]
    clock = PhaseClock()
    with clock.phase("ingest"):
        workspace = init_workspace(home, ingest_workers=workers)
        reports = ingest_paths(workspace, [(region / inst, inst) for inst in institutions])
    with clock.phase("build"):
        tables = build_all(workspace)
    totals = {
        k: sum(getattr(r, k) for r in reports) for k in ("received", "stored", "quarantined", "duplicates")
    }
    clock.write(
        result,
        **totals,
        resources=totals["received"],
        tables={t.name.removeprefix("warehouse."): t.rows for t in tables if t.name.startswith("warehouse.")},
        integrated={
            t.name.removeprefix("integrated."): t.rows for t in tables if t.name.startswith("integrated.")
        },
    )


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "synth":
        synth(Path(args[0]), int(args[1]), int(args[2]), Path(args[3]))
    elif command == "pipeline":
        pipeline(Path(args[0]), Path(args[1]), int(args[2]), Path(args[3]))
    else:
        raise SystemExit(f"unknown step {command!r}: synth | pipeline")


if __name__ == "__main__":
    main(sys.argv[1:])
