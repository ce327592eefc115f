"""``medlake serve`` (the FHIR server) and ``medlake index`` (its search index)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, print_json, table, workspace_or_exit

if TYPE_CHECKING:
    from medlake.serving import RefreshReport
    from medlake.workspace import Workspace


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("serving-index")(serving_index)


def refresh_serving_index(ws: Workspace, *, full: bool = False, quiet: bool = False) -> RefreshReport:
    from medlake.serving import ServingIndex

    index = ServingIndex(ws)
    try:
        report = index.refresh(full=full)
    finally:
        index.close()
    if not quiet:
        changed = {t: n for t, n in report.indexed.items() if n} | {
            f"{t} removed": n for t, n in report.removed.items()
        }
        summary = ", ".join(f"{t} {n}" for t, n in changed.items()) or "nothing changed"
        console.print(f"serving index {index.safe_url}: {summary} ({report.seconds:.1f} s)")
    return report


def serve(
    home: Home = None,
    host: Annotated[str, typer.Option(help="address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="PEM certificate (with --tls-key)")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key")] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="bring the search index up to date first")
    ] = False,
) -> None:
    """Serve the FHIR R4 API (/fhir, OpenAPI at /docs, tokens at /auth/token)."""
    from medlake.server.run import serve as run_server

    ws = workspace_or_exit(home)
    if refresh:
        refresh_serving_index(ws)
    run_server(ws, host, port, tls_cert, tls_key)


def serving_index(
    home: Home = None,
    full: Annotated[
        bool, typer.Option("--full", help="rebuild from scratch instead of incrementally")
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Bring the FHIR serving index up to date with the integrated layer (what medlake build does last)."""
    ws = workspace_or_exit(home)
    report = refresh_serving_index(ws, full=full, quiet=json_output)
    if json_output:
        print_json(report.as_dict())
        return
    rows = [(t, n, report.removed.get(t, 0)) for t, n in report.indexed.items()]
    if rows:
        console.print(table("serving index", ["type", "indexed", "removed"], rows))
