"""Incremental details that need no server: the lookback window, overrides, the source id."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from medlake.sources.database import Overrides, default_source_id, import_sql
from medlake.sources.tabular.mapping import load_mapping

MAPPING = """
name: obs
timezone: UTC
tables:
  obs:
    sql: {table: obs, key: id, incremental: lastmodified, check_column: changed, lookback_seconds: LOOKBACK}
    columns: {id: integer, value: decimal, changed: datetime}
    resources:
      - {resourceType: Observation, id: "o-{id}", status: final, code: {text: x},
         meta: {lastUpdated: "{changed}"}, valueQuantity: {$quantity: {value: "{value}"}}}
"""


def write_rows(url: str, *rows: str) -> None:
    """Rows as SQLite text timestamps in SQLAlchemy's format (SQLite compares them as text)."""
    engine = create_engine(url)
    with engine.begin() as con:
        con.execute(
            text("CREATE TABLE IF NOT EXISTS obs (id INTEGER PRIMARY KEY, value NUMERIC, changed DATETIME)")
        )
        for row in rows:
            con.execute(text(f"INSERT INTO obs VALUES {row}"))
    engine.dispose()


@pytest.mark.parametrize(("lookback", "reread"), [(0, 1), (3600, 2)])
def test_lookback_reads_again_the_window_before_the_last_value(workspace, tmp_path, lookback, reread) -> None:
    url = f"sqlite:///{tmp_path / 'his.db'}"
    write_rows(url, "(1, 1.5, '2024-01-01 09:30:00.000000')", "(2, 2.5, '2024-01-01 10:00:00.000000')")
    path = tmp_path / "obs.yaml"
    path.write_text(MAPPING.replace("LOOKBACK", str(lookback)))
    [first] = import_sql(workspace, url, path, "hosp-a")
    assert (first.received, first.stored) == (2, 2)
    write_rows(url, "(3, 3.5, '2024-01-01 11:00:00.000000')")
    [second] = import_sql(workspace, url, path, "hosp-a")
    assert (second.received, second.stored, second.duplicates) == (1 + reread, 1, reread)


def test_overrides_and_source_ids() -> None:
    options = load_mapping("his-demo").tables["lab_results"].sql
    assert Overrides(incremental="none").apply(options).check_column is None
    assert (
        Overrides(incremental="append", check_column="result_id").apply(options).check_column == "result_id"
    )
    with pytest.raises(ValueError, match="one of none, append, lastmodified"):
        Overrides(incremental="sometimes").apply(options)
    source_id = default_source_id(
        "hosp-a", "postgresql+psycopg://reader:s3cret@his-db:5432/his?sslmode=require"
    )
    assert source_id == "hosp-a:sql:reader@his-db:5432/his" and "s3cret" not in source_id
