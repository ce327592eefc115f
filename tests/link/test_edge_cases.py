"""Hand-made hard cases, linked inside a realistic synthetic population that trains the model.

Each case is a small family of records with their own (unusual) names so that the background
cannot interfere; the background supplies realistic name frequencies, households, twins and
duplicates for the parameter estimates.
"""

from __future__ import annotations

import pandas as pd
import pytest

from medlake.link import Decision, LinkSettings, Reason, link_records
from medlake.link.standardise import verified_identifiers
from medlake.synth.identifiers import luhn_check_digit
from medlake.synth.linkage import generate_person_records

HOME = {"address": "14 Larkspur Lane", "city": "Wexcombe", "postcode": "W-4471", "state": "Region Q"}
ELSEWHERE = {"address": "3 Quarry Road", "city": "Dunmarrow", "postcode": "D-9120", "state": "Region Z"}


def _nid(body: str) -> str:
    """A national id that passes the Luhn check (the default ``identifier_check``): a verified id."""
    return body + luhn_check_digit(body)


def _mistyped(identifier: str) -> str:
    """The id with its fourth digit keyed one off: fails the Luhn check."""
    return identifier[:3] + str((int(identifier[3]) + 1) % 10) + identifier[4:]


def _record(record_id: str, given: str, family: str, birth_date: str, sex: str, **fields: str | None) -> dict:
    base = {"record_id": record_id, "source": "edge", "given": given, "family": family,
            "birth_date": birth_date, "sex": sex, "phone": None, "identifier": None}  # fmt: skip
    return base | HOME | fields


EDGE_RECORDS = [
    # Twins: same family, birth date, address and household phone; other given names (and sex).
    _record("twin-1", "Oliver", "Quennell", "1990-04-12", "m", phone="0301 555 0101"),
    _record("twin-2", "Harriet", "Quennell", "1990-04-12", "f", phone="0301 555 0101"),
    _record("twin-3", "Thaddeus", "Quennell", "1990-04-12", "m", phone="0301 555 0101"),
    # Same name and birth date, everything else different (two people, both with national ids).
    _record(
        "namesake-1",
        "Margaret",
        "Ashdown",
        "1975-06-30",
        "f",
        phone="0401 222 333",
        identifier=_nid("900000101"),
    ),
    _record(
        "namesake-2",
        "Margaret",
        "Ashdown",
        "1975-06-30",
        "f",
        phone="0677 888 999",
        identifier=_nid("900000102"),
        **ELSEWHERE,
    ),
    # Name change at marriage: family name differs, everything else agrees.
    _record("married-1", "Katherine", "Brightwell", "1986-09-02", "f", phone="0402 404 404"),
    _record("married-2", "Katherine", "Oduya-Brent", "1986-09-02", "f", phone="0402 404 404"),
    # Moved house: new address, city, postcode; same mobile phone.
    _record("moved-1", "Desmond", "Fairweather", "1962-01-23", "m", phone="0170 123 4567"),
    _record("moved-2", "Desmond", "Fairweather", "1962-01-23", "m", phone="+49 170 1234567", **ELSEWHERE),
    # Typos in names, birth date (one digit) and address.
    _record("typo-1", "Alexandra", "Pemberton", "1982-03-14", "f", phone="0155 246 810"),
    _record(
        "typo-2",
        "Alexnadra",
        "Pemberten",
        "1982-03-15",
        "f",
        phone="0155 246 810",
        address="14 Larkspur Lnae",
    ),
    # Nickname and a day/month swap.
    _record("nick-1", "William", "Hargreave", "1971-05-09", "m", phone="0160 975 3197"),
    _record("nick-2", "Bill", "Hargreave", "1971-09-05", "m", phone="0160 975 3197"),
    # Given and family name swapped.
    _record("swap-1", "Wei", "Zhangsun", "1995-11-30", "m", phone="0151 800 800"),
    _record("swap-2", "Zhangsun", "Wei", "1995-11-30", "m", phone="0151 800 800"),
    # Given and family name swapped, and filed under a nickname ("Wolstenholme, Becky").
    _record("swapnick-1", "Rebecca", "Wolstenholme", "1944-02-10", "f", phone="0152 440 210"),
    _record("swapnick-2", "Wolstenholme", "Becky", "1944-02-10", "f"),
    # Conflicting national ids on otherwise identical records: never merged automatically.
    _record(
        "conflict-1",
        "Gregory",
        "Thistlewood",
        "1958-07-19",
        "m",
        phone="0162 111 222",
        identifier=_nid("900000201"),
    ),
    _record(
        "conflict-2",
        "Gregory",
        "Thistlewood",
        "1958-07-19",
        "m",
        phone="0162 111 222",
        identifier=_nid("900000202"),
    ),
    # A shared trusted id links records whatever else differs.
    _record("shared-1", "Rosalind", "Carmody", "1949-12-01", "f", identifier=_nid("900000301")),
    _record("shared-2", "Ros", "Carmody-Vance", "1949-01-12", "f", identifier=_nid("900000301"), **ELSEWHERE),
    # A chain: two ids joined through a record without id must not become one person.
    _record(
        "chain-1",
        "Ambrose",
        "Kettleby",
        "1966-03-03",
        "m",
        phone="0173 303 303",
        identifier=_nid("900000401"),
    ),
    _record("chain-2", "Ambrose", "Kettleby", "1966-03-03", "m", phone="0173 303 303"),
    _record(
        "chain-3",
        "Ambrose",
        "Kettleby",
        "1966-03-03",
        "m",
        phone="0173 303 303",
        identifier=_nid("900000402"),
    ),
    # One clerk keyed the national id with a one-digit typo (fails Luhn); everything else agrees.
    _record(
        "idtypo-1",
        "Cornelius",
        "Abernethy",
        "1979-10-05",
        "m",
        phone="0174 515 151",
        identifier=_nid("900000501"),
    ),
    _record(
        "idtypo-2",
        "Cornelius",
        "Abernethy",
        "1979-10-05",
        "m",
        phone="0174 515 151",
        identifier=_mistyped(_nid("900000501")),
    ),
    # Two different people whose records carry the same invalid id (a copied keying error).
    _record("badid-1", "Philippa", "Marchbanks", "1938-02-17", "f", identifier=_mistyped(_nid("900000601"))),
    _record(
        "badid-2",
        "Leopold",
        "Ferncastle",
        "2001-08-29",
        "m",
        phone="0175 616 161",
        identifier=_mistyped(_nid("900000601")),
        **ELSEWHERE,
    ),
]


@pytest.fixture(scope="module")
def linkage():
    background = generate_person_records(6000, seed=11).drop(columns=["person_id"])
    records = pd.concat([background, pd.DataFrame(EDGE_RECORDS)], ignore_index=True)
    return link_records(records, LinkSettings(u_max_pairs=1.2e6))


def test_twins_of_different_sex_are_kept_apart(linkage) -> None:
    assert not linkage.same_person("twin-1", "twin-2")
    assert linkage.decision_for("twin-1", "twin-2") == Decision.NON_MATCH


def test_twins_of_the_same_sex_are_not_merged_automatically(linkage) -> None:
    assert not linkage.same_person("twin-1", "twin-3")
    assert linkage.decision_for("twin-1", "twin-3") != Decision.MATCH


def test_same_name_and_birth_date_but_nothing_else_is_not_linked(linkage) -> None:
    assert not linkage.same_person("namesake-1", "namesake-2")
    assert linkage.decision_for("namesake-1", "namesake-2") != Decision.MATCH


def test_name_change_at_marriage_is_linked(linkage) -> None:
    assert linkage.same_person("married-1", "married-2")


def test_moved_address_is_linked(linkage) -> None:
    assert linkage.same_person("moved-1", "moved-2")


def test_typos_are_linked(linkage) -> None:
    assert linkage.same_person("typo-1", "typo-2")


def test_nickname_with_swapped_day_and_month_is_linked(linkage) -> None:
    assert linkage.same_person("nick-1", "nick-2")
    evidence = {
        e.comparison: e.level for e in linkage.scores.evidence(_pair_row(linkage, "nick-1", "nick-2"))
    }
    assert evidence["given"] == "nickname of each other"
    assert evidence["birth_date"] == "birth date with day and month swapped"


def test_swapped_given_and_family_names_are_linked(linkage) -> None:
    assert linkage.same_person("swap-1", "swap-2")


def test_swapped_names_with_a_nickname_are_linked(linkage) -> None:
    assert linkage.same_person("swapnick-1", "swapnick-2")
    evidence = {
        e.comparison: e.level for e in linkage.scores.evidence(_pair_row(linkage, "swapnick-1", "swapnick-2"))
    }
    assert evidence["given"] == "given and family names swapped, one a nickname"


def test_conflicting_national_ids_go_to_review_not_merged(linkage) -> None:
    assert not linkage.same_person("conflict-1", "conflict-2")
    row = linkage.pairs.loc[_pair_row(linkage, "conflict-1", "conflict-2")]
    assert row["decision"] == Decision.REVIEW
    assert row["reason"] == Reason.IDENTIFIER_CONFLICT
    assert row["match_probability"] >= linkage.model.settings.match_threshold


def test_shared_trusted_identifier_links(linkage) -> None:
    assert linkage.same_person("shared-1", "shared-2")
    assert linkage.pairs.loc[_pair_row(linkage, "shared-1", "shared-2"), "reason"] == Reason.SHARED_IDENTIFIER


def test_no_person_holds_two_verified_identifiers(linkage) -> None:
    assert not linkage.same_person("chain-1", "chain-3")
    verified = verified_identifiers(linkage.records, linkage.model.settings.identifier_check)
    ids = pd.DataFrame(
        {
            "record_id": linkage.records.column("record_id").to_pylist(),
            "identifier": linkage.records.column("identifier").to_pylist(),
        }
    )[verified].merge(linkage.clusters, on="record_id")
    per_person = ids.dropna(subset=["identifier"]).groupby("person_id")["identifier"].nunique()
    assert per_person.max() == 1
    # A mistyped copy of an id is not a second identity: that person holds both strings.
    assert linkage.same_person("idtypo-1", "idtypo-2")


def _pair_row(linkage, first: str, second: str) -> int:
    left, right = sorted((first, second))
    rows = linkage.pairs.index[
        (linkage.pairs["record_id_l"] == left) & (linkage.pairs["record_id_r"] == right)
    ]
    assert len(rows) == 1, f"pair {left}/{right} was not scored"
    return int(rows[0])


def test_a_mistyped_national_id_does_not_keep_a_person_apart(linkage) -> None:
    assert linkage.same_person("idtypo-1", "idtypo-2")
    row = linkage.pairs.loc[_pair_row(linkage, "idtypo-1", "idtypo-2")]
    assert row["decision"] == Decision.MATCH
    assert row["reason"] == Reason.MODEL
    evidence = {e.comparison: e.level for e in linkage.scores.evidence(row)}
    assert evidence["identifier"] == "identifier one typo", "the typo still counts as evidence"


def test_an_equal_invalid_id_is_not_a_certain_match(linkage) -> None:
    assert not linkage.same_person("badid-1", "badid-2")
    assert linkage.decision_for("badid-1", "badid-2") != Decision.MATCH
    rows = linkage.pairs[
        (linkage.pairs["record_id_l"] == "badid-1") & (linkage.pairs["record_id_r"] == "badid-2")
    ]
    assert (rows["reason"] != Reason.SHARED_IDENTIFIER).all()
