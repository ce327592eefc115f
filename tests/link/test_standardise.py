"""Standardisation: what the comparisons see, and the input errors that must not pass silently."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from medlake.link import RecordError, standardise
from medlake.link.nicknames import are_nicknames, nickname_group
from medlake.link.records import apply_field_map


def _one(**fields: object) -> dict:
    table = standardise(pd.DataFrame([{"record_id": "1", **fields}]))
    return table.to_pylist()[0]


def test_names_lose_case_accents_titles_and_separators() -> None:
    row = _one(given="Dr. Mary-Ann", family="van der MÜLLER-Lüdenscheidt")
    assert row["given"] == "maryann"
    assert row["family"] == "mullerludenscheidt"
    assert row["given_nicknames"] == nickname_group("mary"), "the first given name is looked up as a nickname"
    assert "mary" in row["given_nicknames"]
    assert row["family_nicknames"] is None, "no nickname group for a family name no table knows"


def test_family_names_get_a_nickname_group_for_swapped_records() -> None:
    """Filed as given "Shaw", family "Becky": the family field holds a nickname of Rebecca."""
    swapped = _one(given="Shaw", family="Becky")
    assert "rebecca" in swapped["family_nicknames"]
    assert "rebecca" in _one(given="Rebecca", family="Shaw")["given_nicknames"]
    two_words = _one(given="Shaw", family="Becky Ann")
    assert two_words["family"] == "beckyann" and "rebecca" in two_words["family_nicknames"], "first word"


def test_birth_dates_from_iso_compact_and_timestamps_agree() -> None:
    for value in ("1980-02-03", "19800203", "1980-2-3", "1980-02-03T10:00:00"):
        assert _one(birth_date=value)["birth_date"] == "1980-02-03", value


def test_impossible_but_well_formed_dates_are_kept_for_typo_comparison() -> None:
    assert _one(birth_date="19319924")["birth_date"] == "1931-99-24"


def test_unreadable_birth_date_is_an_error() -> None:
    with pytest.raises(RecordError, match="birth_date"):
        _one(birth_date="3rd of May")


def test_phone_numbers_in_national_and_international_form_agree() -> None:
    assert _one(phone="+49 (30) 123-4567")["phone"] == _one(phone="030 1234567")["phone"]
    assert _one(phone="12")["phone"] is None


def test_placeholder_identifiers_count_as_missing() -> None:
    assert _one(identifier="000-000-000")["identifier"] is None
    assert _one(identifier="ab-123 45")["identifier"] == "AB12345"


def test_sex_codes_are_normalised_and_unknown_codes_rejected() -> None:
    assert [_one(sex=s)["sex"] for s in ("M", "female", "W", "unknown", "x")] == ["m", "f", "f", None, "x"]
    with pytest.raises(RecordError, match="sex"):
        _one(sex="maybe")


def test_missing_fields_become_empty_columns() -> None:
    row = _one(given="Ada")
    assert row["family"] is None and row["postcode"] is None


def test_record_ids_must_be_present_and_unique() -> None:
    with pytest.raises(RecordError, match="more than once"):
        standardise(pd.DataFrame({"record_id": ["a", "a"], "given": ["x", "y"]}))
    with pytest.raises(RecordError, match="record_id"):
        standardise(pa.table({"given": ["x"]}))


def test_nickname_groups_are_symmetric_but_not_transitive_through_shared_nicknames() -> None:
    assert are_nicknames("bill", "william") and are_nicknames("william", "bill")
    assert are_nicknames("bill", "will")
    assert are_nicknames("al", "albert") and are_nicknames("al", "alan")
    assert not are_nicknames("alan", "albert")
    assert nickname_group("zebedeeus") is None


def test_field_map_joins_columns_and_rejects_unknown_fields() -> None:
    frame = pd.DataFrame({"no": ["12", None], "street": ["Main St", "High St"], "id": ["a", "b"]})
    mapped = apply_field_map(frame, {"address": "no+street"}, "id")
    assert mapped["address"].tolist() == ["12 Main St", "High St"]
    with pytest.raises(RecordError, match="unknown person field"):
        apply_field_map(frame, {"shoe_size": "no"}, "id")
    with pytest.raises(RecordError, match="not found"):
        apply_field_map(frame, {"given": "first_name"}, "id")


def test_a_cached_standardisation_without_family_nicknames_is_not_reused(workspace) -> None:
    """The MPI's cache (medlake.mpi.cache) from before family_nicknames existed must be rebuilt.

    With no record changed, nothing would be standardised afresh, and a model with the swapped-
    nickname level would then look for a column the cached rows lack.
    """
    import pyarrow.parquet as pq

    from medlake.mpi.cache import cache_path, standardised_records

    frame = pd.DataFrame(
        {
            "record_id": ["a.1", "a.2"],
            "given": ["Shaw", "Rebecca"],
            "family": ["Becky", "Shaw"],
            "fingerprint": ["f1", "f2"],
        }
    )
    standardised_records(workspace, frame)
    path = cache_path(workspace)
    pq.write_table(pq.read_table(path).drop_columns(["family_nicknames"]), path)
    table = standardised_records(workspace, frame)
    assert "family_nicknames" in table.column_names
    assert "rebecca" in table.to_pylist()[0]["family_nicknames"]
    assert "family_nicknames" in pq.read_schema(path).names, "the cache was rewritten"
