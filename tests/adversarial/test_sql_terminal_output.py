"""Data cannot drive the analyst's terminal.

A value holding ESC sequences (OSC to set the window title, write the clipboard or make a
hyperlink; CSI to clear the screen), the one-character C1 CSI (U+009B), BEL, CR or a
bidirectional override was written to the terminal as is, and rich markup in data
(``[link=…]``) was interpreted. Every output that reaches a terminal now shows such
characters as escapes; JSON writes them as ``\\u`` escapes (the same value), and CSV written
to a file or a pipe keeps the values exactly.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlake.cli import app
from medlake.workspace import Workspace, init_workspace

runner = CliRunner()

HOSTILE = (
    "ok"
    + "\x1b]0;pwned\x07"  # OSC: set the window title
    + "\x1b]52;c;ZXZpbA==\x07"  # OSC 52: write the clipboard
    + "\x1b[2J"  # CSI: clear the screen
    + "\x9b31m"  # C1 CSI
    + "\u202eevil"  # right-to-left override
    + "\rover"  # carriage return: overwrite the line
    + "[red]markup[/red][link=http://evil.example]link[/link]"
)
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\r")


def _literal(text: str) -> str:
    """``text`` as a SQL expression, one ``chr()`` per character, so the query text itself is plain."""
    return " || ".join(f"chr({ord(ch)})" for ch in text)


QUERY = f"SELECT {_literal(HOSTILE)} AS value, 1 AS n"


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    return init_workspace(tmp_path_factory.mktemp("terminal") / "home")


def _cli(ws: Workspace, *args: str) -> str:
    result = runner.invoke(app, ["sql", QUERY, *args, "--home", str(ws.home)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_query_really_returns_the_hostile_value(ws) -> None:
    assert ws.sql(QUERY).to_pylist() == [{"value": HOSTILE, "n": 1}]


def test_table_output_escapes_controls_and_shows_markup_as_text(ws) -> None:
    out = _cli(ws, "--format", "table")
    assert not any(ch in out for ch in RAW_CONTROLS), repr(out)
    assert "\\x1b]0;pwned\\x07" in out and "\\x9b31m" in out and "\\u202eevil" in out
    assert "[red]markup[/red]" in out and "[link=http://evil.example]" in out


def test_json_output_escapes_controls_and_keeps_the_value(ws) -> None:
    out = _cli(ws, "--format", "json")
    assert not any(ch in out for ch in RAW_CONTROLS), repr(out)
    assert json.loads(out) == [{"value": HOSTILE, "n": 1}]


def test_csv_to_a_file_or_pipe_keeps_the_exact_value(ws) -> None:
    out = _cli(ws, "--format", "csv")
    assert list(csv.DictReader(io.StringIO(out, newline=""))) == [{"value": HOSTILE, "n": "1"}]


def test_error_messages_quoting_data_are_escaped(ws) -> None:
    result = runner.invoke(
        app, ["sql", f"SELECT CAST({_literal(HOSTILE)} AS INTEGER)", "--home", str(ws.home)]
    )
    assert result.exit_code == 1 and "Conversion Error" in result.output
    assert not any(ch in result.output for ch in RAW_CONTROLS), repr(result.output)


def _on_a_terminal(ws: Workspace, *args: str) -> str:
    """Run ``medlake sql`` with its stdout on a real pseudo-terminal; return what it wrote."""
    leader, follower = pty.openpty()
    env = {**os.environ, "MEDLAKE_HOME": str(ws.home), "COLUMNS": "400", "TERM": "xterm-256color"}
    process = subprocess.Popen(
        [sys.executable, "-m", "medlake", "sql", QUERY, *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
        cwd=Path(ws.home),
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0, process.stderr.read().decode()
    return b"".join(chunks).decode()


@pytest.mark.parametrize("output_format", ["table", "csv"])
def test_a_real_terminal_gets_escapes_in_every_format(ws, output_format) -> None:
    out = _on_a_terminal(ws, "--format", output_format)
    assert "\\x1b]0;pwned\\x07" in out, repr(out)
    # rich styles the table with its own SGR sequences; none of the data's may get through
    for raw in ("\x1b]0;pwned", "\x1b]52;", "\x1b[2J", "\x9b", "\u202e", "\x07", "\x1b]8;"):
        assert raw not in out, (raw, out)
    if output_format == "csv":
        assert "\x1b" not in out
