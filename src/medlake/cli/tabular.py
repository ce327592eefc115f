"""``medlake ingest csv|excel|sql``: exports and hospital databases, converted by declarative mappings.

Also the demo data for them: ``synth_his`` (a demo HIS in any database) and
``synth_exports`` (the region's CSV/Excel exports), command functions the main app wires.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from medlake import secrets
from medlake.cli.ingesting import Institution, each_path, paths_argument, print_batch_reports, run_ingest
from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, print_json, progress_bar, workspace_or_exit

MappingOption = Annotated[
    str,
    typer.Option("--mapping", "-m", help="mapping file (YAML), or a shipped mapping's name (e.g. his-demo)"),
]
TableOption = Annotated[
    str | None, typer.Option("--table", help="the mapping's table to use, when it has several")
]


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    """Add ``ingest csv``, ``ingest excel`` and ``ingest sql`` to ``ingest_app``."""
    ingest_app.command("csv")(ingest_csv_command)
    ingest_app.command("excel")(ingest_excel_command)
    ingest_app.command("sql")(ingest_sql_command)


def ingest_csv_command(
    paths: Annotated[list[Path], paths_argument("a CSV file, or a folder of .csv/.tsv/.txt files")],
    mapping: MappingOption,
    institution: Institution,
    table: TableOption = None,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Ingest CSV exports: each row becomes FHIR resources by the mapping; one batch per file.

    Rows that do not convert (broken quoting, a value of the wrong type, an unknown code or
    unit, a column missing from the header) are quarantined as received, with the reason.
    """
    from medlake.sources.tabular.files import ingest_csv
    from medlake.sources.tabular.mapping import load_mapping

    chosen = load_mapping(mapping)
    run_ingest(
        home,
        paths,
        institution,
        json_output,
        each_path(
            paths,
            lambda ws, path, advance: ingest_csv(ws, path, chosen, institution, table, progress=advance),
        ),
    )


def ingest_excel_command(
    paths: Annotated[list[Path], paths_argument("an .xlsx/.xlsm workbook, or a folder of them")],
    mapping: MappingOption,
    institution: Institution,
    sheet: Annotated[
        str | None,
        typer.Option("--sheet", "-s", help="the sheet to read (default: the mapping's, else the first)"),
    ] = None,
    table: TableOption = None,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Ingest one sheet of Excel workbooks: each row becomes FHIR resources by the mapping."""
    from medlake.sources.tabular.files import ingest_excel
    from medlake.sources.tabular.mapping import load_mapping

    chosen = load_mapping(mapping)
    run_ingest(
        home,
        paths,
        institution,
        json_output,
        each_path(
            paths,
            lambda ws, path, advance: ingest_excel(
                ws, path, chosen, institution, sheet, table, progress=advance
            ),
        ),
    )


def ingest_sql_command(
    url: Annotated[
        str,
        typer.Argument(
            help="SQLAlchemy URL, e.g. 'postgresql+psycopg://reader:${HIS_PASSWORD}@his-db/his' "
            "(quote it; ${NAME} comes from the environment or secrets.toml)"
        ),
    ],
    mapping: MappingOption,
    institution: Institution,
    table: Annotated[
        list[str] | None, typer.Option("--table", help="import only this mapping table (repeatable)")
    ] = None,
    incremental: Annotated[
        str | None, typer.Option(help="override the mapping: none, append or lastmodified")
    ] = None,
    check_column: Annotated[str | None, typer.Option(help="override the check column (one --table)")] = None,
    last_value: Annotated[
        str | None, typer.Option(help="start after this value instead of the stored one (one --table)")
    ] = None,
    chunk_size: Annotated[int | None, typer.Option(help="rows per delivery (batch)")] = None,
    commit_rows: Annotated[
        int | None, typer.Option(help="rows per lake commit; the last value advances after each")
    ] = None,
    source_id: Annotated[
        str | None,
        typer.Option(
            help="where the last values are kept (default: institution + database); a registered "
            "source's id continues that source's state"
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log each commit to stderr")] = False,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Import tables of a hospital database (the Sqoop job): full, or incremental by a check column.

    Mode append reads rows whose check column (a growing id) is above the last value;
    mode lastmodified rows whose timestamp is at or after it, so changed rows become newer
    versions. The last value advances in the catalog only after the rows are committed.
    """
    from medlake.sources.database import Overrides, import_sql
    from medlake.sources.database.connection import display_url
    from medlake.sources.tabular.mapping import load_mapping

    ws = workspace_or_exit(home)
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    resolved = secrets.resolve(url, ws.home)
    overrides = Overrides(incremental, check_column, last_value, chunk_size, commit_rows)
    with progress_bar(f"importing {display_url(resolved)}", None, enabled=not json_output) as advance:
        reports = import_sql(
            ws,
            resolved,
            load_mapping(mapping),
            institution,
            source_id=source_id,
            tables=table or None,
            overrides=overrides,
            progress=advance,
        )
    print_batch_reports(reports, json_output)


def synth_his(
    url: Annotated[str, typer.Argument(help="SQLAlchemy URL of the database to (re)create the demo HIS in")],
    patients: Annotated[int, typer.Option(help="patients to create (about 18 rows each)")] = 100,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same rows")] = 1,
    changes: Annotated[
        bool,
        typer.Option("--changes", help="do not recreate: apply one day of changes (new and updated rows)"),
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Create and fill the demo hospital information system, or change it as a day in the hospital would."""
    from medlake.config import resolve_home
    from medlake.sources.database.connection import display_url
    from medlake.synth.his import apply_changes, create_and_fill

    resolved = secrets.resolve(url, resolve_home())
    summary = apply_changes(resolved, seed) if changes else create_and_fill(resolved, patients, seed)
    if json_output:
        print_json(summary.as_dict())
        return
    action = "changed" if changes else "created"
    console.print(
        f"{action} the demo HIS in {display_url(resolved)}: inserted {summary.inserted}", markup=False
    )
    if summary.updated:
        console.print(f"updated {summary.updated}", markup=False)


def synth_exports(
    out: Annotated[
        Path, typer.Option(help="folder for patients.csv, lab-results.csv and exports.xlsx")
    ] = Path("demo-exports"),
    patients: Annotated[int, typer.Option(help="patients in the exports")] = 50,
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
    json_output: JsonOutput = False,
) -> None:
    """Write the region's demo CSV and Excel exports (mappings: region-patients, region-lab-results)."""
    from medlake.synth.exports import write_demo_exports, write_demo_workbook

    written = {name: str(path) for name, path in write_demo_exports(out, patients, seed).items()}
    written["workbook"] = str(write_demo_workbook(out / "exports.xlsx", patients, seed))
    if json_output:
        print_json(written)
        return
    for name, path in written.items():
        console.print(f"{name}: {path}", markup=False)
