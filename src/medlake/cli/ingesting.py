"""What every ``medlake ingest …`` command shares: the institution option, the run, the report."""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medlake.cli.output import console, fail, print_json, printable, progress_bar, table, workspace_or_exit

if TYPE_CHECKING:
    from medlake.ingest import BatchReport
    from medlake.workspace import Workspace

Institution = Annotated[str, typer.Option("--institution", "-i", help="the sending institution's id")]
Ingest = Callable[["Workspace", Callable[[int], None]], "list[BatchReport]"]


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """The paths given, each checked to exist before anything is read; a pattern the shell did not
    expand (quoted, or a shell without globbing) is expanded here. Raises the ``no such file``
    exit for the first that is missing, so a typo loses nothing and ingests nothing."""
    found: list[Path] = []
    for path in paths:
        if path.exists():
            found.append(path)
            continue
        matches = sorted(glob.glob(str(path))) if glob.has_magic(str(path)) else []
        if not matches:
            raise fail(f"no such file or folder: {path}")
        found += [Path(m) for m in matches]
    return list(dict.fromkeys(found))  # a file named twice goes in once


def paths_argument(help_text: str) -> typer.models.ArgumentInfo:
    """The ``PATH...`` argument of an ingest command: one or more files or folders (or patterns)."""
    return typer.Argument(
        metavar="PATH", help=f"{help_text}; several go in one after the other", show_default=False
    )


def each_path(
    paths: Sequence[Path], ingest_one: Callable[[Workspace, Path, Callable[[int], None]], list[BatchReport]]
) -> Ingest:
    """An ``Ingest`` that runs ``ingest_one`` on each of ``paths`` (patterns expanded, all checked
    to exist before the first is read), reports in order."""
    found = expand_paths(paths)
    return lambda ws, advance: [report for path in found for report in ingest_one(ws, path, advance)]


def run_ingest(
    home: Path | None,
    path: Path | Sequence[Path],
    sender: str,
    json_output: bool,
    ingest: Ingest,
    *,
    total: int | None = None,
) -> list[BatchReport]:
    """Open the workspace, check the inputs exist, run ``ingest`` with a progress bar, print reports.

    ``sender`` names who sent it, for the progress bar (an institution's id, usually).
    """
    ws = workspace_or_exit(home)
    expand_paths([path] if isinstance(path, Path) else path)
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
    from medlake.ingest import BatchOutcome

    for r in reports:
        if r.status == BatchOutcome.SKIPPED:
            console.print(printable(f"skipped {r.source}: {r.reason}"), markup=False, highlight=False)
