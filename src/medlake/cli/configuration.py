"""``medlake config show`` and ``medlake config reference``: the settings in effect, and all there are."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from medlake.cli.options import Home, JsonOutput

config_app = typer.Typer(help="The workspace's settings: what is in effect and where it came from.")


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config", no_args_is_help=True)


@config_app.command("show")
def show(home: Home = None, json_output: JsonOutput = False) -> None:
    """Every setting's effective value and where it came from: default, file or MEDLAKE_* variable.

    Passwords in URLs, secret-looking URL parameters and object-store keys are shown as ***."""
    from medlake.cli.output import console, print_json, table, workspace_or_exit
    from medlake.config import explain_settings
    from medlake.secrets import redact_setting

    ws = workspace_or_exit(home)  # a missing workspace says how to create it
    entries = [
        {
            "key": e.key,
            "value": _plain(redact_setting(e.key, e.value)),
            "origin": e.origin,
            "description": e.description,
        }
        for e in explain_settings(ws.home if home is not None else None)
    ]
    if json_output:
        print_json(entries)
        return
    rows = [(e["key"], _text(e["value"]), _origin(e["origin"], ws.home, home)) for e in entries]
    console.print(table(f"settings of {ws.home}", ["setting", "value", "from"], rows))


def _origin(origin: str, workspace: Path, home: Path | None) -> str:
    """Short for a table: the file's name when it is the workspace's own, --home for the argument."""
    if origin == "argument" and home is not None:
        return "--home"
    if origin.startswith("file ") and Path(origin.removeprefix("file ")).parent == workspace:
        return f"file {Path(origin.removeprefix('file ')).name}"
    return origin


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Path) else value


def _text(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "{}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "[]"
    return str(value)


@config_app.command("reference")
def reference(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to this file (docs/settings.md)")
    ] = None,
) -> None:
    """Every setting there is, with its variable, default and meaning, as Markdown."""
    from medlake.config import settings_reference

    text = settings_reference()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
