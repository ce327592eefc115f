"""Running one system as a child process and measuring its wall time and peak memory.

Every system (medlake, each peer, the synthesiser) runs in its own process tree so the
memory figures are per system. Peak memory is the peak of the *sum* of RSS over the whole
tree, sampled with psutil: ``/usr/bin/time -v`` and ``getrusage`` report the largest single
process only, which would hide medlake's worker pool and any subprocess a peer starts.

The child reports its own phase boundaries (wall-clock epochs) in a JSON result file, so
the sampler's time series can be cut into a peak per phase without a second run.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

#: Sampling period of the RSS poller. Phases last seconds to minutes; 50 ms catches the peaks
#: of DuckDB queries and pool start-up while costing well under 1% of a core.
SAMPLE_SECONDS = 0.05


class RunFailed(RuntimeError):
    """A measured child exited non-zero; the message carries its command and the end of its log."""


@dataclass
class Phase:
    name: str
    start: float  # epoch seconds, from the child
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Measured:
    """What one run of one system produced: wall time, memory, the child's own report."""

    wall_seconds: float
    cpu_seconds: float  # user + system of the whole tree: steadier than wall time on a shared machine
    peak_rss: int
    phases: list[Phase]
    phase_peak_rss: dict[str, int]
    result: dict = field(default_factory=dict)


def tree_rss(process: psutil.Process) -> int:
    """RSS of a process and all its descendants; processes that end while we look count as 0."""
    total = 0
    for member in [process, *_children(process)]:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return []


def run_measured(
    command: Sequence[str],
    result_file: Path,
    log_file: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Measured:
    """Run ``command`` to completion, sampling its tree's RSS, and read the JSON it leaves in ``result_file``.

    The child must write ``{"phases": [[name, start_epoch, end_epoch], ...], ...}``; anything
    else in that object is passed through as :attr:`Measured.result`.
    """
    result_file.unlink(missing_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    samples: list[tuple[float, int]] = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log_file.open("wb") as log:
        start = time.perf_counter()
        child = subprocess.Popen(
            list(command), stdout=log, stderr=subprocess.STDOUT, env=env or os.environ.copy(), cwd=cwd
        )
        watched = psutil.Process(child.pid)
        while child.poll() is None:
            samples.append((time.time(), tree_rss(watched)))
            time.sleep(SAMPLE_SECONDS)
        wall = time.perf_counter() - start
    # reaped descendants' CPU time is summed into RUSAGE_CHILDREN (pool workers, DuckDB threads, a
    # peer's own subprocesses): the delta is this tree's CPU time
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if child.returncode != 0:
        tail = log_file.read_text(errors="replace")[-3000:]
        raise RunFailed(f"{' '.join(command)} exited with {child.returncode}; end of {log_file}:\n{tail}")
    if not result_file.exists():
        raise RunFailed(f"{' '.join(command)} exited 0 but wrote no result file {result_file}")
    result = json.loads(result_file.read_text())
    phases = [Phase(name, float(a), float(b)) for name, a, b in result.pop("phases")]
    return Measured(
        wall_seconds=wall,
        cpu_seconds=cpu,
        peak_rss=max((rss for _, rss in samples), default=0),
        phases=phases,
        phase_peak_rss={
            p.name: max((rss for at, rss in samples if p.start <= at <= p.end), default=0) for p in phases
        },
        result=result,
    )


def in_child(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``function(*args)`` in a freshly spawned process, so that its peak memory is its own.

    Returns the function's result, or ``{"error": "..."}`` when it raised: the parent waits on
    the queue and must never be left hanging by a child that died.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_report, args=(function, args, queue))
    child.start()
    outcome = queue.get()
    child.join()
    return outcome


def _report(function: Callable[..., dict[str, Any]], args: tuple, queue: Any) -> None:
    try:
        queue.put(function(*args))
    except BaseException as exc:
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        raise
