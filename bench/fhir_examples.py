"""Robustness run: ingest the official FHIR R4 example resources and report the quarantine.

The examples (npm package ``hl7.fhir.r4.examples`` 4.0.1, CC0; 5,306 files of 140 types)
are fetched with ``npm pack`` into a temporary folder, never into the project. Every
resource must be stored, counted as a duplicate, or quarantined with a reason; the
report (markdown) is what ``docs/ingestion.md`` quotes.

    python bench/fhir_examples.py [--workers 2] [--out report.md]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

from medlake.fhir.definitions import PACKAGE, fetch
from medlake.ingest import ingest_path
from medlake.lake.tables import QUARANTINE, Layer
from medlake.workspace import init_workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the markdown report here as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        package = fetch(Path(tmp))
        files = [p for p in package.glob("*.json") if p.name != "package.json"]
        examples = Path(tmp) / "examples"
        examples.mkdir()
        for file in files:
            (examples / file.name).symlink_to(file)
        ws = init_workspace(Path(tmp) / "ws", ingest_workers=args.workers)
        start = time.perf_counter()
        reports = ingest_path(ws, examples, "r4-examples")
        seconds = time.perf_counter() - start
        quarantine = ws.lake.read(ws.lake.uri(Layer.RAW, QUARANTINE))
        rows = [] if quarantine is None else quarantine.to_pylist()
    accounted = ("stored", "duplicates", "quarantined")
    totals = {
        k: sum(getattr(r, k) for r in reports) for k in ("received", "stored", "quarantined", "duplicates")
    }
    lines = [
        f"Input: `{PACKAGE}`, {len(files)} files; Bundles unpacked into their entries.",
        "",
        "| received | stored | duplicates | quarantined | seconds |",
        "|---:|---:|---:|---:|---:|",
        f"| {totals['received']} | {totals['stored']} | {totals['duplicates']} | {totals['quarantined']} "
        f"| {seconds:.0f} |",
        "",
        f"Reconciles: {totals['received'] == sum(totals[k] for k in accounted)}.",
        "",
        "| file | entry | stage | reason |",
        "|---|---:|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (Path(r["source_file"]).name, r["line"])):
        reason = row["reason"].replace("|", "\\|")
        lines.append(f"| {Path(row['source_file']).name} | {row['line']} | {row['stage']} | {reason} |")
    by_stage = collections.Counter(r["stage"] for r in rows)
    lines += ["", "By stage: " + ", ".join(f"{k} {v}" for k, v in sorted(by_stage.items()))]
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
