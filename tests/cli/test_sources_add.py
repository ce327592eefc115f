"""``medlake sources add`` refuses at once what ``sync`` would refuse later, and records nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlake.cli import app

runner = CliRunner()
CORPUS = Path(__file__).parents[1] / "ingest" / "corpus"


def add(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["sources", "add", "s1", "-i", "hosp-a", *args])
    return result.exit_code, " ".join(result.output.split())  # unwrapped


def registered() -> list[dict]:
    return json.loads(runner.invoke(app, ["sources", "list", "--json"]).stdout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "csv", "--location", "{corpus}"], "a csv source needs a mapping"),
        (["--kind", "excel", "--location", "{corpus}"], "an excel source needs a mapping"),
        (["--kind", "fhir", "--location", "{missing}"], "no such file or folder: {missing}"),
        (
            ["--kind", "fhir", "--location", "{corpus}", "--option", "tabel=x"],
            "a fhir source takes no options",
        ),
        (
            [
                "--kind",
                "csv",
                "--location",
                "{corpus}",
                "--mapping",
                "region-lab-results",
                "--option",
                "tabel=x",
            ],
            "a csv source has no option 'tabel' (did you mean table?); its options: table",
        ),
        (["--kind", "fhir", "--location", "{corpus}", "--mapping", "his-demo"], "takes no mapping"),
        (
            ["--kind", "csv", "--location", "{corpus}", "--mapping", "{bad_mapping}"],
            "{bad_mapping}: tables.labs.columns: input should be a valid dictionary",
        ),
        (["--kind", "csv", "--location", "{corpus}", "--mapping", "no-such-mapping"], "no mapping file"),
        (
            ["--kind", "csv", "--location", "{corpus}", "--mapping", "his-demo"],
            "mapping his-demo has tables",  # several tables: the table option is needed
        ),
        (
            ["--kind", "hl7", "--location", "{corpus}", "--option", "timezone=Mars/Olympus"],
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            ["--kind", "sql", "--location", "not a url", "--mapping", "his-demo"],
            "not a database URL",
        ),
        (
            [
                "--kind",
                "sql",
                "--location",
                "sqlite:///his.db",
                "--mapping",
                "his-demo",
                "--option",
                "chunk_size=many",
            ],
            "option chunk_size must be a whole number, not 'many'",
        ),
        (
            [
                "--kind",
                "sql",
                "--location",
                "sqlite:///his.db",
                "--mapping",
                "his-demo",
                "--option",
                "tables=nope",
            ],
            "has no table 'nope'",
        ),
        (["--kind", "mqtt", "--location", "mqtt://127.0.0.1:1883"], "options need 'topic'"),
        (
            ["--kind", "mqtt", "--location", "http://broker", "--option", "topic=devices/#"],
            "scheme must be mqtt:// or mqtts://",
        ),
        (
            [
                "--kind",
                "mqtt",
                "--location",
                "mqtt://broker",
                "--option",
                "topic=d/#",
                "--option",
                "idle=soon",
            ],
            "option idle must be a number, not 'soon'",
        ),
    ],
)
def test_a_source_sync_would_refuse_is_refused_now_and_not_recorded(home, tmp_path, args, message) -> None:
    bad_mapping = tmp_path / "bad.yaml"
    bad_mapping.write_text("name: broken\ntables:\n  labs:\n    columns: 12\n")
    values = {"corpus": str(CORPUS), "missing": str(tmp_path / "nowhere"), "bad_mapping": str(bad_mapping)}
    code, output = add(*(a.format(**values) for a in args))
    assert code == 1, output
    assert output.startswith("error:") and message.format(**values) in output
    assert registered() == []


def test_a_good_source_is_kept_with_absolute_paths(home, tmp_path, monkeypatch) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    monkeypatch.chdir(tmp_path)
    code, output = add("--kind", "csv", "--location", "drop", "--mapping", "region-lab-results")
    assert code == 0, output
    [source] = registered()
    assert (source["location"], source["mapping"]) == (str(drop), "region-lab-results")
    code, output = add("--kind", "dicom", "--location", "drop", "--option", "timezone=Europe/Paris")
    assert code == 0, output
    [source] = registered()
    assert (source["kind"], source["options"]) == ("dicom", {"timezone": "Europe/Paris"})
