"""The command line's small promises: several paths, CSV lines, layers, help, version, a light start."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from typer.main import get_command

import medlake
from medlake.cli import app
from tests.cli.conftest import CORPUS, medlake_cli, runner


@pytest.fixture
def exports(tmp_path) -> Path:
    """Two exports of one institution in one folder, and a file that is not one of them."""
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(CORPUS / "mixed.ndjson", folder / "day1.ndjson")
    shutil.copy(CORPUS / "patient-v2.ndjson", folder / "day2.ndjson")
    (folder / "notes.txt").write_text("not FHIR")
    return folder


def test_ingest_takes_several_paths_as_one_job(home, exports) -> None:
    reports = json.loads(
        medlake_cli(
            "ingest",
            "fhir",
            str(exports / "day1.ndjson"),
            str(exports / "day2.ndjson"),
            "-i",
            "hosp-a",
            "--json",
        )
    )
    assert sorted(Path(r["source"]).name for r in reports) == ["day1.ndjson", "day2.ndjson"]
    assert sum(r["received"] for r in reports) == 12


def test_ingest_expands_a_pattern_the_shell_left_alone(home, exports) -> None:
    reports = json.loads(
        medlake_cli("ingest", "fhir", str(exports / "day*.ndjson"), "-i", "hosp-a", "--json")
    )
    assert sorted(Path(r["source"]).name for r in reports) == ["day1.ndjson", "day2.ndjson"]


def test_ingest_with_one_missing_path_ingests_nothing(home, exports) -> None:
    result = runner.invoke(
        app, ["ingest", "fhir", str(exports / "day1.ndjson"), str(exports / "day9.ndjson"), "-i", "a"]
    )
    assert result.exit_code == 1 and f"no such file or folder: {exports / 'day9.ndjson'}" in result.output
    assert json.loads(medlake_cli("catalog", "--json")) == []


def test_sql_csv_ends_lines_with_newline_and_json_is_a_flag(home) -> None:
    medlake_cli("ingest", "fhir", str(CORPUS / "mixed.ndjson"), "-i", "hosp-a")
    medlake_cli("build")
    text = medlake_cli("sql", "SELECT id, institution FROM warehouse.patient", "--format", "csv")
    assert text == "id,institution\nhosp-a.p1,hosp-a\n"
    as_flag = json.loads(medlake_cli("sql", "SELECT id FROM warehouse.patient", "--json"))
    assert as_flag == json.loads(medlake_cli("sql", "SELECT id FROM warehouse.patient", "--format", "json"))
    assert as_flag == [{"id": "hosp-a.p1"}]
    both = runner.invoke(app, ["sql", "SELECT 1", "--json", "--format", "csv"])
    assert both.exit_code == 1 and "two formats" in both.output


def test_catalog_refuses_an_unknown_layer_and_lists_the_layers(home) -> None:
    result = runner.invoke(app, ["catalog", "--layer", "bogus"])
    assert result.exit_code == 2
    from medlake.lake import Layer

    assert all(layer.value in result.output for layer in Layer)
    assert json.loads(medlake_cli("catalog", "--layer", "raw", "--json")) == []


def test_version() -> None:
    assert medlake_cli("--version") == f"medlake {medlake.__version__}\n"


def _every_command() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(command, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(get_command(app), [])
    return paths


def test_help_shows_no_raw_markup_and_no_bool_type() -> None:
    commands = _every_command()
    assert len(commands) > 40
    for path in commands:
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, path
        assert "`" not in result.output, path


def test_the_help_defaults_spelt_out_for_speed_are_the_real_ones() -> None:
    from medlake.cli import hl7, link, workspace_commands
    from medlake.config import IdentifierCheck
    from medlake.lake import Layer
    from medlake.sources.hl7v2 import convert, listener

    assert typing.get_args(workspace_commands.LayerName) == tuple(layer.value for layer in Layer)
    assert typing.get_args(link.IdentifierCheck) == typing.get_args(IdentifierCheck)
    assert hl7.DEFAULT_TIMEZONE == convert.DEFAULT_TIMEZONE
    assert hl7.DEFAULT_PORT == listener.DEFAULT_PORT


HEAVY = ("duckdb", "deltalake", "splink", "pyarrow", "pandas", "sqlalchemy", "alembic", "pydantic", "numpy")


def test_the_command_line_loads_no_engine_to_show_its_help() -> None:
    """``medlake --help`` (and every command's module) imports none of the heavy libraries: they
    load when a command runs, so asking for help is quick (docs/benchmarks.md has the figures)."""
    probe = (
        "import sys; from typer.testing import CliRunner; from medlake.cli import app; "
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_file_ingest_takes_several_paths(home, tmp_path) -> None:
    for name in ("ward-a", "ward-b"):
        (tmp_path / name).mkdir()
    (tmp_path / "ward-a" / "p1_2024-03-01.txt").write_text("Seen in ward A.")
    (tmp_path / "ward-b" / "p2_2024-03-02.txt").write_text("Seen in ward B.")
    reports = json.loads(
        medlake_cli(
            "ingest", "notes", str(tmp_path / "ward-a"), str(tmp_path / "ward-b"), "-i", "hosp-a", "--json"
        )
    )
    assert sum(r["stored"] for r in reports) == 2 and sum(r["received"] for r in reports) == 2
    missing = runner.invoke(
        app, ["ingest", "hl7", str(tmp_path / "ward-a"), str(tmp_path / "nowhere"), "-i", "a"]
    )
    assert missing.exit_code == 1 and "no such file or folder" in missing.output


def test_brackets_in_help_are_shown_not_taken_for_markup() -> None:
    """Rich reads ``[degF]`` or ``[link]`` in a help text as a style and drops it; such text must be
    escaped (``\\[degF]``) so that the help shows what it says."""
    import re

    from typer.main import get_command

    def walk(command, path: list[str]):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    checked = 0
    for path, command in walk(get_command(app), []):
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        tokens = {t for text in texts for t in re.findall(r"\[[A-Za-z_][^\]\s]*\]", text.replace("\\[", "["))}
        if not tokens:
            continue
        shown = runner.invoke(app, [*path, "--help"], terminal_width=2000).output
        for token in tokens:
            checked += 1
            assert token in shown, (path, token)
    assert checked >= 2  # [degF] in score, [_TYPE] in ingest notes
