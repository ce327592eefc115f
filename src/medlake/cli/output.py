"""Printing results: rich tables for people, JSON for programs, progress on stderr."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from medlake.workspace import Workspace

console = Console()
errors = Console(stderr=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"cannot encode {type(value).__name__}")


#: Characters a terminal acts on instead of showing: C0 controls but newline and tab (ESC
#: starts CSI and OSC sequences: colours, cursor moves, window titles, hyperlinks, clipboard
#: writes), DEL, the C1 controls (U+009B is a one-character CSI), and the bidirectional
#: overrides and isolates that make text read differently from what it holds.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: The same, less those JSON already escapes (C0): what a JSON string may still carry raw.
_JSON_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object) -> str:
    """``value`` as text that shows on a terminal as what it is: controls become ``\\x1b``-style
    escapes, so data (a name, a file name, a quarantined line) cannot drive the terminal."""
    return _CONTROLS.sub(_escape, str(value))


def print_json(data: Any) -> None:
    """JSON on stdout; the controls JSON leaves raw are written as ``\\u`` escapes (same value)."""
    text = json.dumps(data, default=_default, indent=2, ensure_ascii=False)
    sys.stdout.write(_JSON_RAW.sub(lambda m: f"\\u{ord(m[0]):04x}", text) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A table of data: cells are shown as text (never as rich markup) with controls escaped."""
    view = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        view.add_column(Text(printable(column)), overflow="fold")
    for row in rows:
        view.add_row(*(Text("" if v is None else printable(v)) for v in row))
    return view


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(Text.assemble(("error:", "red"), " ", printable(message)), soft_wrap=True)  # one line
    return typer.Exit(code)


def workspace_or_exit(home: Path | None) -> Workspace:
    """The workspace at ``home`` (or ``MEDLAKE_HOME``); a missing one is a
    :class:`~medlake.errors.WorkspaceError` that says how to create it."""
    from medlake.workspace import open_workspace  # here: --help needs no catalog, lake or engine

    return open_workspace(home)


@contextmanager
def progress_bar(description: str, total: int | None, enabled: bool = True) -> Iterator[Any]:
    """A callback ``advance(n)`` that moves a bar on stderr (a no-op when disabled or not a terminal)."""
    if not enabled or not errors.is_terminal:
        yield lambda n: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
