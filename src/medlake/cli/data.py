"""``medlake ingest``, ``sql`` and ``quarantine``: moving and reading data (``build``: cli.building)."""

from __future__ import annotations

import csv
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medlake.cli.ingesting import expand_paths, run_ingest
from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, fail, print_json, printable, table, workspace_or_exit

if TYPE_CHECKING:
    from medlake.workspace import Workspace

ingest_app = typer.Typer(help="Receive data from an institution into the raw layer.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
    app.command("sql")(sql)
    app.command("quarantine")(quarantine)


@ingest_app.command("fhir")
def ingest_fhir(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="files or folders of FHIR R4 NDJSON (.ndjson[.gz]) or Bundles (.json); several "
            "(or a shell pattern such as exports/*.ndjson) go in as one job",
            show_default=False,
        ),
    ],
    institution: Annotated[
        str | None, typer.Option("--institution", "-i", help="the sending institution's id")
    ] = None,
    per_folder: Annotated[
        bool,
        typer.Option(
            "--per-folder",
            help="each PATH is a landing zone: each folder in it holding FHIR files is the export of "
            "the institution it is named after; all go in as one job",
        ),
    ] = False,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Ingest FHIR R4 bulk NDJSON files and Bundles: validated, de-duplicated, reconciled per file."""
    from medlake.ingest import ingest_paths, institution_folders
    from medlake.ingest.delivery import find_files

    if (institution is None) == (not per_folder):
        raise fail("give the sending institution (--institution ID), or --per-folder for a landing zone")
    found = expand_paths(paths)  # every path checked before anything is read
    if per_folder:
        sources = []
        for path in found:
            zone = institution_folders(path) if path.is_dir() else []
            if not zone:
                raise fail(f"no folder with FHIR files in {path}")
            sources += zone
        label = f"{len({name for _, name in sources})} institutions"
    else:
        sources = [(path, str(institution)) for path in found]
        label = str(institution)
    files = [f for folder, _ in sources for f in find_files(folder)]
    total = sum(_count_lines(f) for f in files) or None
    run_ingest(
        home,
        found,
        label,
        json_output,
        lambda ws, advance: ingest_paths(ws, sources, progress=advance),
        total=total,
    )


def _count_lines(file: Path) -> int:
    """A cheap size estimate for the progress bar (exact for plain NDJSON)."""
    from medlake.fhir.reading import is_gzip, is_ndjson

    if is_ndjson(file) and not is_gzip(file):
        with file.open("rb") as handle:  # by blocks: a line of any length is never held whole
            return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    return 0


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def sql(
    query: Annotated[str, typer.Argument(help="SQL; tables are named layer.name, e.g. warehouse.patient")],
    output_format: Annotated[Format, typer.Option("--format", "-f", help="output format")] = Format.table,
    limit: Annotated[int, typer.Option(help="rows to print in table format")] = 50,
    unrestricted: Annotated[
        bool,
        typer.Option(
            "--unrestricted",
            help="for a trusted local administrator only: the query may also read and write any file "
            "this user can, attach databases, load extensions and change settings",
        ),
    ] = False,
    home: Home = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="print the rows as JSON (the same as --format json)")
    ] = False,
) -> None:
    """Query the lake's tables with one read-only SQL query (files, URLs and writes are refused)."""
    from medlake.engine import QueryRefused

    if json_output:
        if output_format not in (Format.table, Format.json):
            raise fail(f"--json and --format {output_format.value} ask for two formats: give one")
        output_format = Format.json
    ws = workspace_or_exit(home)
    try:
        result = ws.sql(query, unrestricted=unrestricted)
    except QueryRefused as exc:
        raise fail(f"{exc} (a trusted local administrator may pass --unrestricted)") from None
    # any other query the engine refuses is a QueryError with the engine's message
    rows = result.to_pylist()
    if output_format is Format.json:
        print_json(rows)
    elif output_format is Format.csv:
        # a file gets the values as they are; a terminal gets its controls escaped
        escape = sys.stdout.isatty()
        columns = result.column_names
        lines = [[printable(c) if escape else c for c in columns]]
        lines += [
            [printable(row[c]) if escape and row[c] is not None else row[c] for c in columns] for row in rows
        ]
        sys.stdout.write(_csv_text(lines))
    else:
        shown = [[row[c] for c in result.column_names] for row in rows[:limit]]
        console.print(table(None, result.column_names, shown))
        if len(rows) > limit:
            console.print(f"({len(rows)} rows, {limit} shown; use --format csv or json for all)")


def _csv_text(rows: list[list[object]]) -> str:
    """CSV whose lines end with \n, as text on this system does (the csv module's default is
    \r\n). The module quotes a field holding a character of the line terminator, so with \n
    alone a value holding a lone \r would go out bare and split the row for readers that end
    lines at \r: such a row is written with every field quoted."""
    buffer = io.StringIO()
    plain = csv.writer(buffer, lineterminator="\n")
    quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        carriage_return = any(isinstance(v, str) and "\r" in v for v in row)
        (quoted if carriage_return else plain).writerow(row)
    return buffer.getvalue()


def quarantine(
    institution: Annotated[
        str | None, typer.Option("--institution", "-i", help="only this institution")
    ] = None,
    batch: Annotated[str | None, typer.Option(help="only this batch id")] = None,
    warnings: Annotated[
        bool,
        typer.Option(
            "--warnings",
            help="instead, the data-quality warnings on stored records (a status defaulted to unknown, "
            "payload keys left out, a lastUpdated too far after arrival); they are not quarantined",
        ),
    ] = False,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Every rejected record: institution, batch, file, line, stage, reason and the raw text."""
    from medlake.lake.tables import QUARANTINE, Layer

    ws = workspace_or_exit(home)
    if warnings:
        _warnings(ws, institution, batch, json_output)
        return
    data = ws.lake.read(ws.lake.uri(Layer.RAW, QUARANTINE))
    records = (
        []
        if data is None
        else data.sort_by([("received_at", "ascending"), ("line", "ascending")]).to_pylist()
    )
    records = [
        r
        for r in records
        if (institution is None or r["institution"] == institution)
        and (batch is None or r["batch_id"] == batch)
    ]
    if json_output:
        print_json(records)
        return
    rows = [
        (
            r["institution"],
            r["batch_id"][:12],
            Path(r["source_file"]).name,
            r["line"],
            r["stage"],
            r["reason"],
        )
        for r in records
    ]
    console.print(
        table(
            f"quarantine ({len(records)} records)",
            ["institution", "batch", "file", "line", "stage", "reason"],
            rows,
        )
    )


def _warnings(ws: Workspace, institution: str | None, batch: str | None, json_output: bool) -> None:
    from medlake.ingest.warnings import data_quality_warnings

    found = data_quality_warnings(ws, institution, batch)
    if json_output:
        print_json(found)
        return
    rows = [
        (
            w["institution"],
            w["batch_id"][:12],
            Path(w["source_file"]).name,
            w["line"],
            f"{w['resource_type']}/{w['resource_id']}",
            w["kind"],
            w["warning"],
        )
        for w in found
    ]
    console.print(
        table(
            f"data-quality warnings ({len(found)}; stored, not quarantined)",
            ["institution", "batch", "file", "line", "resource", "kind", "warning"],
            rows,
        )
    )
