"""Data files written beside deltalake's writer and added by one commit (what ingest's workers do)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pytest
from deltalake import DeltaTable

from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.lake import Lake, files
from medlake.lake.files import delete_data_file, file_stats, read_data_file, write_data_file
from medlake.lake.scan import scanned

SCHEMA = pa.schema(
    [
        pa.field("institution", pa.string(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("n", pa.int64()),
        pa.field("at", pa.timestamp("us", tz="UTC")),
        pa.field("text", pa.string()),
    ]
)
FILE = pa.schema([f for f in SCHEMA if f.name != "institution"])


def rows(ids: list[str], start: int = 0) -> pa.Table:
    at = [datetime(2024, 1, 1, 0, 0, 0, 1_500 + k, tzinfo=UTC) for k in range(len(ids))]
    return pa.table(
        {"id": ids, "n": list(range(start, start + len(ids))), "at": at, "text": [f"t-{i}" for i in ids]},
        schema=FILE,
    )


def test_committed_files_are_the_table_with_writers_ids_and_configuration(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path), checkpoint_interval=3)
    uri = lake.uri("raw", "t")
    a, b = lake.file_target(uri, {"institution": "a"}), lake.file_target(uri, {"institution": "b"})
    first = [write_data_file(a, "part-1.parquet", rows(["x", "y"]), dictionary=[], no_stats={"text"})]
    version = lake.commit_files(uri, first, schema=SCHEMA, partition_by=["institution"], app_ids=["batch-1"])
    assert version == 0 and lake.committed_version(uri, "batch-1") == 1
    second = [
        write_data_file(a, "part-2.parquet", rows(["z"], 2), dictionary=["id"], no_stats={"text"}),
        write_data_file(b, "part-3.parquet", rows(["x"], 9), dictionary=[], no_stats={"text"}),
    ]
    assert lake.commit_files(uri, second, schema=SCHEMA, partition_by=["institution"], app_ids=["b2"]) == 1
    assert lake.committed_version(uri, "b2") == 1 and lake.committed_version(uri, "batch-3") is None

    table = lake.read(uri).sort_by([("institution", "ascending"), ("id", "ascending")])
    assert table.select(["institution", "id", "n"]).to_pylist() == [
        {"institution": "a", "id": "x", "n": 0},
        {"institution": "a", "id": "y", "n": 1},
        {"institution": "a", "id": "z", "n": 2},
        {"institution": "b", "id": "x", "n": 9},
    ]
    stats = lake.stats(uri)
    assert stats is not None and (stats.rows, stats.rows_by_institution) == (4, {"a": 3, "b": 1})
    assert DeltaTable(uri).metadata().configuration["delta.checkpointInterval"] == "3"
    # the engine reads the files straight, as the build does
    with DuckDBEngine() as engine, scanned(engine, "t", uri, DeltaTable(uri)) as as_view:
        assert as_view, "read as Parquet files, not through Arrow"
        counted = engine.sql("SELECT institution, count(*) AS n FROM t GROUP BY 1 ORDER BY 1").to_pylist()
    assert counted == [{"institution": "a", "n": 3}, {"institution": "b", "n": 1}]


def test_file_statistics_bound_every_value(tmp_path: Path) -> None:
    table = rows(["b", "a", "c"])
    stats = json.loads(file_stats(table, {"text"}))
    assert stats["numRecords"] == 3
    assert (stats["minValues"]["id"], stats["maxValues"]["id"]) == ("a", "c")
    assert (stats["minValues"]["n"], stats["maxValues"]["n"]) == (0, 2)
    # microseconds 1500..1502: milliseconds 1 (rounded down) and 2 (rounded up) still bound them
    assert stats["minValues"]["at"] == "2024-01-01T00:00:00.001Z"
    assert stats["maxValues"]["at"] == "2024-01-01T00:00:00.002Z"
    assert "text" not in stats["minValues"] and "text" not in stats["nullCount"]
    assert stats["nullCount"] == {"id": 0, "n": 0, "at": 0}
    nulls = json.loads(file_stats(pa.table({"n": pa.array([None, None], pa.int64())}), set()))
    assert nulls["nullCount"] == {"n": 2} and nulls["minValues"] == {}


def test_uncommitted_files_are_invisible_and_can_be_removed(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = lake.uri("raw", "t")
    target = lake.file_target(uri, {"institution": "a"})
    kept = write_data_file(target, "part-1.parquet", rows(["x"]), dictionary=[], no_stats=set())
    stray = write_data_file(target, "part-2.parquet", rows(["y"]), dictionary=[], no_stats=set())
    lake.commit_files(uri, [kept], schema=SCHEMA, partition_by=["institution"])
    assert lake.read(uri).column("id").to_pylist() == ["x"], "a file no commit names is not in the table"
    assert read_data_file(target, stray).column("id").to_pylist() == ["y"]
    delete_data_file(target, stray.path)
    delete_data_file(target, stray.path)  # gone already: not an error
    assert sorted(p.name for p in (Path(uri) / "institution=a").iterdir()) == ["part-1.parquet"]


def test_an_object_store_gets_its_files_through_deltalakes_storage_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """s3:// and hdfs:// cannot run here; the handler they use is exercised over the local store."""
    monkeypatch.setattr(files, "is_local", lambda uri: False)
    files._filesystem.cache_clear()
    lake = Lake(str(tmp_path))
    uri = lake.uri("raw", "t")
    Path(uri).mkdir(parents=True)  # the handler wants a local root to exist; a bucket always does
    target = lake.file_target(uri, {"institution": "a"})
    assert type(files._filesystem(uri, ())[0]) is pafs.PyFileSystem
    file = write_data_file(target, "part-1.parquet", rows(["x"]), dictionary=[], no_stats=set())
    assert read_data_file(target, file).column("id").to_pylist() == ["x"]
    lake.commit_files(uri, [file], schema=SCHEMA, partition_by=["institution"])
    files._filesystem.cache_clear()
    assert (tmp_path / "raw" / "t" / "institution=a" / "part-1.parquet").is_file()
    assert Lake(str(tmp_path)).read(uri).column("id").to_pylist() == ["x"]
