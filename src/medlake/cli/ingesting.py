"""What every ``medlake ingest …`` command shares: the institution option, the run, the report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from medlake.cli.output import console, fail, print_json, printable, progress_bar, table, workspace_or_exit
from medlake.ingest import BatchOutcome, BatchReport
from medlake.workspace import Workspace

Institution = Annotated[str, typer.Option("--institution", "-i", help="the sending institution's id")]
Ingest = Callable[[Workspace, Callable[[int], None]], list[BatchReport]]


def run_ingest(
    home: Path | None,
    path: Path,
    sender: str,
    json_output: bool,
    ingest: Ingest,
    *,
    total: int | None = None,
) -> list[BatchReport]:
    """Open the workspace, check the input exists, run ``ingest`` with a progress bar, print reports.

    ``sender`` names who sent it, for the progress bar (an institution's id, usually).
    """
    ws = workspace_or_exit(home)
    if not path.exists():
        raise fail(f"no such file or folder: {path}")
    with progress_bar(f"ingesting {sender}", total, enabled=not json_output) as advance:
        reports = ingest(ws, advance)
    print_batch_reports(reports, json_output)
    return reports


def print_batch_reports(reports: list[BatchReport], json_output: bool) -> None:
    if json_output:
        print_json([r.as_dict() for r in reports])
        return
    several = len({r.institution for r in reports}) > 1  # a landing zone: say whose file each is
    rows = [
        (
            f"{r.institution}/{Path(r.source).name}" if several else Path(r.source).name,
            r.status,
            r.received,
            r.stored,
            r.quarantined,
            r.duplicates,
            r.unresolved_references,
        )
        for r in reports
    ]
    totals = [
        sum(getattr(r, k) for r in reports) for k in ("received", "stored", "quarantined", "duplicates")
    ]
    rows.append(("total", "", *totals, sum(r.unresolved_references for r in reports)))
    columns = ["file", "status", "received", "stored", "quarantined", "duplicates", "unresolved refs"]
    console.print(table("batches", columns, rows))
    for r in reports:
        if r.status == BatchOutcome.SKIPPED:
            console.print(printable(f"skipped {r.source}: {r.reason}"), markup=False, highlight=False)
