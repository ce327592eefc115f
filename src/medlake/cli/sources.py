"""``medlake sources add|list|remove`` and ``medlake sync``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from medlake import secrets
from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, fail, print_json, printable, table, workspace_or_exit
from medlake.sources.registry import KINDS, checked_source

if TYPE_CHECKING:
    from medlake.chain import ChainReport
    from medlake.sources.sync import SourceRun

sources_app = typer.Typer(help="Register each institution's sources for medlake sync.", no_args_is_help=True)


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
        str | None, typer.Option(help="how often sync --watch runs it: 30s, 15m, 1h, 1d")
    ] = None,
    option: Annotated[list[str] | None, typer.Option(help="kind-specific KEY=VALUE (repeatable)")] = None,
    home: Home = None,
) -> None:
    """Register a source (or replace the one with this id)."""
    from medlake.sources.base import SourceConfig
    from medlake.sources.sync import parse_interval

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
    # everything that can be checked without connecting, before anything is recorded
    source = checked_source(SourceConfig(source_id, institution, kind, location, mapping, schedule, options))
    ws.catalog.add_source(
        source.id, source.institution, source.kind, source.location, source.mapping, source.schedule, options
    )
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
    from medlake.ingest import BatchOutcome

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
    chain: Annotated[
        bool,
        typer.Option(
            "--chain",
            help="then build what changed, link again and rebuild the person tables, as one job "
            "(with --watch: after every pass)",
        ),
    ] = False,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Run every registered source incrementally and report what was new, unchanged, quarantined."""
    from medlake.sources.sync import sync, watch

    ws = workspace_or_exit(home)
    if chain:
        _chain(ws, institution, watch_mode, tick, json_output)
        return
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


def _print_chain(report: ChainReport, json_output: bool) -> None:
    if json_output:
        print_json(report.as_dict())
        return
    _print_runs(report.runs, False)
    built = ", ".join(t.name for t in report.built) or "nothing (no table changed)"
    console.print(f"built: {built}", markup=False)
    if report.person.linked is not None:
        console.print("person tables: linked again, golden records and serving store rebuilt")
    for stale in report.person.stale_after:
        console.print(f"stale: {stale}", markup=False, soft_wrap=True)
    console.print(f"job {report.job_id} (medlake catalog keeps its history)", markup=False)


def _chain(ws, institution: str | None, watch_mode: bool, tick: float, json_output: bool) -> None:
    """``sync --chain``: sources, build, link, person as one job; with ``--watch``, a job per pass."""
    import time

    from medlake.chain import run_chain
    from medlake.sources.sync import is_due

    while True:
        due = [s for s in ws.catalog.sources(institution) if s.enabled and is_due(ws, s)]
        if due or not watch_mode:  # an idle pass of --watch starts no job
            report = run_chain(ws, institution, only_due=watch_mode)
            _print_chain(report, json_output)
        if not watch_mode:
            if report.failed_sources:
                raise typer.Exit(1)
            return
        try:
            time.sleep(tick)
        except KeyboardInterrupt:
            return
