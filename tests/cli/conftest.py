"""What every command-line test starts from: a fresh workspace that the commands find through
``MEDLAKE_HOME`` (one ingest worker, so the tests stay light on a small machine)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlake.cli import app

CORPUS = Path(__file__).parents[1] / "ingest" / "corpus"
runner = CliRunner()


def medlake_cli(*args: str, code: int = 0) -> str:
    """Run ``medlake ARGS`` in-process; the exit code must be ``code``; returns standard output."""
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.stdout


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "ws"
    monkeypatch.setenv("MEDLAKE_HOME", str(home))
    monkeypatch.delenv("MEDLAKE_ACTOR", raising=False)
    monkeypatch.setenv("MEDLAKE_INGEST_WORKERS", "1")
    medlake_cli("init")
    return home
