"""``medlake link``: the master patient index from the command line.

``run`` links the workspace's patients into global persons (incremental after the first run);
``review``, ``split`` and ``history`` are the data steward's tools (medlake.cli.mpi);
``evaluate`` links any CSV of person records and reports pairwise precision, recall and F1
against a truth column, so that a region can measure the linker on its own labelled sample
before trusting it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from medlake.cli.mpi import history, review_app, split
from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, fail, print_json, table, workspace_or_exit

#: medlake.config.IdentifierCheck (a test keeps the two equal), spelt out so that --help need not
#: load the settings model.
IdentifierCheck = Literal["none", "luhn", "mod11-2"]

app = typer.Typer(help="The master patient index: link person records to persons.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.command("split")(split)
app.command("history")(history)


def parse_field_map(text: str | None) -> dict[str, str]:
    """``given=first_name,address=number+street`` -> {"given": "first_name", "address": "number+street"}."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for item in text.split(","):
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise typer.BadParameter(f"expected field=column, got {item!r}", param_hint="--map")
        mapping[field.strip()] = column.strip()
    return mapping


@app.command("evaluate")
def evaluate(
    csv_path: Annotated[
        Path, typer.Argument(metavar="CSV", help="a CSV file of person records, one per row")
    ],
    truth: Annotated[str, typer.Option("--truth", help="column whose equal values mark the same person")],
    field_map: Annotated[
        str | None,
        typer.Option(
            "--map",
            help="field=column pairs, comma-separated; fields: given, family, birth_date, sex, address, "
            "city, postcode, state, phone, identifier (join columns with +). "
            "Default: columns named like the fields.",
        ),
    ] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="column with a unique record id")] = None,
    match_threshold: Annotated[float, typer.Option(help="match probability to link automatically")] = 0.95,
    review_threshold: Annotated[
        float, typer.Option(help="match probability from which pairs go to review")
    ] = 0.5,
    untrusted_identifier: Annotated[
        bool,
        typer.Option(
            "--untrusted-identifier",
            help="treat the identifier as noisy evidence, not as a verified national id",
        ),
    ] = False,
    identifier_check: Annotated[
        IdentifierCheck,
        typer.Option(
            "--identifier-check",
            help="check digit a trusted identifier must pass to count as verified "
            "(luhn; mod11-2 for 18-character resident ids; none: every id)",
        ),
    ] = "luhn",
    json_output: JsonOutput = False,
) -> None:
    """Link a CSV's records and print pairwise precision, recall and F1 against --truth."""
    from medlake.link.evaluate import evaluate_csv
    from medlake.link.settings import LinkSettings

    if not csv_path.is_file():
        raise fail(f"no such file: {csv_path}")
    settings = LinkSettings(
        match_threshold=match_threshold,
        review_threshold=review_threshold,
        identifier_is_trusted=not untrusted_identifier,
        identifier_check=identifier_check,
    )
    result = evaluate_csv(csv_path, truth, parse_field_map(field_map), settings, id_column=id_column)
    if json_output:
        print_json(result.as_dict())
        return
    rows = [
        ("precision", f"{result.precision:.4f}"),
        ("recall", f"{result.recall:.4f}"),
        ("F1", f"{result.f1:.4f}"),
        ("true pairs", result.pairs_true),
        ("predicted pairs", result.pairs_predicted),
        ("correct pairs", result.pairs_correct),
        ("pairs for review", result.pairs_for_review),
        ("records", result.records),
        ("persons (truth / linked)", f"{result.persons_true} / {result.persons_predicted}"),
        ("seconds", result.seconds),
    ]
    console.print(table(f"pairwise linkage accuracy of {csv_path.name}", ["measure", "value"], rows))


@app.command("run")
def run(
    home: Home = None,
    match_threshold: Annotated[
        float | None,
        typer.Option(help="match probability to link automatically (default: link.match_threshold, 0.95)"),
    ] = None,
    review_threshold: Annotated[
        float | None,
        typer.Option(
            help="match probability from which pairs go to review (default: link.review_threshold, 0.5)"
        ),
    ] = None,
    identifier_check: Annotated[
        IdentifierCheck | None,
        typer.Option(
            "--identifier-check",
            help="check digit a national id must pass to be trusted (the region's ids carry a Luhn "
            "digit; a mistyped id fails it and is weighed as evidence instead; default: "
            "link.identifier_check, luhn)",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="retrain the model and relink every record (ids are kept where the persons hold)"
        ),
    ] = False,
    person_build: Annotated[
        bool,
        typer.Option(
            "--person-build/--no-person-build",
            help="then rebuild the golden records and the person serving store (medlake person build)",
        ),
    ] = True,
    json_output: JsonOutput = False,
) -> None:
    """Link the workspace's patients into global persons; writes warehouse.person_link.

    The first run links everyone; later runs link only new and changed records against the
    existing persons, whose global ids never change (merges and splits are recorded: see
    medlake link history). Uncertain pairs go to medlake link review. Thresholds default to
    the workspace settings (link.match_threshold, link.review_threshold and
    link.identifier_check: see medlake config show), so that every run of a region uses the same ones.
    """
    from medlake.mpi import MasterPatientIndex, link_settings
    from medlake.person import refresh_person

    ws = workspace_or_exit(home)
    settings = link_settings(ws).with_changes(
        **{
            k: v
            for k, v in {
                "match_threshold": match_threshold,
                "review_threshold": review_threshold,
                "identifier_check": identifier_check,
            }.items()
            if v is not None
        }
    )
    report = MasterPatientIndex(ws).run(settings, full=full)
    refreshed = refresh_person(ws) if person_build else None
    if json_output:
        print_json({**report.as_dict(), "person_build": refreshed.as_dict() if refreshed else None})
        return
    rows = [
        ("mode", report.mode),
        ("model", report.model),
        (
            "records (new / changed / removed)",
            f"{report.records} ({report.new} / {report.changed} / {report.removed})",
        ),
        ("persons", report.persons),
        (
            "persons created / merged / split / retired",
            f"{report.created} / {report.merged} / {report.split} / {report.retired}",
        ),
        ("pairs linked automatically", report.pairs_matched),
        ("new pairs for review / pending", f"{report.review_new} / {report.review_pending}"),
        ("institution merge statements (Patient.link)", report.source_links),
        ("partial birth dates (not compared)", report.partial_birth_dates),
        ("table written", f"{report.table} (version {report.version})"),
        ("golden records / serving store", "rebuilt" if refreshed else "not rebuilt (--no-person-build)"),
    ]
    console.print(table("master patient index", ["measure", "value"], rows))
