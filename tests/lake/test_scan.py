"""A Delta table read through DuckDB's Parquet reader gives exactly the rows of its Arrow dataset."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from medlake.engine import get_engine
from medlake.lake import Lake
from medlake.lake.scan import scanned


def _rows(table: pa.Table) -> list[tuple]:
    return sorted(tuple(str(v) for v in row.values()) for row in table.to_pylist())


def test_view_over_the_files_equals_the_arrow_dataset(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    uri = lake.uri("raw", "things")
    first = pa.table({"institution": ["hosp-a", "2024"], "id": ["1", "2"], "n": [1, 2]})
    lake.write(uri, first, partition_by=["institution"])  # "2024" must stay a string
    later = pa.table({"institution": ["hosp-a"], "id": ["3"], "n": [3], "note": ["added later"]})
    lake.write(uri, later, partition_by=["institution"])  # the schema grew: older files lack "note"
    replaced = pa.table(
        {"institution": ["hosp-a"], "id": ["4"], "n": [4], "note": pa.array([None], pa.string())}
    )
    # a replaced partition: its old files are no longer part of the table, though still on disk
    lake.write(
        uri, replaced, partition_by=["institution"], mode="overwrite", predicate="institution = 'hosp-a'"
    )
    table = lake.table(uri)
    assert table is not None
    with get_engine("duckdb") as engine:
        with scanned(engine, "things", uri, table) as as_view:
            assert as_view, "a local table of reader version 1 is read as Parquet files"
            through_files = engine.sql("SELECT * FROM things")
        assert "things" not in engine.sql("SELECT view_name FROM duckdb_views()").column(0).to_pylist()
        with engine.registered("arrow", table.to_pyarrow_dataset()):
            through_arrow = engine.sql("SELECT * FROM arrow")
    columns = ["institution", "id", "n", "note"]  # callers select by name: the order may differ
    assert sorted(through_files.column_names) == sorted(through_arrow.column_names) == sorted(columns)
    assert _rows(through_files.select(columns)) == _rows(through_arrow.select(columns))
    assert sorted(through_files.column("id").to_pylist()) == ["2", "4"]
    assert through_files.schema.field("institution").type == pa.string()
