"""The measured child for the cumulus-etl peer; runs with the interpreter of ``bench/peers/cumulus-etl/venv``.

    python bench/_cumulus_runner.py REGION_DIR WORK_DIR RESULT_JSON

cumulus-etl copies every input file into one flat temporary folder by its base name, so six
institutions' ``Patient.ndjson`` would overwrite each other: the region is first staged as
hard links named ``<institution>.<Type>.ndjson`` (no data is copied; counted in the ETL phase).

The ETL itself is ``cumulus-etl etl IN OUT PHI --output-format ndjson`` with the export group
and timestamp given on the command line (there is no bulk-export ``log.ndjson``). Its default
task list needs no network: NLP tasks are opt-in, philter is opt-in (``--philter``), and the
Microsoft de-identification tool was removed from cumulus-etl before 4.x (de-identification
is its own Python scrubber and codebook, kept in the PHI folder). The Delta Lake output needs
Spark JARs from Maven, so NDJSON output is measured (4.3.6 offers only deltalake or ndjson).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from _phases import PhaseClock

EXPORT_GROUP = "medlake-bench"
EXPORT_TIMESTAMP = "2025-04-01T00:00:00Z"  # the synthetic region's export day


def stage(region: Path, flat: Path) -> None:
    """Hard-link every institution's files into one folder under unique names."""
    flat.mkdir(parents=True, exist_ok=True)
    for file in sorted(region.glob("*/*.ndjson")):
        target = flat / f"{file.parent.name}.{file.name}"
        target.unlink(missing_ok=True)
        os.link(file, target)


def count_lines(files: list[Path]) -> int:
    total = 0
    for file in files:
        with file.open("rb") as handle:
            total += sum(1 for _ in handle)
    return total


def main(region: Path, work: Path, result: Path) -> None:
    cli = Path(sys.executable).parent / "cumulus-etl"
    output, phi = work / "output", work / "phi"
    clock = PhaseClock()
    with clock.phase("ingest"):
        stage(region, work / "input")
        subprocess.run(
            [
                str(cli),
                "etl",
                str(work / "input"),
                str(output),
                str(phi),
                "--output-format",
                "ndjson",
                "--export-group",
                EXPORT_GROUP,
                "--export-timestamp",
                EXPORT_TIMESTAMP,
                "--errors-to",
                str(work / "errors"),
            ],
            check=True,
        )
    received = count_lines(sorted(region.glob("*/*.ndjson")))
    tables = {
        folder.name: count_lines(sorted(folder.glob("*.ndjson")))
        for folder in sorted(p for p in output.iterdir() if p.is_dir() and p.name != "JobConfig")
    }
    clock.write(result, resources=received, tables=tables, output=str(output))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
