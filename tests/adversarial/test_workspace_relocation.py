"""A copied or moved workspace reads itself, never the folder it came from.

The catalog once kept each table's absolute URI, so ``cp -r home home2`` followed by
``MEDLAKE_HOME=home2 medlake sql …`` read ``home``'s tables, and a change to either copy
showed in the other. Locations are now relative to the lake root (catalog revision 0004).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from typer.testing import CliRunner

from medlake.build.run import build_all
from medlake.catalog import Catalog
from medlake.catalog.store import MIGRATIONS
from medlake.cli import app
from medlake.ingest import ingest_path
from medlake.mpi import MasterPatientIndex
from medlake.person import person_record, refresh_person
from medlake.workspace import init_workspace, open_workspace

CORPUS = Path(__file__).parents[1] / "ingest" / "corpus"
PATIENTS = "SELECT id FROM warehouse.patient ORDER BY id"


def _ids(workspace) -> list[str]:
    return [row["id"] for row in workspace.sql(PATIENTS).to_pylist()]


def _files_mentioning(root: Path, needle: str) -> list[Path]:
    """Files under ``root`` whose content names ``needle``.

    A Delta log's ``commitInfo`` records where the writer created the table (history for
    people, never read back); every action a reader follows (add, remove, metaData) is checked.
    """
    found = []
    for path in (p for p in root.rglob("*") if p.is_file()):
        if path.parent.name == "_delta_log" and path.suffix == ".json":
            lines = path.read_text().splitlines()
            content = "\n".join(line for line in lines if "commitInfo" not in json.loads(line))
        else:
            content = path.read_bytes().decode("latin-1")
        if needle in content:
            found.append(path)
    return found


@pytest.fixture
def home(tmp_path: Path) -> Path:
    workspace = init_workspace(tmp_path / "home", ingest_workers=1)
    ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    build_all(workspace)
    workspace.catalog.close()
    return workspace.home


def test_a_moved_workspace_reads_its_own_tables(home: Path, tmp_path: Path) -> None:
    linked = open_workspace(home)
    MasterPatientIndex(linked).run()
    refresh_person(linked)
    [person] = linked.table("warehouse.person_link", ["person_id"]).column(0).to_pylist()
    moved = tmp_path / "elsewhere" / "moved"
    shutil.move(home, moved)
    assert not home.exists()
    workspace = open_workspace(moved)
    assert _ids(workspace) == ["hosp-a.p1"]
    assert workspace.table("warehouse.patient").num_rows == 1
    # the person serving store and the direct reader both follow the workspace
    for source in ("store", "direct"):
        record = person_record(workspace, person, source=source)
        assert list(record.patients["patient_id"]) == ["hosp-a.p1"], source
    # nothing in the moved folder still names the old one (catalog, Delta logs, settings)
    assert _files_mentioning(moved, str(home)) == []


def test_a_copy_that_changes_reads_only_itself_and_the_original_is_untouched(
    home: Path, tmp_path: Path, monkeypatch
) -> None:
    copy = tmp_path / "home2"
    shutil.copytree(home, copy)
    changed = open_workspace(copy)
    ingest_path(changed, CORPUS / "patient-v2.ndjson", "chc-b")
    build_all(changed)
    assert _ids(changed) == ["chc-b.p1", "hosp-a.p1"]
    assert _ids(open_workspace(home)) == ["hosp-a.p1"], "the original must not see the copy's change"

    # and the other way round, through the command line an analyst would use
    original = open_workspace(home)
    ingest_path(original, CORPUS / "bom-crlf.ndjson", "hosp-c")
    build_all(original)
    monkeypatch.setenv("MEDLAKE_HOME", str(copy))
    result = CliRunner().invoke(app, ["sql", PATIENTS, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.stdout)] == ["chc-b.p1", "hosp-a.p1"]
    catalog = json.loads(CliRunner().invoke(app, ["catalog", "--json"], catch_exceptions=False).stdout)
    assert {entry["location"] for entry in catalog} >= {"raw/resources", "warehouse/patient"}
    assert all(entry["uri"].startswith(str(copy / "lake") + "/") for entry in catalog)


def _migrate(
    catalog: Catalog, revision: str, *, down: bool = False, then: str | None = None, **params
) -> None:
    """Move the catalog's schema to ``revision`` (Alembic, as Catalog.migrate does), then run ``then``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with catalog.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
        if then:
            connection.execute(text(then), params)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_migration_makes_absolute_uris_of_an_old_catalog_relative(backend, tmp_path, request) -> None:
    sqlite = f"sqlite:///{tmp_path / 'old.db'}"
    catalog = Catalog(sqlite if backend == "sqlite" else request.getfixturevalue("postgres_url"))
    _migrate(catalog, "0003")
    with catalog.engine.begin() as connection:
        for name, layer, uri in [
            ("warehouse.patient", "warehouse", "/srv/old-home/lake/warehouse/patient"),
            ("raw.resources", "raw", "file:///srv/old-home/lake/raw/resources"),
            ("integrated.Patient", "integrated", "s3://bucket/lake/integrated/Patient"),
        ]:
            connection.execute(
                text(
                    "INSERT INTO datasets (name, layer, uri, version, rows, last_build_at) "
                    "VALUES (:name, :layer, :uri, 1, 1, CURRENT_TIMESTAMP)"
                ),
                {"name": name, "layer": layer, "uri": uri},
            )
    catalog.migrate()
    assert {d.name: d.location for d in catalog.datasets()} == {
        "integrated.Patient": "integrated/Patient",
        "raw.resources": "raw/resources",
        "warehouse.patient": "warehouse/patient",
    }
    catalog.close()


def test_the_catalog_refuses_a_location_outside_the_lake(home: Path) -> None:
    workspace = open_workspace(home)
    for location in ("/etc", "../other/lake/raw/resources", "s3://elsewhere/raw/resources", "warehouse//x"):
        with pytest.raises(ValueError, match="relative to its root"):
            workspace.catalog.record_dataset(
                name="warehouse.x",
                layer="warehouse",
                location=location,
                version=0,
                rows=0,
                rows_by_institution={},
                schema=[],
                job_id=None,
                inputs=[],
            )
        with pytest.raises(ValueError, match="relative to its root"):
            workspace.lake.resolve(location)


def test_a_copy_of_a_workspace_from_before_the_migration_reads_itself_once_migrated(
    home: Path, tmp_path: Path
) -> None:
    """An old workspace (catalog at revision 0003, absolute URIs naming its own folder), copied,
    then brought up to date with `medlake init`, as a user upgrading medlake would."""
    old = Catalog(f"sqlite:///{home / 'catalog.db'}")
    absolute = "UPDATE datasets SET uri = :root || '/' || uri"
    _migrate(old, "0003", down=True, then=absolute, root=str(home / "lake"))
    old.close()
    copy = tmp_path / "upgraded-copy"
    shutil.copytree(home, copy)
    shutil.rmtree(home / "lake" / "warehouse")  # were the copy still reading the original, this shows
    result = CliRunner().invoke(app, ["init", "--home", str(copy)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert {d.name: d.location for d in open_workspace(copy).catalog.datasets()}["warehouse.patient"] == (
        "warehouse/patient"
    )
    assert _ids(open_workspace(copy)) == ["hosp-a.p1"]
