"""Incremental build: seconds to build +1 % new data against a full build of the same region.

The region is synthesised at ``--resources`` (default 1 M) and every institution's files are
cut in two: the first 99 % of each file's lines (the base) and the last 1 % (a later
delivery: new resources and newer versions of earlier ones, as the synthesiser writes them
in time order). Then, in one workspace:

1. ingest the base; ``build_all`` (the first build: everything is new);
2. ``build_all`` again with nothing new (it must commit nothing);
3. ingest the delivery; ``build_all`` (incremental: merges the changed resources, recomputes the
   views of the changed institutions);
4. fingerprint every integrated and warehouse table (row count and an order-free hash of the rows);
5. ``build_all(full=True)`` over the same raw layer (what every build did before), and
   fingerprint again: the two must be equal.

    python bench/build_incremental.py --resources 1000000 --work /tmp/bench-incremental
    python bench/build_incremental.py --resources 1000000 --out docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from medlake.build.run import build_all
from medlake.ingest import ingest_paths
from medlake.lake.scan import scanned
from medlake.synth import generate_region, residents_for_resources
from medlake.workspace import Workspace, init_workspace

START = "<!-- build_incremental:start -->"
END = "<!-- build_incremental:end -->"


def split_region(region: Path, out: Path, fraction: float) -> tuple[Path, Path, int]:
    """``out/base/<institution>/…`` and ``out/delivery/<institution>/…``; returns the delivery's lines."""
    shutil.rmtree(out, ignore_errors=True)
    delivered = 0
    for folder in sorted(p for p in region.iterdir() if p.is_dir() and p.name != "truth"):
        for file in sorted(folder.glob("*.ndjson")):
            lines = file.read_bytes().splitlines(keepends=True)
            cut = len(lines) - max(1, round(len(lines) * fraction)) if len(lines) > 1 else len(lines)
            for part, chunk in (("base", lines[:cut]), ("delivery", lines[cut:])):
                if chunk:
                    target = out / part / folder.name / file.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(b"".join(chunk))
            delivered += len(lines) - cut
    return out / "base", out / "delivery", delivered


def timed(step, *args, **kwargs) -> tuple[float, float, object]:
    """Wall seconds, CPU seconds (this process and its children) and the result of ``step``."""

    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    wall, used = time.perf_counter(), cpu()
    result = step(*args, **kwargs)
    return time.perf_counter() - wall, cpu() - used, result


def fingerprints(workspace: Workspace) -> dict[str, tuple[int, int]]:
    """Per integrated and warehouse table: rows and the XOR of the rows' hashes (order-free)."""
    found = {}
    lake = workspace.lake
    with workspace.engine() as engine:
        for layer in ("integrated", "warehouse"):
            for name in lake.tables(layer):
                uri = lake.uri(layer, name)
                table = lake.table(uri)
                assert table is not None
                with scanned(engine, "fingerprinted", uri, table):
                    rows, digest = (
                        engine.sql("SELECT count(*), coalesce(bit_xor(hash(f)), 0) FROM fingerprinted f")
                        .to_pylist()[0]
                        .values()
                    )
                found[f"{layer}.{name}"] = (int(rows), int(digest))
    return found


def versions(workspace: Workspace) -> dict[str, int]:
    lake = workspace.lake
    return {
        f"{layer}.{name}": lake.table(lake.uri(layer, name)).version()  # type: ignore[union-attr]
        for layer in ("raw", "integrated", "warehouse")
        for name in lake.tables(layer)
    }


def ingest(workspace: Workspace, folder: Path) -> int:
    reports = ingest_paths(workspace, [(p, p.name) for p in sorted(folder.iterdir()) if p.is_dir()])
    return sum(r.stored for r in reports)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--fraction", type=float, default=0.01, help="share of each file in the delivery")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-build-incremental"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, help="write the results into this markdown file's section")
    parser.add_argument(
        "--reuse-region", action="store_true", help="keep the region a previous run synthesised in --work"
    )
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    region = args.work / f"region-{args.resources}"
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    summary_file = region / "bench-summary.json"
    if args.reuse_region and summary_file.exists():
        synth_s, total = json.loads(summary_file.read_text())
    else:
        synth_s, _, summary = timed(
            generate_region, region, residents=residents_for_resources(args.resources), seed=args.seed
        )
        total = summary.total_resources
        summary_file.write_text(json.dumps([synth_s, total]))
    base, delivery, delivered = split_region(region, args.work / "split", args.fraction)
    home = args.work / "ws"
    shutil.rmtree(home, ignore_errors=True)
    ws = init_workspace(home, ingest_workers=args.workers)

    ingest_base_s, _, stored_base = timed(ingest, ws, base)
    first_s, first_cpu, first = timed(build_all, ws)
    before = versions(ws)
    idle_s, idle_cpu, idle = timed(build_all, ws)
    assert idle == [] and versions(ws) == before, "a build with nothing new wrote something"
    ingest_delivery_s, _, stored_delivery = timed(ingest, ws, delivery)
    incremental_s, incremental_cpu, incremental = timed(build_all, ws)
    after_incremental = fingerprints(ws)
    full_s, full_cpu, full = timed(build_all, ws, full=True)
    after_full = fingerprints(ws)
    equal = after_incremental == after_full

    rows = [
        ("first build (base, everything new)", first_s, first_cpu, len(first)),
        ("build with nothing new", idle_s, idle_cpu, len(idle)),
        (
            f"incremental build (+{args.fraction:.0%}: {stored_delivery:,} new rows)",
            incremental_s,
            incremental_cpu,
            len(incremental),
        ),
        ("full build (--full) of the same data", full_s, full_cpu, len(full)),
    ]
    result = {
        "resources": total,
        "delivered_lines": delivered,
        "stored_base": stored_base,
        "stored_delivery": stored_delivery,
        "synth_s": round(synth_s, 1),
        "ingest_base_s": round(ingest_base_s, 1),
        "ingest_delivery_s": round(ingest_delivery_s, 1),
        "steps": [
            {"step": s, "seconds": round(w, 2), "cpu_s": round(c, 1), "tables_written": n}
            for s, w, c, n in rows
        ],
        "speedup": round(full_s / incremental_s, 1),
        "incremental_equals_full": equal,
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "load_before": round(load_before, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        write(args, result)
    if not equal:
        raise SystemExit("the incremental build differs from the full build")


def write(args: argparse.Namespace, result: dict) -> None:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    lines = [
        START,
        "Command: `python bench/build_incremental.py "
        f"--resources {args.resources} --fraction {args.fraction}`",
        f"(started {result['started']} UTC, load average {result['load_before']} before, "
        f"{result['load_after']} after; {cpu}, `nproc` = "
        f"{os.cpu_count()}, {memory} GB RAM, Python {platform.python_version()}; the machine is shared).",
        "",
        f"Region: {result['resources']:,} resources (synth {result['synth_s']} s); base ingest "
        f"{result['stored_base']:,} rows in {result['ingest_base_s']} s; delivery "
        f"{result['stored_delivery']:,} new raw rows in {result['ingest_delivery_s']} s.",
        "",
        "| build | seconds | CPU s | tables written |",
        "|---|---:|---:|---:|",
        *(
            f"| {s['step']} | {s['seconds']} | {s['cpu_s']} | {s['tables_written']} |"
            for s in result["steps"]
        ),
        "",
        f"Incremental against full on the same data: **{result['speedup']}× faster**; the two builds' "
        f"tables are {'identical' if result['incremental_equals_full'] else 'DIFFERENT'} "
        "(row count and an order-free hash of every row of every integrated and warehouse table).",
        END,
    ]
    text = args.out.read_text()
    block = "\n".join(lines)
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = (
            text.rstrip("\n") + "\n\n## Incremental build (`bench/build_incremental.py`)\n\n" + block + "\n"
        )
    args.out.write_text(text)


if __name__ == "__main__":
    main()
