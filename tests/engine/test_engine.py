"""The engine interface: names given to an engine live exactly as long as their block."""

from __future__ import annotations

import pyarrow as pa
import pytest

from medlake.engine import get_engine


def _names(engine) -> set[str]:
    views = engine.sql("SELECT view_name AS name FROM duckdb_views() WHERE NOT internal")
    tables = engine.sql("SELECT table_name AS name FROM duckdb_tables()")
    return set(views.column("name").to_pylist()) | set(tables.column("name").to_pylist())


def test_registered_and_temporary_names_are_gone_after_their_block_even_on_failure() -> None:
    with get_engine() as engine:
        with engine.registered("numbers", pa.table({"n": [1, 2, 3]})):
            with engine.temporary("big", "SELECT n FROM numbers WHERE n > 1"):
                with engine.temporary("bigger", "SELECT n FROM big WHERE n > 2", materialise=False):
                    assert engine.sql("SELECT sum(n) AS s FROM bigger").to_pylist() == [{"s": 3}]
                    assert {"big", "bigger"} <= _names(engine)
            assert not {"big", "bigger"} & _names(engine)
            assert engine.sql("SELECT count(*) AS c FROM numbers").to_pylist() == [{"c": 3}]
        with pytest.raises(ZeroDivisionError), engine.registered("doomed", pa.table({"n": [1]})):
            with engine.temporary("doomed_copy", "SELECT * FROM doomed"):
                raise ZeroDivisionError
        assert not {"doomed", "doomed_copy"} & _names(engine)
        with pytest.raises(engine.query_errors):
            engine.sql("SELECT * FROM doomed")
