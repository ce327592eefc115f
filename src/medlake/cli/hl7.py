"""``medlake ingest hl7`` (files) and ``medlake listen hl7`` (a live MLLP listener)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from medlake.cli.ingesting import Institution, expand_paths, paths_argument, print_batch_reports
from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, errors, print_json, progress_bar, workspace_or_exit

#: The converter's and the listener's defaults (medlake.sources.hl7v2; a test keeps them equal),
#: spelt out so that --help need not load the HL7 stack.
DEFAULT_TIMEZONE = "UTC"
DEFAULT_PORT = 2575

Timezone = Annotated[
    str,
    typer.Option(
        "--timezone", help="IANA time zone of HL7 times sent without a UTC offset (e.g. Europe/Paris)"
    ),
]


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    """Add ``ingest hl7`` to ``ingest_app`` and ``listen hl7`` to the (shared) ``listen`` group of ``app``."""
    ingest_app.command("hl7")(ingest_hl7)
    _group(app, "listen", "Receive messages live from institutions, acknowledging each once stored.").command(
        "hl7"
    )(listen_hl7)


def _group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The sub-app ``name`` of ``app``, created if no other area registered it first."""
    for group in app.registered_groups:
        if group.name == name and group.typer_instance is not None:
            return group.typer_instance
    sub = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


def ingest_hl7(
    paths: Annotated[
        list[Path], paths_argument("a file or folder of HL7 v2 messages (.hl7; plain, batch or MLLP-framed)")
    ],
    institution: Institution,
    timezone: Timezone = DEFAULT_TIMEZONE,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Ingest HL7 v2 files (ADT A01/A03/A04/A08/A40, ORU R01) as FHIR R4, one batch per file.

    Each message is kept whole as a Binary and converted to Patient, Encounter, Observation
    and DiagnosticReport; what cannot be converted is quarantined with the reason.
    """
    from medlake.sources.hl7v2.files import check_timezone, find_hl7_files, ingest_hl7_path

    ws = workspace_or_exit(home)
    found = expand_paths(paths)
    check_timezone(timezone)
    files = [f for path in found for f in find_hl7_files(path)]
    with progress_bar(f"ingesting {institution}", None, enabled=not json_output) as advance:
        reports = [
            r for path in found for r in ingest_hl7_path(ws, path, institution, tz=timezone, progress=advance)
        ]
    if not files and not json_output:
        where = ", ".join(str(p) for p in found)
        console.print(f"no HL7 files ({', '.join(('.hl7', '.hl7v2', '.er7', '.mllp'))}) under {where}")
    print_batch_reports(reports, json_output)


def listen_hl7(
    institution: Institution,
    port: Annotated[int, typer.Option(help="TCP port to listen on (0: any free port)")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="address to bind; 0.0.0.0 for every interface")] = "127.0.0.1",
    timezone: Timezone = DEFAULT_TIMEZONE,
    max_batch: Annotated[int, typer.Option(help="most messages committed together")] = 500,
    linger_ms: Annotated[
        int, typer.Option(help="how long a commit waits for the other connected senders' messages")
    ] = 20,
    max_message_bytes: Annotated[
        int | None,
        typer.Option(help="larger messages are refused with AR (default: setting mllp_max_buffered_bytes)"),
    ] = None,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Listen for HL7 v2 over MLLP; ACK each message (AA) only once it is stored in the lake.

    AE when a message (or part of it) was quarantined, AR when it cannot be read, is of a type
    not processed, or could not be stored (resend later). Stops cleanly on SIGTERM or Ctrl-C.
    """
    import asyncio

    from medlake.sources.hl7v2.files import check_timezone
    from medlake.sources.hl7v2.listener import serve

    ws = workspace_or_exit(home)
    check_timezone(timezone)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)

    def ready(bound_host: str, bound_port: int) -> None:
        errors.print(f"listening on {bound_host}:{bound_port} for {institution} (MLLP; Ctrl-C to stop)")
        sys.stderr.flush()

    stats = asyncio.run(
        serve(
            ws,
            institution,
            host=host,
            port=port,
            tz=timezone,
            on_ready=ready,
            max_batch=max_batch,
            max_message_bytes=max_message_bytes,
            linger=linger_ms / 1000,
        )
    )
    summary = stats.as_dict()
    if json_output:
        print_json(summary)
    else:
        console.print(
            f"stopped: {summary['received']} received — {summary['accepted']} AA, {summary['errors']} AE, "
            f"{summary['rejected']} AR; {summary['stored']} resources stored, {summary['quarantined']} "
            f"quarantined, {summary['duplicates']} duplicates in {summary['commits']} commits"
        )
