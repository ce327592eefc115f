"""``medlake sources add|list|remove`` and ``medlake sync``."""

from __future__ import annotations

from typing import Annotated

import typer

from medlake import secrets
from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, fail, print_json, printable, table, workspace_or_exit
from medlake.ingest import BatchOutcome
from medlake.sources.registry import KINDS
from medlake.sources.sync import SourceRun, parse_interval, sync, watch

sources_app = typer.Typer(
    help="Register each institution's sources for `medlake sync`.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
    app.command("sync")(sync_command)


@sources_app.command("add")
def add(
    source_id: Annotated[str, typer.Argument(help="a name for the source, e.g. hosp-north-his")],
    institution: Annotated[str, typer.Option("--institution", "-i", help="the institution it belongs to")],
    kind: Annotated[str, typer.Option(help=f"one of: {', '.join(sorted(KINDS))}")],
    location: Annotated[str, typer.Option(help="folder, file or URL; write passwords as ${VAR}")],
    mapping: Annotated[str | None, typer.Option(help="mapping file, for kinds that need one")] = None,
    schedule: Annotated[
        str | None, typer.Option(help="how often `sync --watch` runs it: 30s, 15m, 1h, 1d")
    ] = None,
    option: Annotated[list[str] | None, typer.Option(help="kind-specific KEY=VALUE (repeatable)")] = None,
    home: Home = None,
) -> None:
    """Register a source (or replace the one with this id)."""
    ws = workspace_or_exit(home)
    if kind not in KINDS:
        raise fail(f"unknown kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    secrets.check_no_literal_secret("the location", location)
    if schedule:
        parse_interval(schedule)
    options = {}
    for item in option or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--option takes KEY=VALUE, not {item!r}")
        secrets.check_no_literal_secret(f"option {key}", item)
        options[key] = value
    ws.catalog.add_source(source_id, institution, kind, location, mapping, schedule, options)
    console.print(f"source {source_id} ({kind}) registered for {institution}")


@sources_app.command("list")
def list_sources(
    institution: Annotated[str | None, typer.Option("--institution", "-i")] = None,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """The registered sources."""
    ws = workspace_or_exit(home)
    rows = [
        {
            "id": s.id,
            "institution": s.institution_id,
            "kind": s.kind,
            "location": secrets.redact(s.location),
            "mapping": s.mapping,
            "schedule": s.schedule,
            "options": s.options,
            "last_run": ws.catalog.get_state(s.id, "sync.last_run"),
        }
        for s in ws.catalog.sources(institution)
    ]
    if json_output:
        print_json(rows)
        return
    columns = ["id", "institution", "kind", "location", "mapping", "schedule", "last_run"]
    console.print(table("sources", columns, [[r[c] for c in columns] for r in rows]))


@sources_app.command("remove")
def remove(source_id: Annotated[str, typer.Argument()], home: Home = None) -> None:
    """Forget a source and its incremental state (the data it brought stays)."""
    ws = workspace_or_exit(home)
    if not ws.catalog.remove_source(source_id):
        raise fail(f"no source {source_id!r}")
    console.print(f"source {source_id} removed")


def _print_runs(runs: list[SourceRun], json_output: bool) -> None:
    if json_output:
        print_json([r.as_dict() for r in runs])
        return
    rows = [
        (
            r.source,
            r.institution,
            r.kind,
            r.batches,
            r.received,
            r.new,
            r.unchanged,
            r.quarantined,
            r.skipped,
            r.error or "ok",
        )
        for r in runs
    ]
    columns = [
        "source",
        "institution",
        "kind",
        "batches",
        "received",
        "new",
        "unchanged",
        "quarantined",
        "skipped files",
        "status",
    ]
    console.print(table("sync", columns, rows))
    for run in runs:
        for report in run.reports:
            if report.status == BatchOutcome.SKIPPED:
                line = f"{run.source}: skipped {report.source}: {report.reason}"
                console.print(printable(line), markup=False, highlight=False)


def sync_command(
    institution: Annotated[
        str | None, typer.Option("--institution", "-i", help="only this institution")
    ] = None,
    watch_mode: Annotated[
        bool, typer.Option("--watch", help="keep running sources on their schedules")
    ] = False,
    tick: Annotated[float, typer.Option(help="seconds between schedule checks in --watch")] = 5.0,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Run every registered source incrementally and report what was new, unchanged, quarantined."""
    ws = workspace_or_exit(home)
    if watch_mode:
        try:
            watch(ws, institution, lambda runs: _print_runs(runs, json_output), tick=tick)
        except KeyboardInterrupt:
            return
        return
    runs = sync(ws, institution)
    _print_runs(runs, json_output)
    if any(r.error for r in runs):
        raise typer.Exit(1)
