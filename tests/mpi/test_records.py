"""The records the index reads from the warehouse: partial birth dates and the fingerprint."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from medlake.lake.tables import Layer
from medlake.mpi.records import person_records

COLUMNS = ["id", "institution", "given", "family", "birth_date", "sex", "address_line", "city",
           "postcode", "state", "phone", "national_id"]  # fmt: skip


def write_person_record(workspace, rows: list[dict]) -> None:
    table = pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in COLUMNS})
    workspace.lake.write(workspace.lake.uri(Layer.WAREHOUSE, "person_record"), table, mode="overwrite")


def test_partial_birth_dates_become_missing_and_are_counted(workspace) -> None:
    write_person_record(
        workspace,
        [
            {"id": "a.1", "institution": "a", "given": "Ann", "birth_date": "1980"},
            {"id": "a.2", "institution": "a", "given": "Bo", "birth_date": "1980-05"},
            {"id": "a.3", "institution": "a", "given": "Cy", "birth_date": "1980-05-17"},
            {"id": "a.4", "institution": "a", "given": "Di"},
        ],
    )
    records, partial = person_records(workspace)
    dates = dict(zip(records["record_id"], records["birth_date"], strict=True))
    assert partial == 2
    assert dates["a.3"] == "1980-05-17"
    assert all(pd.isna(dates[r]) for r in ("a.1", "a.2", "a.4"))
    assert "partial_birth_date" not in records.columns


def test_the_fingerprint_changes_with_a_compared_field_only(workspace) -> None:
    row = {"id": "a.1", "institution": "a", "given": "Ann", "family": "Lee", "birth_date": "1980-05-17"}
    write_person_record(workspace, [row])
    before = person_records(workspace)[0]["fingerprint"].iloc[0]
    write_person_record(workspace, [row | {"given": "Anne"}])
    after = person_records(workspace)[0]["fingerprint"].iloc[0]
    write_person_record(workspace, [row | {"given": "Anne", "family": None}])
    blanked = person_records(workspace)[0]["fingerprint"].iloc[0]
    write_person_record(workspace, [row | {"given": "Anne", "family": ""}])
    empty = person_records(workspace)[0]["fingerprint"].iloc[0]
    assert len({before, after, blanked, empty}) == 4, "an edit, a blanked field and '' all differ"
