"""The standardised-records cache may save time but must never change a result."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medlake.link.standardise import standardise
from medlake.mpi.cache import cache_path, standardised_records


def records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": ["a.1", "a.2", "b.1"],
            "source": ["a", "a", "b"],
            "given": ["Anna", "Bert", "Cleo"],
            "family": ["Muller", "Smith", "Jones"],
            "birth_date": ["1980-02-03", "1975-11-30", "2001-07-04"],
            "fingerprint": ["f1", "f2", "f3"],
        }
    )


def by_id(table) -> pd.DataFrame:
    return table.to_pandas().set_index("record_id").sort_index()


def test_cached_rows_equal_a_fresh_standardisation(workspace) -> None:
    frame = records()
    first = standardised_records(workspace, frame)
    assert cache_path(workspace).exists()
    again = standardised_records(workspace, frame)
    expected = by_id(standardise(frame.drop(columns=["fingerprint"])))
    for result in (first, again):
        got = by_id(result)
        assert list(got["fingerprint"]) == ["f1", "f2", "f3"]
        pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)


def test_a_changed_record_is_standardised_again_and_a_gone_one_dropped(workspace) -> None:
    standardised_records(workspace, records())
    changed = records().iloc[:2].copy()
    changed.loc[0, ["given", "fingerprint"]] = ["Annelie", "f1b"]
    result = by_id(standardised_records(workspace, changed))
    assert list(result.index) == ["a.1", "a.2"]
    assert result.loc["a.1", "given"] == "annelie" and result.loc["a.1", "fingerprint"] == "f1b"


def test_an_unreadable_cache_is_rebuilt(workspace) -> None:
    standardised_records(workspace, records())
    cache_path(workspace).write_bytes(b"not parquet")
    result = by_id(standardised_records(workspace, records()))
    assert len(result) == 3 and result.loc["b.1", "family"] == "jones"


def test_a_few_new_records_are_cleaned_without_rewriting_the_cache(workspace) -> None:
    many = pd.concat([records()] * 40, ignore_index=True)
    many["record_id"] = [f"x.{i}" for i in range(len(many))]
    many["fingerprint"] = [f"f{i}" for i in range(len(many))]
    standardised_records(workspace, many)
    written = cache_path(workspace).stat().st_mtime_ns
    one_more = pd.concat([many, records().iloc[:1]], ignore_index=True)
    result = by_id(standardised_records(workspace, one_more))
    assert cache_path(workspace).stat().st_mtime_ns == written, "one new record in 121 is not worth a rewrite"
    assert len(result) == 121 and result.loc["a.1", "given"] == "anna"


def test_a_cache_made_with_another_nickname_table_is_not_reused(workspace) -> None:
    standardised_records(workspace, records())
    path = cache_path(workspace)
    table = pq.read_table(path)
    stale = table.set_column(
        table.schema.get_field_index("given"), "given", pa.array(["stale"] * table.num_rows)
    )
    pq.write_table(stale.replace_schema_metadata({b"medlake.standardised_with": b"nicknames==0.0"}), path)
    result = by_id(standardised_records(workspace, records()))
    assert result.loc["a.1", "given"] == "anna", "standardised again, not read from the stale file"
    # the same stale values under the current stamp would be trusted: the stamp is what decides
    pq.write_table(stale.replace_schema_metadata(table.schema.metadata), path)
    assert by_id(standardised_records(workspace, records())).loc["a.1", "given"] == "stale"
