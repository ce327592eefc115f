"""``medlake ingest csv|excel`` and the ``csv``/``excel`` kinds of ``medlake sync``."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from medlake.cli import MedlakeGroup
from medlake.cli.tabular import register, synth_exports
from medlake.sources.sync import sync

CORPUS = Path(__file__).parent / "corpus"


def flat(output: str) -> str:
    """Command output without the line breaks the console adds to fit its width."""
    return " ".join(output.split())


@pytest.fixture
def app() -> typer.Typer:
    main, ingest = typer.Typer(cls=MedlakeGroup), typer.Typer()
    main.add_typer(ingest, name="ingest")
    register(main, ingest)
    main.command("synth-exports")(synth_exports)
    return main


def test_ingest_csv_and_excel_commands(app, workspace, tmp_path) -> None:
    runner = CliRunner()
    home = ["--home", str(workspace.home)]
    made = runner.invoke(app, ["synth-exports", "--out", str(tmp_path), "--patients", "5", "--json"])
    assert made.exit_code == 0, made.output
    files = orjson.loads(made.output)
    result = runner.invoke(
        app,
        [
            "ingest",
            "csv",
            files["region-lab-results"],
            "-m",
            "region-lab-results",
            "-i",
            "lab",
            *home,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    [report] = orjson.loads(result.output)
    assert report["stored"] > 0 and report["quarantined"] == 0
    result = runner.invoke(
        app,
        [
            "ingest",
            "excel",
            files["workbook"],
            "-m",
            "region-patients",
            "-s",
            "Patients",
            "-i",
            "gp",
            *home,
            "--json",
        ],
    )
    assert result.exit_code == 0 and orjson.loads(result.output)[0]["stored"] == 5
    result = runner.invoke(app, ["ingest", "csv", str(CORPUS / "wrong-types.csv"), "-m", "region-lab-results",
                                 "-i", "lab", *home, "--json"])  # fmt: skip
    [report] = orjson.loads(result.output)
    assert result.exit_code == 0 and (report["stored"], report["quarantined"]) == (1, 7)
    missing = runner.invoke(
        app, ["ingest", "csv", str(tmp_path), "-m", "no-such-mapping", "-i", "lab", *home]
    )
    assert missing.exit_code == 1 and "shipped mappings:" in flat(missing.output)
    sheet = runner.invoke(app, ["ingest", "excel", files["workbook"], "-m", "region-patients", "-s", "Nope",
                                "-i", "gp", *home])  # fmt: skip
    assert sheet.exit_code == 1 and "has no sheet 'Nope'" in flat(sheet.output)


def test_csv_and_excel_sources_sync_new_files_only(workspace, tmp_path, monkeypatch) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(CORPUS / "unknown-codes.csv", drop)
    workspace.catalog.add_source("lab-drop", "lab", "csv", str(drop), mapping="region-lab-results")
    [first] = sync(workspace)
    assert first.error is None and (first.batches, first.new, first.quarantined) == (1, 1, 3)
    [second] = sync(workspace)
    assert (second.new, second.quarantined, second.unchanged) == (0, 0, 4)
    shutil.copy(CORPUS / "unknown-units.csv", drop)
    [third] = sync(workspace)
    assert (third.batches, third.new) == (2, 1)
    workspace.catalog.add_source("no-mapping", "lab", "excel", str(drop))
    runs = {r.source: r for r in sync(workspace)}
    assert "needs a mapping" in (runs["no-mapping"].error or "")
