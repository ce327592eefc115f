"""``medlake ingest notes`` and ``medlake ingest dicom``: unstructured data into the raw layer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medlake.cli.ingesting import Institution, each_path, paths_argument, run_ingest
from medlake.cli.options import Home, JsonOutput


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    """Add ``medlake ingest notes`` and ``medlake ingest dicom``."""
    ingest_app.command("notes")(ingest_notes_command)
    ingest_app.command("dicom")(ingest_dicom_command)


def ingest_notes_command(
    paths: Annotated[list[Path], paths_argument("a note (.txt, .text, .md, .pdf) or a folder of them")],
    institution: Institution,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Ingest clinical notes as DocumentReference (original + searchable text).

    The patient comes from a JSON sidecar (note.txt.json: {"patient": "p1", "date": "2024-03-01",
    "type": "<LOINC document type>"}) or the name PATIENT_DATE[_TYPE][_anything].txt;
    notes with neither go to the quarantine.
    """
    from medlake.sources.documents import ingest_notes

    run_ingest(
        home,
        paths,
        institution,
        json_output,
        each_path(paths, lambda ws, path, advance: ingest_notes(ws, path, institution, progress=advance)),
    )


def ingest_dicom_command(
    paths: Annotated[list[Path], paths_argument("a DICOM file or a folder of them (any names, any depth)")],
    institution: Institution,
    timezone: Annotated[
        str | None,
        typer.Option(help="IANA zone of DICOM times lacking TimezoneOffsetFromUTC (else: dates only)"),
    ] = None,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Ingest DICOM headers as one ImagingStudy per study; pixels stay in the files, which are referenced."""
    from medlake.sources.documents import ingest_dicom

    run_ingest(
        home,
        paths,
        institution,
        json_output,
        each_path(
            paths,
            lambda ws, path, advance: ingest_dicom(
                ws, path, institution, timezone=timezone, progress=advance
            ),
        ),
    )
