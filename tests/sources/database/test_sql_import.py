"""The SQL import (the Sqoop job) against the real MariaDB and PostgreSQL servers."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import orjson
import pytest
import typer
from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

from medlake.cli import MedlakeGroup
from medlake.cli.tabular import register, synth_his
from medlake.sources.database import Overrides, SqlImportError, default_source_id, import_sql, watermark
from medlake.sources.sync import sync
from medlake.sources.tabular.mapping import load_mapping
from medlake.synth.his import apply_changes, create_and_fill
from medlake.synth.his.schema import TABLES, lab_result, visit
from tests.sources.database.conftest import MARIADB_ADMIN, terminate_others

INSTITUTION = "hosp-demo"
HIS = load_mapping("his-demo")
TYPES = {
    "patient": "Patient",
    "visit": "Encounter",
    "diagnosis": "Condition",
    "prescription": "MedicationRequest",
}


def his_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as con:
            counts = {t.name: con.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}
            counts["weights"] = con.execute(
                select(func.count()).select_from(visit).where(visit.c.admit_weight.is_not(None))
            ).scalar_one()
            return counts
    finally:
        engine.dispose()


def totals(reports) -> tuple[int, int, int, int]:
    for r in reports:
        assert r.received == r.stored + r.quarantined + r.duplicates
    return tuple(
        sum(getattr(r, f) for r in reports) for f in ("received", "stored", "quarantined", "duplicates")
    )


def raw_versions(workspace, prefix: str) -> dict[str, list[dict]]:
    query = (
        "SELECT resource_id, resource FROM raw.resources WHERE resource_id LIKE '{}%' ORDER BY last_updated"
    )
    rows = workspace.sql(query.format(prefix)).to_pylist()
    versions: dict[str, list[dict]] = {}
    for row in rows:
        versions.setdefault(row["resource_id"], []).append(orjson.loads(row["resource"]))
    return versions


def test_full_then_incremental_import(his_url, workspace) -> None:
    create_and_fill(his_url, patients=12, seed=5)
    counts = his_counts(his_url)
    first = import_sql(workspace, his_url, "his-demo", INSTITUTION)
    rows = sum(counts[t.name] for t in TABLES)
    assert totals(first) == (rows + counts["weights"], rows + counts["weights"], 0, 0)
    by_type = {
        r["resource_type"]: r["n"]
        for r in workspace.sql(
            "SELECT resource_type, count(*) AS n FROM raw.resources GROUP BY 1"
        ).to_pylist()
    }
    assert by_type == {
        **{fhir: counts[table] for table, fhir in TYPES.items()},
        "Observation": counts["lab_result"] + counts["weights"],
    }
    assert all(r.unresolved_references == 0 for r in first), "patients first: every reference resolves"

    again = import_sql(workspace, his_url, "his-demo", INSTITUTION)
    assert totals(again)[1] == 0, "a re-run stores nothing"

    changes = apply_changes(his_url, seed=5, new_patients=2, corrections=6, discharges=2)
    later = import_sql(workspace, his_url, "his-demo", INSTITUTION)
    diagnoses = [r for r in later if "#diagnoses" in r.source]
    assert sum(r.received for r in diagnoses) == changes.inserted["diagnosis"], "append reads new rows only"
    labs = [r for r in later if "#lab_results" in r.source]
    new_labs = changes.inserted["lab_result"] + changes.updated["lab_result"]
    assert sum(r.stored for r in labs) == new_labs
    assert sum(r.duplicates for r in labs) <= 2, "only rows at the last timestamp are read again"

    corrected = {rid: v for rid, v in raw_versions(workspace, "lab-").items() if len(v) > 1}
    assert len(corrected) == changes.updated["lab_result"], "a corrected result is a new version, same id"
    for versions in corrected.values():
        assert versions[-1]["status"] == "corrected" and versions[0]["status"] != "corrected"
        assert versions[-1]["meta"]["lastUpdated"] > versions[0]["meta"]["lastUpdated"]

    source_id = default_source_id(INSTITUTION, his_url)
    engine = create_engine(his_url)
    with engine.connect() as con:
        newest = con.execute(select(func.max(lab_result.c.modified_at))).scalar_one()
    engine.dispose()
    key = watermark.state_key(HIS.tables["lab_results"], HIS.tables["lab_results"].sql)
    assert watermark.decode(workspace.catalog.get_state(source_id, key)) == newest


def test_dropped_connection_then_rerun_gives_the_clean_result(his_url, make_workspace) -> None:
    create_and_fill(his_url, patients=14, seed=2)
    broken, clean = make_workspace(), make_workspace()
    overrides = Overrides(chunk_size=20, commit_rows=60)
    kill = terminate_others(his_url)
    seen, killed = 0, []

    def progress(n: int) -> None:
        nonlocal seen
        seen += n
        if seen > 60 and not killed:  # the second commit group is being read
            killed.append(kill())

    with pytest.raises(SqlImportError) as caught:
        import_sql(broken, his_url, "his-demo", INSTITUTION, tables=["lab_results"], overrides=overrides,
                   progress=progress)  # fmt: skip
    assert killed and killed[0] >= 1
    message = str(caught.value)
    assert "after 60 rows were committed" in message and "run the import again" in message
    engine = create_engine(his_url)
    with engine.connect() as con:
        sixtieth = con.execute(
            select(lab_result.c.modified_at)
            .order_by(lab_result.c.modified_at, lab_result.c.result_id)
            .offset(59)
            .limit(1)
        ).scalar_one()
        total = con.execute(select(func.count()).select_from(lab_result)).scalar_one()
    engine.dispose()
    key = watermark.state_key(HIS.tables["lab_results"], overrides.apply(HIS.tables["lab_results"].sql))
    stored = broken.catalog.get_state(default_source_id(INSTITUTION, his_url), key)
    assert watermark.decode(stored) == sixtieth, "the last value stays at the last committed group"

    resumed = import_sql(
        broken, his_url, "his-demo", INSTITUTION, tables=["lab_results"], overrides=overrides
    )
    assert totals(resumed)[1] == total - 60
    import_sql(clean, his_url, "his-demo", INSTITUTION, tables=["lab_results"])
    query = "SELECT resource_type, resource_id, content_hash FROM raw.resources ORDER BY 2"
    assert broken.sql(query).to_pylist() == clean.sql(query).to_pylist()


@pytest.mark.mariadb
def test_credentials_never_reach_logs_catalog_lake_or_errors(
    mariadb_url, workspace, monkeypatch, caplog
) -> None:
    create_and_fill(mariadb_url, patients=3, seed=1)
    database = mariadb_url.rsplit("/", 1)[1]
    user, password, wrong = f"mlk_{uuid.uuid4().hex[:8]}", f"Pw-{uuid.uuid4().hex}", f"No-{uuid.uuid4().hex}"
    admin = create_engine(MARIADB_ADMIN)
    with admin.begin() as con:
        for host in ("%", "localhost", "127.0.0.1"):
            con.execute(text(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'"))
            con.execute(text(f"GRANT SELECT ON `{database}`.* TO '{user}'@'{host}'"))
    try:
        caplog.set_level(logging.DEBUG)
        location = f"mysql+pymysql://{user}:${{HIS_TEST_PASSWORD}}@127.0.0.1:3306/{database}"
        workspace.catalog.add_source("his", INSTITUTION, "sql", location, mapping="his-demo")
        monkeypatch.setenv("HIS_TEST_PASSWORD", password)
        [run] = sync(workspace)
        assert run.error is None and run.new > 0
        [rerun] = sync(workspace)
        assert rerun.error is None and rerun.new == 0

        monkeypatch.setenv("HIS_TEST_PASSWORD", wrong)
        [failed] = sync(workspace)
        assert failed.error is not None and "cannot connect to mysql+pymysql://" in failed.error
        app, ingest = typer.Typer(cls=MedlakeGroup), typer.Typer()
        app.add_typer(ingest, name="ingest")
        register(app, ingest)
        result = CliRunner().invoke(
            app,
            [
                "ingest",
                "sql",
                location,
                "-m",
                "his-demo",
                "-i",
                INSTITUTION,
                "--home",
                str(workspace.home),
                "-v",
            ],
        )
        assert result.exit_code == 1 and "cannot connect" in " ".join(result.output.split())
        literal = location.replace("${HIS_TEST_PASSWORD}", wrong)
        result = CliRunner().invoke(
            app,
            ["ingest", "sql", literal, "-m", "his-demo", "-i", INSTITUTION, "--home", str(workspace.home)],
        )
        assert result.exit_code == 1

        stores = [
            caplog.text,
            failed.error,
            result.output,
            (workspace.home / "catalog.db").read_bytes().decode("latin-1"),
        ]
        stores += [
            p.read_bytes().decode("latin-1") for p in Path(workspace.home, "lake").rglob("*") if p.is_file()
        ]
        for secret in (password, wrong):
            assert not any(secret in text_ for text_ in stores), "a password leaked"
        assert user in caplog.text or "127.0.0.1" in caplog.text, "the logs do name the database"
    finally:
        with admin.begin() as con:
            for host in ("%", "localhost", "127.0.0.1"):
                con.execute(text(f"DROP USER IF EXISTS '{user}'@'{host}'"))
        admin.dispose()


@pytest.mark.postgres
def test_cli_overrides_like_sqoop_flags(postgres_url, workspace) -> None:
    runner = CliRunner()
    app, ingest = typer.Typer(cls=MedlakeGroup), typer.Typer()
    app.add_typer(ingest, name="ingest")
    register(app, ingest)
    app.command("synth-his")(synth_his)
    assert runner.invoke(app, ["synth-his", postgres_url, "--patients", "6", "--seed", "4"]).exit_code == 0
    engine = create_engine(postgres_url)
    with engine.connect() as con:
        ids = con.execute(select(lab_result.c.result_id).order_by(lab_result.c.result_id)).scalars().all()
    engine.dispose()
    last = ids[len(ids) // 2]
    args = ["ingest", "sql", postgres_url, "-m", "his-demo", "-i", INSTITUTION, "--home", str(workspace.home),
            "--table", "lab_results", "--incremental", "append", "--check-column", "result_id",
            "--last-value", str(last), "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    reports = orjson.loads(result.output)
    assert sum(r["received"] for r in reports) == sum(1 for i in ids if i > last)
    again = orjson.loads(runner.invoke(app, [*args[:-3], "--json"]).output)
    assert again == [], "without --last-value the stored last value continues: nothing new"
    bad = runner.invoke(app, ["ingest", "sql", postgres_url, "-m", "his-demo", "-i", INSTITUTION,
                              "--home", str(workspace.home), "--check-column", "x"])  # fmt: skip
    assert bad.exit_code == 1 and "apply to one table" in " ".join(bad.output.split())


@pytest.mark.postgres
def test_tables_that_do_not_fit_the_mapping_fail_clearly(postgres_url, workspace, tmp_path) -> None:
    engine = create_engine(postgres_url)
    with engine.begin() as con:
        con.execute(text("CREATE TABLE obs (id int, patient text, value numeric, changed timestamp)"))
        con.execute(text("INSERT INTO obs VALUES (1, 'p1', 5.1, '2024-01-01 10:00'), (2, 'p1', 5.4, NULL), "
                         "(2, 'p2', 6.0, '2024-01-01 00:00')"))  # fmt: skip
    engine.dispose()
    mapping = tmp_path / "obs.yaml"
    body = """
name: obs
timezone: UTC
tables:
  obs:
    sql: {SOURCE, incremental: lastmodified, check_column: changed}
    columns: {id: integer, patient: {}, value: decimal, changed: datetime}
    resources:
      - {resourceType: Observation, id: "o-{id}", status: final, code: {text: x},
         subject: {reference: "Patient/{patient}"}, valueQuantity: {$quantity: {value: "{value}"}}}
"""
    mapping.write_text(body.replace("SOURCE", "table: obs, key: id"))
    with pytest.raises(SqlImportError, match=r"1 rows have NULL in the check column 'changed'.*COALESCE"):
        import_sql(workspace, postgres_url, mapping, "hosp-a")
    mapping.write_text(body.replace("SOURCE", "table: obs"))
    with pytest.raises(SqlImportError, match=r"table obs has no primary key: declare sql\.key"):
        import_sql(workspace, postgres_url, mapping, "hosp-a")
    query = (
        "query: 'SELECT id, patient, value, COALESCE(changed, TIMESTAMP ''2024-01-01'') AS changed FROM obs'"
    )
    mapping.write_text(body.replace("SOURCE", f"{query}, key: id"))
    with pytest.raises(SqlImportError, match=r"key \('id',\) is not unique"):
        import_sql(workspace, postgres_url, mapping, "hosp-a")
    mapping.write_text(body.replace("SOURCE", f"{query}, key: [id, patient]"))
    reports = import_sql(workspace, postgres_url, mapping, "hosp-a")
    assert totals(reports) == (3, 3, 0, 0)
    mapping.write_text(body.replace("SOURCE", "table: obz, key: id"))
    with pytest.raises(SqlImportError, match="table obz does not exist"):
        import_sql(workspace, postgres_url, mapping, "hosp-a")
