"""``ingest hl7`` / ``listen hl7`` on a fresh Typer app, and the ``hl7`` source for ``medlake sync``."""

from __future__ import annotations

import shutil

import orjson
import typer
from typer.testing import CliRunner

from medlake.cli import MedlakeGroup
from medlake.cli.hl7 import register
from medlake.sources.base import SourceConfig
from medlake.sources.hl7v2 import Hl7Files
from medlake.sources.hl7v2 import source as hl7_source
from tests.sources.hl7v2.conftest import CORPUS, raw_rows, resources

runner = CliRunner()


def _app() -> typer.Typer:
    app, ingest = typer.Typer(cls=MedlakeGroup), typer.Typer()
    app.add_typer(ingest, name="ingest")
    register(app, ingest)
    return app


def test_ingest_hl7_prints_one_report_per_file(workspace) -> None:
    result = runner.invoke(
        _app(),
        ["ingest", "hl7", str(CORPUS), "--institution", "hosp-a", "--home", str(workspace.home), "--json"],
    )
    assert result.exit_code == 0, result.output
    reports = orjson.loads(result.stdout)
    [readme] = [r for r in reports if r["status"] == "skipped"]  # said, not silently left out
    assert readme["source"].endswith("README.md") and "not a file name this source takes" in readme["reason"]
    reports.remove(readme)
    assert len(reports) == len(list(CORPUS.glob("*.hl7")))
    assert all(r["received"] == r["stored"] + r["quarantined"] + r["duplicates"] for r in reports)
    again = orjson.loads(
        runner.invoke(
            _app(), ["ingest", "hl7", str(CORPUS), "-i", "hosp-a", "--home", str(workspace.home), "--json"]
        ).stdout
    )
    assert {r["status"] for r in again} == {"unchanged", "skipped"}


def test_ingest_hl7_refuses_bad_arguments_clearly(workspace) -> None:
    home = ["--home", str(workspace.home)]
    missing = runner.invoke(_app(), ["ingest", "hl7", "no/such/folder", "-i", "hosp-a", *home])
    assert missing.exit_code == 1 and "no such file or folder" in missing.output
    zone = runner.invoke(
        _app(), ["ingest", "hl7", str(CORPUS), "-i", "hosp-a", "--timezone", "Mars/Olympus", *home]
    )
    assert zone.exit_code == 1 and "unknown time zone 'Mars/Olympus'" in zone.output
    institution = runner.invoke(_app(), ["ingest", "hl7", str(CORPUS), "-i", "Bad Name", *home])
    assert institution.exit_code == 1 and "institution ids" in institution.output
    assert raw_rows(workspace) == []


def test_listen_joins_a_listen_group_another_area_created() -> None:
    app, ingest = typer.Typer(cls=MedlakeGroup), typer.Typer()
    app.add_typer(ingest, name="ingest")
    listen = typer.Typer()
    listen.command("other")(lambda: None)
    app.add_typer(listen, name="listen")
    register(app, ingest)
    assert [g.name for g in app.registered_groups].count("listen") == 1
    assert {c.name for c in listen.registered_commands} == {"other", "hl7"}
    shown = runner.invoke(app, ["listen", "hl7", "--help"])
    assert shown.exit_code == 0 and "ACK" in shown.output and "--port" in shown.output


def test_sync_source_is_incremental_by_file_fingerprint(workspace, tmp_path, monkeypatch) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("batch.hl7", "z-segments.hl7"):
        shutil.copy(CORPUS / name, inbox / name)
    config = SourceConfig("north-adt", "hosp-a", "hl7", str(inbox))
    first = Hl7Files().sync(workspace, config)
    assert [r.status for r in first] == ["committed", "committed"]

    hashed: list[str] = []
    real_sha256 = hl7_source.file_sha256
    monkeypatch.setattr(hl7_source, "file_sha256", lambda p: hashed.append(p.name) or real_sha256(p))
    second = Hl7Files().sync(workspace, config)
    assert [r.status for r in second] == ["unchanged", "unchanged"]
    assert hashed == [], "unchanged files are neither read nor hashed again"

    shutil.copy(CORPUS / "admit-then-update.hl7", inbox / "later.hl7")
    third = Hl7Files().sync(workspace, config)
    assert hashed == ["later.hl7"]
    assert sorted((r.source.rsplit("/", 1)[1], r.status) for r in third) == [
        ("batch.hl7", "unchanged"),
        ("later.hl7", "committed"),
        ("z-segments.hl7", "unchanged"),
    ]
    assert Hl7Files.kind == "hl7"


def test_sync_reads_naive_times_in_the_source_time_zone(workspace, tmp_path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    message = (CORPUS / "bom-cr.hl7").read_bytes().replace(b"20240311100000+0000", b"20240115083000")
    (inbox / "naive.hl7").write_bytes(message)
    config = SourceConfig("paris", "hosp-b", "hl7", str(inbox), options={"timezone": "Europe/Paris"})
    [report] = Hl7Files().sync(workspace, config)
    assert report.quarantined == 0
    [encounter] = resources(workspace, "Encounter")
    assert encounter["period"]["start"] == "2024-01-15T08:30:00+01:00"
    assert encounter["meta"]["lastUpdated"] == "2024-01-15T08:30:00+01:00"
