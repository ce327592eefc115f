"""The lake: transactions, exactly-once markers, checkpoints of the log, stats from the log."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from medlake.lake import Lake


def _rows(n: int, institution: str) -> pa.Table:
    return pa.table({"institution": [institution] * n, "x": list(range(n))})


def test_writes_record_which_writers_committed(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = lake.uri("raw", "t")
    assert lake.committed_version(uri, "batch-1") is None and lake.table(uri) is None
    lake.write(uri, _rows(3, "a"), partition_by=["institution"], app_ids=["batch-1", "batch-2"])
    assert lake.committed_version(uri, "batch-1") == 1 and lake.committed_version(uri, "batch-2") == 1
    assert lake.committed_version(uri, "batch-3") is None


def test_log_checkpoints_at_the_configured_interval(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path), checkpoint_interval=4)
    uri = lake.uri("integrated", "t")
    for _ in range(9):
        lake.write(uri, _rows(1, "a"), partition_by=["institution"])
    checkpoints = sorted(p.name for p in (Path(uri) / "_delta_log").glob("*.checkpoint.parquet"))
    assert checkpoints == [
        "00000000000000000003.checkpoint.parquet",
        "00000000000000000007.checkpoint.parquet",
    ]
    assert lake.read(uri).num_rows == 9, "readers see every commit through the checkpoints"


def test_stats_come_from_the_log_and_match_the_data(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = lake.uri("warehouse", "t")
    lake.write(uri, _rows(5, "a"), partition_by=["institution"])
    lake.write(uri, _rows(2, "b"), partition_by=["institution"])
    stats = lake.stats(uri)
    assert (stats.version, stats.rows, stats.rows_by_institution) == (1, 7, {"a": 5, "b": 2})
    lake.write(uri, _rows(1, "c"), mode="overwrite", partition_by=["institution"])
    stats = lake.stats(uri)
    assert (stats.rows, stats.rows_by_institution) == (1, {"c": 1}), "an overwrite replaces in one commit"
    assert lake.read(lake.uri("warehouse", "t")).column("x").to_pylist() == [0]
    assert lake.tables("warehouse") == ["t"]


def test_files_of_a_killed_writer_stay_invisible_and_vacuum_removes_them(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = lake.uri("raw", "t")
    lake.write(uri, _rows(2, "a"), partition_by=["institution"])
    orphan = Path(uri) / "institution=a" / "part-orphan.parquet"
    orphan.write_bytes((Path(uri) / "institution=a").glob("*.parquet").__next__().read_bytes())
    assert lake.read(uri).num_rows == 2, "a data file no commit names is not part of the table"
    removed = lake.vacuum(uri, retention_hours=0)
    assert any("part-orphan" in f for f in removed) and not orphan.exists()


def test_long_texts_and_unique_columns_are_written_without_dictionaries(tmp_path: Path) -> None:
    """Texts keep no statistics; unique columns keep theirs (min/max for skipping files by id)."""
    import pyarrow.parquet as pq

    lake = Lake(str(tmp_path / "lake"))
    uri = lake.uri("integrated", "Patient")
    data = pa.table({"id": ["a", "b", "a"], "kind": ["x", "x", "x"], "resource": ["{}", "{}", "{}"]})
    lake.write(uri, data, mode="overwrite", long_text=["resource"], unique=["id"])
    (path,) = lake.files(uri)
    column = {
        c.path_in_schema: c for c in (pq.ParquetFile(path).metadata.row_group(0).column(i) for i in range(3))
    }
    assert not column["id"].has_dictionary_page and not column["resource"].has_dictionary_page
    assert column["kind"].has_dictionary_page, "other columns still get a dictionary"
    assert (column["id"].statistics.min, column["id"].statistics.max) == ("a", "b")
    assert column["resource"].statistics is None
