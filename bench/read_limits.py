"""What the reading limits cost on the hot path: splitting an NDJSON file and judging its lines.

The size limits (``ingest_max_line_bytes``, ``ingest_max_resource_bytes``) are checked while an
NDJSON file is split into spans (one ``rfind`` per 4 MiB read) and while a worker judges a
span's lines (two length comparisons per line). This times both steps, in one process, over a
synthetic file of Patients and Observations, so the figure can be compared with a checkout
from before the limits (run it with ``PYTHONPATH=<other checkout>/src``). Times are the
process's CPU time (``time.process_time``), which a machine shared with other work disturbs
far less than the wall clock.

    python bench/read_limits.py --lines 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from medlake.fhir import structs
from medlake.fhir.reading import NdjsonSpan, ndjson_spans
from medlake.ingest.examine import Destination, Task, examine_work


def write_file(path: Path, lines: int) -> None:
    with path.open("wb") as handle:
        for n in range(lines):
            if n % 4 == 0:
                resource = {
                    "resourceType": "Patient",
                    "id": f"p-{n}",
                    "gender": "female",
                    "birthDate": "1980-02-14",
                    "name": [{"family": "Example", "given": ["Ann", "Marie"]}],
                }
            else:
                resource = {
                    "resourceType": "Observation",
                    "id": f"o-{n}",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "subject": {"reference": f"Patient/p-{n - n % 4}"},
                    "effectiveDateTime": "2024-03-01T08:30:00Z",
                    "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org"},
                }
            handle.write(orjson.dumps(resource) + b"\n")


def measure(path: Path, chunk: int) -> tuple[float, float, int]:
    started = time.process_time()
    spans = list(ndjson_spans(path, chunk))
    split = time.process_time() - started
    destination = Destination("bench", datetime.now(UTC), None)  # type: ignore[arg-type]
    started = time.process_time()
    accepted = 0
    for number, span in enumerate(spans):
        assert isinstance(span, NdjsonSpan)
        # file_rows above the chunk: rows come back as a record batch, no file is written
        result = examine_work(Task(number, "", chunk + 1, destination, span))
        accepted += result.accepted
    return split, time.process_time() - started, accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    structs.decoder()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.ndjson"
        write_file(path, args.lines)
        size = path.stat().st_size
        runs = [measure(path, args.chunk) for _ in range(args.repeat)]
    split = min(r[0] for r in runs)
    judge = min(r[1] for r in runs)
    assert all(r[2] == args.lines for r in runs)
    print(f"{args.lines} lines, {size / 1e6:.1f} MB; best of {args.repeat}")
    print(f"split:  {split:.3f} s  ({size / split / 1e6:.0f} MB/s)")
    print(f"judge:  {judge:.3f} s  ({args.lines / judge:,.0f} lines/s, one process)")


if __name__ == "__main__":
    main()
