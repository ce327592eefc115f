"""``medlake sync``: run every registered source of the region (or of one institution) once.

``watch`` repeats that on each source's schedule (an interval such as ``15m``, ``1h`` or
``30s``); a source without a schedule runs on every pass.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from medlake import secrets
from medlake.catalog.models import Source
from medlake.errors import InputError
from medlake.ingest import BatchOutcome, BatchReport
from medlake.sources.base import SourceConfig
from medlake.sources.registry import source_kind
from medlake.workspace import Workspace

_INTERVAL = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
LAST_RUN = "sync.last_run"


@dataclass
class SourceRun:
    """What one run of one source brought: new, changed, quarantined — or why it failed."""

    source: str
    institution: str
    kind: str
    batches: int = 0
    received: int = 0
    new: int = 0
    unchanged: int = 0
    quarantined: int = 0
    skipped: int = 0  # files of the landing folder not read (each report says why)
    error: str | None = None
    reports: list[BatchReport] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "reports"}
        data["reports"] = [r.as_dict() for r in self.reports]
        return data


def parse_interval(schedule: str) -> timedelta:
    match = _INTERVAL.match(schedule.strip())
    if not match:
        raise InputError(f"schedule {schedule!r} is not an interval like 30s, 15m, 1h or 1d")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def config_for(workspace: Workspace, source: Source) -> SourceConfig:
    """The source with its ``${SECRETS}`` resolved; the resolved text lives only in memory."""
    return SourceConfig(
        id=source.id,
        institution=source.institution_id,
        kind=source.kind,
        location=secrets.resolve(source.location, workspace.home),
        mapping=source.mapping,
        schedule=source.schedule,
        options=dict(source.options or {}),
    )


def run_source(
    workspace: Workspace, source: Source, progress: Callable[[int], None] | None = None
) -> SourceRun:
    """Run one source; a failure is reported (with secrets redacted), never raised past the run."""
    result = SourceRun(source.id, source.institution_id, source.kind)
    try:
        reports = source_kind(source.kind).sync(workspace, config_for(workspace, source), progress)
    except Exception as exc:  # one source's failure must not stop the others
        result.error = secrets.redact(f"{type(exc).__name__}: {exc}")
        return result
    result.reports = reports
    result.skipped = sum(1 for r in reports if r.status == BatchOutcome.SKIPPED)
    result.batches = len(reports) - result.skipped
    result.received = sum(r.received for r in reports)
    result.new = sum(r.stored for r in reports)
    result.unchanged = sum(r.duplicates for r in reports)
    result.quarantined = sum(r.quarantined for r in reports)
    workspace.catalog.set_state(source.id, LAST_RUN, datetime.now(UTC).isoformat())
    return result


def sync(
    workspace: Workspace,
    institution: str | None = None,
    only_due: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[SourceRun]:
    """Run the registered sources once (``only_due``: those whose schedule says it is time)."""
    runs = []
    for source in workspace.catalog.sources(institution):
        if not source.enabled or (only_due and not is_due(workspace, source)):
            continue
        runs.append(run_source(workspace, source, progress))
    return runs


def is_due(workspace: Workspace, source: Source, now: datetime | None = None) -> bool:
    if not source.schedule:
        return True
    last = workspace.catalog.get_state(source.id, LAST_RUN)
    if last is None:
        return True
    return (now or datetime.now(UTC)) - datetime.fromisoformat(last) >= parse_interval(source.schedule)


def watch(
    workspace: Workspace,
    institution: str | None,
    on_pass: Callable[[list[SourceRun]], None],
    tick: float = 5.0,
    passes: int | None = None,
) -> None:
    """Keep running due sources until interrupted (or for ``passes`` passes, for tests)."""
    done = 0
    while passes is None or done < passes:
        runs = sync(workspace, institution, only_due=True)
        if runs:
            on_pass(runs)
        done += 1
        if passes is None or done < passes:
            time.sleep(tick)
