"""Survivorship rules on hand-made records: each test states the situation and the field that must win."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from medlake.person.survivorship import FIELD_GROUPS, IDENTIFYING, golden_columns, survive


def record(patient_id: str, last_updated: str | None, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {f: None for f in IDENTIFYING}
    row.update(
        person_id=fields.pop("person_id", "P1"),
        patient_id=patient_id,
        institution=patient_id.split(".", 1)[0],
        active=fields.pop("active", True),
        last_updated=last_updated,
    )
    row.update(fields)
    return row


def golden(rows: list[dict[str, Any]], trust: tuple[str, ...] = ()) -> dict[str, Any]:
    result = survive(pd.DataFrame(rows), trust)
    assert len(result) == 1
    return result.iloc[0].to_dict()


def test_marriage_the_newer_name_wins_and_cites_the_newer_record() -> None:
    rows = [
        record("hosp-a.1", "2019-03-01T10:00:00Z", given="Anna", family="Smith", birth_date="1990-04-02"),
        record("chc-b.7", "2023-06-15T08:30:00Z", given="Anna", family="Jones", birth_date="1990-04-02"),
        record("hosp-c.3", "2021-01-01T00:00:00Z", given="Anna", family="Smith"),
    ]
    g = golden(rows)
    assert (g["given"], g["family"]) == ("Anna", "Jones")
    assert g["name_from"] == "chc-b.7"


def test_a_move_takes_the_whole_newest_address_not_a_mix() -> None:
    rows = [
        record("a.1", "2020-01-01T00:00:00Z", address_line="1 Old Road", city="Oldtown", postcode="11111"),
        # newest record has a new street and city but no postcode: the old postcode must not be mixed in
        record("b.2", "2024-01-01T00:00:00Z", address_line="9 New Street", city="Newtown"),
    ]
    g = golden(rows)
    assert (g["address_line"], g["city"], g["postcode"]) == ("9 New Street", "Newtown", None)
    assert g["address_from"] == "b.2"


def test_birth_date_comes_from_the_trusted_source_even_when_outnumbered_and_older() -> None:
    rows = [
        record("registry.1", "2015-01-01T00:00:00Z", birth_date="1950-01-02", sex="female"),
        record("clinic.5", "2024-01-01T00:00:00Z", birth_date="1950-02-01", sex="female"),
        record("hosp.9", "2023-01-01T00:00:00Z", birth_date="1950-02-01", sex="female"),
    ]
    trusted = golden(rows, trust=("registry",))
    assert trusted["birth_date"] == "1950-01-02"
    assert trusted["birth_date_from"] == "registry.1"
    # without a trust order the value two records agree on wins, cited from the newer of the two
    untrusted = golden(rows)
    assert untrusted["birth_date"] == "1950-02-01"
    assert untrusted["birth_date_from"] == "clinic.5"


def test_unlisted_institutions_rank_after_listed_ones() -> None:
    rows = [
        record("walkin.1", "2024-01-01T00:00:00Z", national_id="111"),
        record("hosp.2", "2010-01-01T00:00:00Z", national_id="222"),
    ]
    assert golden(rows, trust=("registry", "hosp"))["national_id"] == "222"


def test_most_complete_record_breaks_a_tie() -> None:
    same_time = "2022-05-05T12:00:00Z"
    rows = [
        record("a.1", same_time, given="Tom", family="Lee", sex="male"),
        record("b.2", same_time, given="Tom", family="Li", sex="male", phone="555", postcode="9"),
    ]
    g = golden(rows)
    assert g["family"] == "Li" and g["name_from"] == "b.2"
    assert g["sex_from"] == "b.2", "same value, same time: the more complete record is cited"


def test_full_tie_is_decided_by_patient_id_whatever_the_input_order() -> None:
    rows = [
        record("b.2", "2022-05-05T12:00:00Z", given="Sam", family="Day", sex="male"),
        record("a.1", "2022-05-05T12:00:00Z", given="Sam", family="Dey", sex="female"),
    ]
    forward, backward = golden(rows), golden(list(reversed(rows)))
    assert forward == backward
    assert forward["name_from"] == "a.1" and forward["family"] == "Dey"
    assert forward["sex"] == "female"


def test_active_records_come_before_inactive_ones() -> None:
    rows = [
        record("a.1", "2024-09-09T00:00:00Z", given="Old", family="Merged", active=False),
        record("b.2", "2020-01-01T00:00:00Z", given="Kept", family="Record"),
    ]
    assert golden(rows)["name_from"] == "b.2"


def test_full_birth_date_beats_a_partial_one_and_blank_is_missing() -> None:
    rows = [
        record("a.1", "2024-01-01T00:00:00Z", birth_date="1970", phone="  "),
        record("b.2", "2019-01-01T00:00:00Z", birth_date="1970-05-12", phone="0123"),
    ]
    g = golden(rows, trust=("a",))
    assert g["birth_date"] == "1970-05-12"
    assert g["phone"] == "0123" and g["phone_from"] == "b.2"


def test_records_without_last_updated_count_as_oldest() -> None:
    rows = [
        record("a.1", None, given="No", family="Date"),
        record("b.2", "2001-01-01T00:00:00Z", given="Has", family="Date"),
    ]
    assert golden(rows)["name_from"] == "b.2"


def test_one_row_per_person_with_every_citation_column() -> None:
    rows = [
        record("a.1", "2020-01-01T00:00:00Z", person_id="P1", given="X"),
        record("b.2", "2020-01-01T00:00:00Z", person_id="P2", given="Y"),
        record("c.3", "2021-01-01T00:00:00Z", person_id="P2", family="Z"),
    ]
    result = survive(pd.DataFrame(rows))
    assert list(result.columns) == golden_columns()
    assert list(result["person_id"]) == ["P1", "P2"]
    assert list(result["records"]) == [1, 2]
    assert result.loc[1, "institutions"] == "b,c"
    assert result.loc[1, "last_updated"] == "2021-01-01T00:00:00Z"
    for group in FIELD_GROUPS:
        assert f"{group}_from" in result.columns


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="last_updated"):
        survive(pd.DataFrame([{"person_id": "P", "patient_id": "a.1"}]))
