"""How long ``medlake --help`` takes: wall clock and CPU, median of several runs.

Usage::

    .venv/bin/python bench/cli_startup.py --runs 5
    .venv/bin/python bench/cli_startup.py --runs 5 --baseline ../main/src   # an older tree beside

Each run is a fresh interpreter (``python -c "from medlake.cli import main; main()" --help``)
with ``PYTHONPATH`` set to the tree measured, so both trees use this venv's libraries and only
medlake's own imports differ. CPU time (user + system of the child) is printed beside the wall
clock because the machine is shared: the wall clock grows with everyone else's load, the CPU
time much less. The two trees' runs alternate, so a change of load hits both alike. The last
column lists the heavy libraries the command imported just to print its help.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("duckdb", "deltalake", "splink", "pyarrow", "pandas", "sqlalchemy", "alembic", "pydantic")
PROBE = (
    "import sys, io, contextlib\n"
    "from medlake.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    try:\n"
    "        main()\n"
    "    except SystemExit:\n"
    "        pass\n"
    f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
)


def one_run(source: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, heavy modules imported) for one ``medlake --help``."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--help"], env=env, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.strip() or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another tree's src/ to compare with")
    args = parser.parse_args()
    trees = {"this tree": SOURCE}
    if args.baseline:
        trees = {"baseline": args.baseline.resolve(), **trees}
    results: dict[str, list[tuple[float, float, str]]] = {name: [] for name in trees}
    for _ in range(args.runs):
        for name, source in trees.items():
            results[name].append(one_run(source))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.runs} runs each")
    print(f"{'tree':<10} {'wall s (median)':>16} {'CPU s (median)':>15}  heavy modules imported")
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"{name:<10} {wall:>16.2f} {cpu:>15.2f}  {runs[-1][2]}")


if __name__ == "__main__":
    main()
