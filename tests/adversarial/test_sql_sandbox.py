"""The analyst's SQL is a query over the lake's tables, not a shell.

``medlake sql`` and ``Workspace.sql`` used to read any file (``read_csv('/etc/passwd')``),
write any file (``COPY … TO``) and could forge a Delta commit removing every raw row while
the catalog still counted them. Each attack below was run against the old code and worked;
now the engine is locked down (external access off, configuration locked) and only one
read-only statement runs. ``unrestricted=True`` (``--unrestricted``) is the documented
opt-out for a trusted local administrator, and the controls below prove it is the lock,
not a broken query, that stops each attack.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from medlake.build.run import build_all
from medlake.cli import app
from medlake.engine import QueryRefused
from medlake.ingest import ingest_path
from medlake.lake.tables import RAW_RESOURCES, Layer
from medlake.workspace import Workspace, WorkspaceError, init_workspace

CORPUS = Path(__file__).parents[1] / "ingest" / "corpus"
runner = CliRunner()


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    workspace = init_workspace(tmp_path_factory.mktemp("sandbox") / "home", ingest_workers=1)
    ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    build_all(workspace)
    return workspace


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the lake, with a file an attacker would like to read."""
    (tmp_path / "secret.csv").write_text("name,password\nroot,hunter2\n")
    return tmp_path


def _refused(ws: Workspace, query: str) -> str:
    with pytest.raises(QueryRefused) as refused:
        ws.sql(query)
    return str(refused.value)


# -- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('{secret}')",
        "SELECT * FROM read_csv_auto('{secret}')",
        "SELECT content FROM read_text('{secret}')",
        "SELECT content FROM read_blob('{secret}')",
        "SELECT * FROM read_json('{secret}')",
        "SELECT * FROM read_parquet('{secret}')",
        "SELECT * FROM '{secret}'",
        "SELECT * FROM glob('{folder}/*')",
        "SELECT * FROM sniff_csv('{secret}')",
        "SELECT content FROM read_text('/etc/passwd')",
        "SELECT content FROM read_text('{lake}/../../{secret_name}')",
    ],
)
def test_files_outside_the_lake_cannot_be_read(ws, outside, query) -> None:
    secret = outside / "secret.csv"
    filled = query.format(
        secret=secret, folder=outside, lake=ws.lake.root_uri, secret_name=secret.relative_to("/")
    )
    assert "hunter2" not in _refused(ws, filled)
    control = ws.sql(f"SELECT content FROM read_text('{secret}')", unrestricted=True)
    assert "hunter2" in control.column(0)[0].as_py()


def test_the_lakes_own_files_are_reached_as_tables_only(ws) -> None:
    """The Delta log and data files are not readable as files either: the tables are the interface."""
    log = Path(ws.table_uri("raw.resources")) / "_delta_log" / "00000000000000000000.json"
    assert log.exists()
    _refused(ws, f"SELECT content FROM read_text('{log}')")
    _refused(ws, f"SELECT * FROM read_parquet('{ws.lake.root_uri}/raw/resources/**/*.parquet')")
    assert ws.sql("SELECT count(*) AS n FROM raw.resources").to_pylist() == [{"n": 3}]


def test_a_symlink_inside_the_lake_pointing_out_leads_nowhere(ws, outside) -> None:
    link = Path(ws.lake.root_uri) / "raw" / "escape"
    link.symlink_to(outside, target_is_directory=True)
    try:
        _refused(ws, f"SELECT content FROM read_text('{link}/secret.csv')")
        _refused(ws, f"SELECT * FROM glob('{link}/*')")
    finally:
        link.unlink()


def test_urls_are_not_fetched(ws) -> None:
    """httpfs is neither installed nor auto-loaded, and a locked engine reaches no URL."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        for query in (
            f"SELECT * FROM read_csv('http://127.0.0.1:{port}/x.csv')",
            f"SELECT * FROM read_parquet('https://127.0.0.1:{port}/x.parquet')",
            "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
        ):
            _refused(ws, query)
        with pytest.raises(TimeoutError):
            server.accept()  # nobody connected


def test_the_environment_is_not_readable(ws, monkeypatch) -> None:
    monkeypatch.setenv("MEDLAKE_TEST_SECRET", "s3cr3t-value")
    with pytest.raises(Exception) as error:  # any refusal will do; the value must not leak
        ws.sql("SELECT getenv('MEDLAKE_TEST_SECRET')")
    assert "s3cr3t-value" not in str(error.value)


# -- writing, attaching, loading, settings --------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "written"),
    [
        ("COPY (SELECT 1 AS x) TO '{out}/copy.csv'", "copy.csv"),
        ("COPY (SELECT 1 AS x) TO '{out}/copy.parquet' (FORMAT parquet)", "copy.parquet"),
        ("EXPORT DATABASE '{out}/export'", "export"),
        ("ATTACH '{out}/attached.duckdb' AS other", "attached.duckdb"),
        ("EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{out}/explained.csv'", "explained.csv"),
        ("SELECT 1; COPY (SELECT 1 AS x) TO '{out}/second.csv'", "second.csv"),
        ("CREATE PERSISTENT SECRET leak (TYPE http, BEARER_TOKEN 'x')", None),
    ],
)
def test_nothing_can_be_written(ws, tmp_path, query, written) -> None:
    _refused(ws, query.format(out=tmp_path))
    assert list(tmp_path.iterdir()) == []
    if written == "copy.csv":  # control: the administrator's opt-out does write it
        ws.sql(query.format(out=tmp_path), unrestricted=True)
        assert (tmp_path / written).read_text().strip().splitlines() == ["x", "1"]


@pytest.mark.parametrize(
    "query",
    [
        "INSTALL httpfs",
        "LOAD httpfs",
        "LOAD '/tmp/evil.duckdb_extension'",
        "ATTACH ':memory:' AS scratch",
        "DETACH memory",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "RESET enable_external_access",
        "RESET lock_configuration",
        "SET allowed_directories = ['/']",
        "PRAGMA enable_profiling",
        "CALL enable_logging()",
        "CREATE TABLE scratch AS SELECT 1",
        "CREATE SECRET s (TYPE http, BEARER_TOKEN 'x')",
        "CREATE OR REPLACE VIEW warehouse.patient AS SELECT 'forged' AS id",
        "INSERT INTO warehouse.patient (id) VALUES ('x')",
        "USE memory",
        "CHECKPOINT",
        "BEGIN TRANSACTION",
        "SELECT 1; SELECT 2",
    ],
)
def test_statements_other_than_a_query_are_refused(ws, query) -> None:
    _refused(ws, query)


@pytest.mark.parametrize("unrestricted", [False, True], ids=["analyst", "administrator-control"])
def test_a_forged_delta_commit_cannot_remove_the_raw_layer(make_workspace, unrestricted) -> None:
    """The attack that started this: write the next commit of raw.resources, removing every file.

    The administrator's run is the control: the same statement does forge the commit there,
    and the raw layer then reads empty while the catalog still counts its rows.
    """
    ws = make_workspace()
    ingest_path(ws, CORPUS / "mixed.ndjson", "hosp-a")
    uri = ws.lake.uri(Layer.RAW, RAW_RESOURCES)
    table = ws.lake.table(uri)
    assert table is not None
    before = table.version()
    paths = pa.table(table.get_add_actions(flatten=True)).column("path").to_pylist()
    removes = [json.dumps({"remove": {"path": p, "deletionTimestamp": 0, "dataChange": True}}) for p in paths]
    forged = Path(uri) / "_delta_log" / f"{before + 1:020d}.json"
    rows = " UNION ALL ".join(f"SELECT '{line}' AS line" for line in removes)
    query = f"COPY ({rows}) TO '{forged}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '')"
    stored = sum(batch.stored for batch in ws.catalog.batches())
    assert stored == 3
    if unrestricted:
        ws.sql(query, unrestricted=True)
        assert ws.lake.table(uri).version() == before + 1
        assert ws.sql("SELECT count(*) AS n FROM raw.resources").to_pylist() == [{"n": 0}]
        return
    _refused(ws, query)
    assert not forged.exists()
    assert ws.lake.table(uri).version() == before
    assert ws.sql("SELECT count(*) AS n FROM raw.resources").to_pylist() == [{"n": stored}]


# -- what the analyst is told ------------------------------------------------------------------------


def test_a_missing_table_is_answered_with_the_tables_there_are(ws) -> None:
    for query, meant in (
        ("SELECT * FROM warehouse.patients", "warehouse.patient"),
        ("SELECT * FROM patient", "warehouse.patient"),
        ("SELECT * FROM raw.resource", "raw.resources"),
    ):
        with pytest.raises(WorkspaceError) as error:
            ws.sql(query)
        message = str(error.value)
        assert f"did you mean {meant}" in message and "integrated.Patient" in message
        assert "pg_" not in message


def test_the_command_line_refuses_with_a_clear_error_and_offers_the_opt_out(ws, outside) -> None:
    home = ["--home", str(ws.home)]
    result = runner.invoke(app, ["sql", f"SELECT * FROM read_csv('{outside / 'secret.csv'}')", *home])
    assert result.exit_code == 1 and "--unrestricted" in result.output and "hunter2" not in result.output
    missing = runner.invoke(app, ["sql", "SELECT * FROM pg_sequencez", *home])
    assert missing.exit_code == 1 and "warehouse.patient" in missing.output
    assert "pg_sequences" not in missing.output
    secret = f"SELECT * FROM read_csv('{outside / 'secret.csv'}')"
    allowed = runner.invoke(app, ["sql", secret, "--unrestricted", "-f", "json", *home])
    assert allowed.exit_code == 0 and json.loads(allowed.stdout) == [{"name": "root", "password": "hunter2"}]


def test_a_select_cannot_smuggle_another_statement_in(ws, tmp_path) -> None:
    """``query()`` runs SQL text from inside a SELECT; it takes one SELECT, and the lock holds anyway."""
    for inner in (f"COPY (SELECT 1) TO ''{tmp_path}/x.csv''", "SET enable_external_access = true"):
        with pytest.raises(Exception):  # noqa: B017 - refused by the parser or the lock
            ws.sql(f"SELECT * FROM query('{inner}')")
    assert list(tmp_path.iterdir()) == []
    settings = ws.sql(
        "SELECT name, value FROM duckdb_settings() "
        "WHERE name IN ('enable_external_access', 'lock_configuration') ORDER BY name"
    ).to_pylist()
    assert settings == [
        {"name": "enable_external_access", "value": "false"},
        {"name": "lock_configuration", "value": "true"},
    ]
