"""``medlake build`` and ``medlake maintain``: keeping the layers after raw current and healthy."""

from __future__ import annotations

from typing import Annotated

import typer

from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, print_json, progress_bar, table, workspace_or_exit


def register(app: typer.Typer) -> None:
    app.command("build")(build)
    app.command("maintain")(maintain_command)


def build(
    home: Home = None,
    full: Annotated[
        bool, typer.Option("--full", help="recompute every table, not only what new data changed")
    ] = False,
    person: Annotated[
        bool | None,
        typer.Option(
            "--person/--no-person",
            help="refresh the person tables (link, golden records, serving store) if their inputs moved; "
            "default: the build_person setting (mark: only say they are stale)",
            show_default=False,
        ),
    ] = None,
    serving_index: Annotated[
        bool, typer.Option("--serving-index/--no-serving-index", help="then refresh the FHIR search index")
    ] = True,
    json_output: JsonOutput = False,
) -> None:
    """Bring the integrated layer and the warehouse up to everything ingested (only what changed)."""
    from medlake.build.maintain import maintain
    from medlake.build.run import build_all
    from medlake.chain import refresh_person_tables
    from medlake.cli.serving import refresh_serving_index

    ws = workspace_or_exit(home)
    with progress_bar("building integrated layer", None, enabled=not json_output) as advance:
        built = build_all(ws, progress=advance, full=full)
    if serving_index:
        refresh_serving_index(ws, quiet=json_output)
    refresh = person if person is not None else ws.settings.build_person == "refresh"
    derived = refresh_person_tables(ws, refresh=refresh)
    maintained = maintain(ws) if ws.settings.maintain_after_build else None
    job = next((j for j in ws.catalog.jobs(10) if j.kind == "build"), None)
    details = (job.details or {}) if job is not None else {}
    summary = [
        {"table": t.name, "version": t.version, "rows": t.rows, "rows_by_institution": t.rows_by_institution}
        for t in built
    ]
    if json_output:
        print_json(
            {
                "built": summary,
                "unchanged": details.get("unchanged", 0),
                "person": derived.as_dict(),
                "maintained": [m.as_dict() for m in maintained] if maintained is not None else None,
            }
        )
        return
    if built:
        rows = [(s["table"], s["version"], s["rows"]) for s in summary]
        console.print(table("tables built", ["table", "version", "rows"], rows))
    else:
        console.print("nothing new: every table already shows the raw layer (no table written)")
    if details.get("unchanged"):
        console.print(f"{details['unchanged']} tables were already current and left as they were")
    left_out = details.get("rejected_rows", 0)
    if left_out:
        console.print(
            f"{left_out} rows a view could not convert were left out of the warehouse; "
            "medlake quarantine lists them (stage build) with the reason"
        )
    if derived.linked is not None:
        console.print("person tables refreshed: linked again, golden records and serving store rebuilt")
    for stale in derived.stale_after:
        console.print(f"stale: {stale}", markup=False, soft_wrap=True)
    if maintained:
        compacted = sum(m.files_before - m.files_after for m in maintained)
        vacuumed = sum(m.files_vacuumed for m in maintained)
        console.print(f"maintenance: {compacted} files compacted away, {vacuumed} vacuumed")


def maintain_command(
    home: Home = None,
    retention_hours: Annotated[
        int | None,
        typer.Option(
            help="keep files older versions need for this long [default: vacuum_retention_hours, 168]"
        ),
    ] = None,
    target_file_mb: Annotated[
        int | None,
        typer.Option(help="compact small files up to this size [default: maintain_target_file_mb]"),
    ] = None,
    table_name: Annotated[
        list[str] | None, typer.Option("--table", help="only this table, e.g. raw.resources (repeatable)")
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Compact small files and vacuum files no version within the retention needs."""
    ws = workspace_or_exit(home)
    from medlake.build.maintain import maintain

    done = maintain(ws, retention_hours=retention_hours, target_file_mb=target_file_mb, only=table_name)
    if json_output:
        print_json([m.as_dict() for m in done])
        return
    rows = [
        (
            m.name,
            f"{m.version_before} -> {m.version_after}",
            f"{m.files_before} -> {m.files_after}",
            m.files_vacuumed,
        )
        for m in done
    ]
    console.print(table("maintenance", ["table", "version", "data files", "files vacuumed"], rows))
