"""``medlake synth`` as the main app registers it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from medlake.cli import MedlakeGroup
from medlake.cli import synth as synth_cli


def _app() -> typer.Typer:
    app = typer.Typer(cls=MedlakeGroup)
    synth_cli.register(app)

    @app.command("noop", hidden=True)
    def _noop() -> None:  # a second command keeps "synth" a named sub-command
        """Placeholder."""

    return app


def test_synth_command_writes_a_region_and_prints_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["synth", "--residents", "40", "--seed", "5", "--out", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["residents"] == 40 and summary["seed"] == 5
    assert summary["total_resources"] > 40 * 20
    assert (tmp_path / "truth" / "persons.csv").exists()
    assert (tmp_path / "chc-central" / "Patient.ndjson").exists() or (
        tmp_path / "chc-east" / "Patient.ndjson"
    ).exists()


def test_synth_command_prints_a_table_and_gzips(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["synth", "--residents", "30", "--out", str(tmp_path), "--gzip"])
    assert result.exit_code == 0, result.output
    assert "Patient" in result.stdout and "resources" in result.stdout
    assert list(tmp_path.glob("*/Patient.ndjson.gz"))


def test_synth_command_refuses_an_empty_region(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["synth", "--residents", "0", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "positive integer" in result.output
