"""``medlake conformance …``: run published conformance suites against medlake.

Registered in the main CLI with ``app.add_typer(conformance.app, name="conformance")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medlake.cli.options import JsonOutput
from medlake.cli.output import errors, fail, print_json

app = typer.Typer(help="Run published conformance suites against medlake's engines.", no_args_is_help=True)


@app.callback()
def conformance() -> None:
    """Run published conformance suites against medlake's engines."""
    # A callback keeps ``sql-on-fhir`` a sub-command even while it is the only one.


@app.command("sql-on-fhir")
def conformance_sql_on_fhir(
    directory: Annotated[
        Path, typer.Argument(help="folder of SQL-on-FHIR v2 test files (*.json), or one test file")
    ],
    json_output: JsonOutput = False,
) -> None:
    """Run the SQL-on-FHIR v2 test suite through the view compiler on DuckDB.

    Prints each failing test and ends with "N passed, M failed" (on stderr with
    --json, so stdout stays JSON); exits with status 1 when any test failed.
    """
    from medlake.views.conformance import run_conformance

    if not directory.exists():
        raise fail(f"{directory} does not exist", code=2)
    report = run_conformance([directory])
    if json_output:
        print_json(report.to_json())
        errors.print(report.summary(), highlight=False)
    else:
        for failure in report.failures:
            typer.echo(f"FAIL {failure.file} :: {failure.name}\n     {failure.message}")
        typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)
