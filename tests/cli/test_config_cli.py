"""``medlake config show``, and bad settings as one ``error:`` line from any command."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from medlake.cli import app

runner = CliRunner()


def test_show_prints_each_setting_with_where_it_came_from(home) -> None:
    settings = home / "medlake.toml"
    settings.write_text(
        settings.read_text()
        + 'catalog_url = "postgresql+psycopg://medlake:hunter2@db.example/catalog"\n'
        + 'storage_options = {aws_secret_access_key = "AKIA-SECRET", region = "eu-central-1"}\n'
        + "[link]\nmatch_threshold = 0.9\n"
    )
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    shown = {e["key"]: e for e in json.loads(result.stdout)}
    assert shown["ingest_workers"]["value"] == 1
    assert shown["ingest_workers"]["origin"] == "env MEDLAKE_INGEST_WORKERS"
    assert shown["link.match_threshold"] == {
        "key": "link.match_threshold",
        "value": 0.9,
        "origin": f"file {settings}",
        "description": "match probability from which the index links automatically",
    }
    assert shown["checkpoint_interval"]["origin"] == "default"
    assert shown["home"]["origin"] == "env MEDLAKE_HOME"
    # secrets never printed, in JSON or in the table
    assert shown["catalog_url"]["value"] == "postgresql+psycopg://medlake:***@db.example/catalog"
    assert shown["storage_options"]["value"] == {"aws_secret_access_key": "***", "region": "eu-central-1"}
    table = runner.invoke(app, ["config", "show"], terminal_width=200)
    assert table.exit_code == 0
    assert "hunter2" not in result.stdout + table.stdout and "AKIA-SECRET" not in result.stdout + table.stdout
    assert "link.match_threshold" in table.stdout and "file medlake.toml" in table.stdout


def test_a_typo_in_the_settings_stops_every_command_with_one_line(home) -> None:
    settings = home / "medlake.toml"
    settings.write_text(settings.read_text() + 'enigne = "duckdb"\n')
    for command in (["catalog"], ["config", "show"], ["sql", "select 1"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1
        assert (
            result.output.strip() == f"error: {settings}: unknown setting 'enigne' (did you mean 'engine'?)"
        )


def test_a_bad_value_is_one_line_without_a_traceback(home, monkeypatch) -> None:
    monkeypatch.setenv("MEDLAKE_LINK__MATCH_THRESHOLD", "1.5")
    result = runner.invoke(app, ["catalog"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: environment variable MEDLAKE_LINK__MATCH_THRESHOLD: [link] match_threshold = '1.5': "
        "input should be less than 1"
    )


def test_reference_is_markdown_of_every_setting(tmp_path) -> None:
    out = tmp_path / "settings.md"
    assert runner.invoke(app, ["config", "reference", "--output", str(out)]).exit_code == 0
    text = out.read_text()
    assert "| `match_threshold` in `[link]` | `MEDLAKE_LINK__MATCH_THRESHOLD` | `0.95` |" in text
    assert "`MEDLAKE_SECRETS_FILE`" in text and "`MEDLAKE_ACTOR`" in text
