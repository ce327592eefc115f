"""The engine seam: every DuckDB connection comes from an Engine, with the workspace's limits, and
names given to an engine live exactly as long as their block."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import medlake
from medlake.engine import UnknownTable, get_engine


def _names(engine) -> set[str]:
    views = engine.sql("SELECT view_name AS name FROM duckdb_views() WHERE NOT internal")
    tables = engine.sql("SELECT table_name AS name FROM duckdb_tables()")
    return set(views.column("name").to_pylist()) | set(tables.column("name").to_pylist())


def test_registered_and_temporary_names_are_gone_after_their_block_even_on_failure() -> None:
    with get_engine() as engine:
        with engine.registered("numbers", pa.table({"n": [1, 2, 3]})):
            with (
                engine.temporary("big", "SELECT n FROM numbers WHERE n > 1"),
                engine.temporary("bigger", "SELECT n FROM big WHERE n > 2", materialise=False),
            ):
                assert engine.sql("SELECT sum(n) AS s FROM bigger").to_pylist() == [{"s": 3}]
                assert {"big", "bigger"} <= _names(engine)
            assert not {"big", "bigger"} & _names(engine)
            assert engine.sql("SELECT count(*) AS c FROM numbers").to_pylist() == [{"c": 3}]
        with (
            pytest.raises(ZeroDivisionError),
            engine.registered("doomed", pa.table({"n": [1]})),
            engine.temporary("doomed_copy", "SELECT * FROM doomed"),
        ):
            raise ZeroDivisionError
        assert not {"doomed", "doomed_copy"} & _names(engine)
        with pytest.raises(UnknownTable) as gone:
            engine.sql("SELECT * FROM doomed")
        assert gone.value.name == "doomed"


SETTINGS = {"engine_threads": 1, "engine_memory_limit": "300MB"}
_LIMITS = "SELECT current_setting('threads') AS threads, current_setting('memory_limit') AS memory"


def _limits(engine) -> tuple[int, str]:
    row = engine.sql(_LIMITS).to_pylist()[0]
    return int(row["threads"]), row["memory"]


def test_the_workspace_engines_take_the_engine_settings(make_workspace) -> None:
    with get_engine("duckdb", threads=1, memory_limit="300MB") as reference:
        expected = _limits(reference)
    configured, default = make_workspace(**SETTINGS), make_workspace()
    for factory in (configured.engine, configured.local_engine):
        with factory() as engine:
            assert _limits(engine) == expected
    with default.engine() as engine:
        assert _limits(engine) != expected, "without settings the engine keeps DuckDB's defaults"


def test_every_duckdb_connection_of_a_whole_run_takes_the_engine_settings(tmp_path, monkeypatch) -> None:
    """Ingest, build, link, golden records, serving store and reads: no connection escapes the limits."""
    from medlake.build.run import build_all
    from medlake.ingest import ingest_path
    from medlake.mpi import MasterPatientIndex
    from medlake.person import person_record, refresh_person
    from medlake.workspace import init_workspace
    from tests.conftest import synthetic_region

    with get_engine("duckdb", threads=1, memory_limit="300MB") as reference:
        expected = _limits(reference)
    opened: list[tuple[int, str]] = []
    splink_spares: list[duckdb.DuckDBPyConnection] = []
    connect = duckdb.connect

    def recording_connect(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        connection = connect(*args, **kwargs)
        if any(f.filename.endswith("splink/internals/database_api.py") for f in traceback.extract_stack()):
            splink_spares.append(connection)  # the spare Splink's base class opens: must be closed
            return connection
        [(threads, memory)] = connection.execute(_LIMITS).fetchall()
        opened.append((int(threads), memory))
        return connection

    monkeypatch.setattr(duckdb, "connect", recording_connect)
    synthetic_region(tmp_path / "region", 150, 20240611)
    ws = init_workspace(tmp_path / "ws", ingest_workers=1, **SETTINGS)
    for folder in sorted(p for p in (tmp_path / "region").iterdir() if p.is_dir() and p.name != "truth"):
        ingest_path(ws, folder, folder.name)
    build_all(ws)
    report = MasterPatientIndex(ws).run()
    assert report.model == "trained", "Splink's own connection is among those checked"
    refresh_person(ws)
    person = ws.table("warehouse.person_link", ["person_id"]).column(0)[0].as_py()
    assert person_record(ws, person, "direct").person_id == person
    assert ws.sql("SELECT count(*) AS n FROM warehouse.patient").column(0)[0].as_py() > 0
    assert len(opened) >= 10, opened
    assert set(opened) == {expected}
    assert splink_spares, "Splink still opens a spare connection: this check can go"
    for spare in splink_spares:
        with pytest.raises(duckdb.ConnectionException):
            spare.execute("SELECT 1")


def test_only_the_engine_package_connects_to_duckdb() -> None:
    """The engine seam: any other module gets its DuckDB through an Engine."""
    source = Path(medlake.__file__).parent
    uses_duckdb = re.compile(r"^\s*(import duckdb|from duckdb\b)|duckdb\.connect\(", re.MULTILINE)
    offenders = [
        str(path.relative_to(source))
        for path in source.rglob("*.py")
        if path.parent.name != "engine" and uses_duckdb.search(path.read_text())
    ]
    assert offenders == []


def test_the_standard_qualify_keeps_the_rows_duckdbs_qualify_keeps() -> None:
    """The form a dialect without QUALIFY inherits (Spark's) selects what DuckDB's QUALIFY does."""
    from medlake.engine.dialect import Dialect, DuckDBDialect

    rows = pa.table({"k": ["a", "a", "b", "c", "c", "c"], "v": [3, 5, 1, 2, 9, 4]})
    newest = "row_number() OVER (PARTITION BY k ORDER BY v DESC) = 1"
    with get_engine() as engine, engine.registered("t", rows):
        duckdb_rows = engine.sql(DuckDBDialect().qualify(["k", "v"], "t", newest) + " ORDER BY k").to_pylist()
        standard_rows = engine.sql(Dialect().qualify(["k", "v"], "t", newest) + " ORDER BY k").to_pylist()
    pairs = list(zip(rows["k"].to_pylist(), rows["v"].to_pylist(), strict=True))
    highest = {k: max(v for key, v in pairs if key == k) for k in "abc"}
    assert duckdb_rows == standard_rows == [{"k": k, "v": v} for k, v in highest.items()]


def test_spark_is_refused_as_the_readme_says() -> None:
    """README.md says the Spark engine is not built yet and is refused: hold it to that."""
    from medlake.errors import MedlakeError

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "Spark" in readme and "not built yet" in readme
    with pytest.raises(MedlakeError, match="Spark backend is not built yet"):
        get_engine("spark")
