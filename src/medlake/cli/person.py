"""``medlake person``: one resident's record across institutions, and the build that serves it.

``medlake person GLOBAL_ID`` prints the golden demographics with the record each field came
from, the timeline and a summary of the observation series (``--json``: the whole record);
``medlake person build`` rebuilds ``warehouse.person_golden`` and the serving store after
linking. ``build`` cannot be mistaken for an id: global ids are ``P`` and upper-case base32
(medlake.mpi.ids).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, errors, fail, print_json, progress_bar, table, workspace_or_exit

if TYPE_CHECKING:
    from medlake.person.record import PersonRecord
    from medlake.workspace import Workspace

BUILD = "build"


def register(app: typer.Typer) -> None:
    app.command("person")(person)


def person(
    target: Annotated[
        str,
        typer.Argument(
            metavar="GLOBAL_ID|build",
            help="a global person id (warehouse.person_link.person_id), or build to rebuild the golden "
            "table and the serving store after linking",
        ),
    ],
    home: Home = None,
    source: Annotated[
        str, typer.Option(help="auto (the store if built), store, or direct (the Delta warehouse)")
    ] = "auto",
    limit: Annotated[int, typer.Option(help="timeline rows to print (all with --json)")] = 50,
    json_output: JsonOutput = False,
) -> None:
    """One person's record across institutions (or medlake person build)."""
    from medlake.person import person_record

    ws = workspace_or_exit(home)
    if target == BUILD:
        _build(ws, json_output)
        return
    if source not in ("auto", "store", "direct"):
        raise fail(f"--source must be auto, store or direct, not {source!r}")
    record = person_record(ws, target, source)  # type: ignore[arg-type]
    if json_output:
        print_json(record.as_dict())
        return
    _show(record, limit)


def _build(ws: Workspace, json_output: bool) -> None:
    from medlake.person import build_golden, refresh_serving_store

    golden = build_golden(ws)
    with progress_bar("serving store rows", None, enabled=not json_output) as advance:
        store = refresh_serving_store(ws, advance)
    if json_output:
        print_json(
            {
                "golden": {"table": golden.table, "version": golden.version, "persons": golden.persons},
                "store": store.as_dict(),
            }
        )
        return
    rows = [
        ("persons", f"{golden.persons:,}"),
        ("golden table", f"{golden.table} (version {golden.version})"),
        ("serving store", store.as_dict()["url"]),
        *((f"  {name}", f"{count:,}") for name, count in store.rows.items()),
        ("seconds", f"{store.seconds:.1f}"),
    ]
    console.print(table("person record build", ["measure", "value"], rows))


def _show(record: PersonRecord, limit: int) -> None:
    from medlake.person import FIELD_GROUPS

    sources = record.sources()
    rows = []
    for group, (fields, rule) in FIELD_GROUPS.items():
        value = " ".join(str(record.golden[f]) for f in fields if record.golden.get(f) is not None)
        cited = sources[group]
        rows.append((group, value, cited["institution"], cited["patient_id"], rule.value))
    g = record.golden
    console.print(
        table(
            f"person {record.person_id}: {g['records']} record(s) at {g['institutions']} ({record.source})",
            ["field", "value", "from institution", "from patient", "rule"],
            rows,
        )
    )
    timeline = record.timeline
    shown = timeline.head(limit)
    console.print(
        table(
            f"timeline: {len(timeline):,} events"
            + (f" (first {limit}; --json for all)" if len(timeline) > limit else ""),
            ["time", "kind", "code", "display", "value", "institution", "source id"],
            [
                (r.time, r.kind, r.code, r.display, _value(r.value, r.unit), r.institution, r.source_id)
                for r in shown.itertuples()
            ],
        )
    )
    summary = record.series_summary()
    console.print(
        table(
            f"observation series: {len(record.observations):,} values",
            ["code", "series", "count", "latest", "at"],
            [
                (r.code, r.name, r.count, _value(r.latest_value, r.unit), r.latest_time)
                for r in summary.itertuples()
            ],
        )
    )
    if record.timeline.empty and record.observations.empty:
        errors.print("no clinical rows for this person's patients")


def _value(value: float | None, unit: str | None) -> str:
    if value is None or value != value:  # NaN
        return ""
    text = f"{value:g}"
    return f"{text} {unit}" if unit else text
