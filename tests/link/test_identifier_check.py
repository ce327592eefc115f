"""National-id check digits, and the identifier rules that only verified ids may trigger.

The check digits are tested against published example numbers and against the synthetic
region's own id generator (an independent Luhn implementation); the rules are tested on
hand-made scored pairs, so each expectation follows from decisions.py's documented rules.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from medlake.link import Decision, LinkSettings, Reason
from medlake.link.clustering import cluster_records
from medlake.link.decisions import decide
from medlake.link.scores import PairScores
from medlake.link.standardise import (
    CHECK_COLUMNS,
    luhn_valid,
    mod11_2_valid,
    passes_check,
    standardise,
    verified_identifiers,
)
from medlake.synth.identifiers import NumberScrambler, luhn_check_digit, national_id


def _luhn_id(body: str) -> str:
    """A valid id built with the synthetic region's generator, not with the code under test."""
    return body + luhn_check_digit(body)


def _substitutions(identifier: str) -> list[str]:
    return [
        identifier[:i] + d + identifier[i + 1 :]
        for i in range(len(identifier))
        for d in "0123456789"
        if d != identifier[i]
    ]


# ------------------------------------------------------------------ Luhn


@pytest.mark.parametrize(
    "number",
    [
        "79927398713",  # the classic worked example of the Luhn algorithm
        "4111111111111111",  # Visa test card
        "4012888888881881",  # Visa test card
        "5555555555554444",  # Mastercard test card
        "378282246310005",  # American Express test card (odd length)
        "046454286",  # Canadian social insurance number, the government's example
    ],
)
def test_published_luhn_numbers_pass(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number", ["79927398710", "79927398711", "4111111111111112", "046454287", "1", "", "7992X398713"]
)
def test_wrong_luhn_numbers_fail(number: str) -> None:
    assert not luhn_valid(number)


def test_every_national_id_of_the_region_passes_and_every_one_digit_typo_fails() -> None:
    scrambler = NumberScrambler("identifier-check-test")
    ids = [national_id(scrambler, index) for index in range(300)]
    assert passes_check(ids, "luhn").all()
    for identifier in ids[:40]:
        typos = _substitutions(identifier)
        assert not passes_check(typos, "luhn").any(), identifier


def test_luhn_catches_adjacent_swaps_except_09_and_90() -> None:
    rng = random.Random(5)
    for _ in range(300):
        identifier = _luhn_id(f"1{rng.randrange(10**8):08d}")
        i = rng.randrange(len(identifier) - 1)
        a, b = identifier[i], identifier[i + 1]
        if a == b:
            continue
        swapped = identifier[:i] + b + a + identifier[i + 2 :]
        assert luhn_valid(swapped) == ({a, b} == {"0", "9"}), (identifier, swapped)


# ------------------------------------------------------------------ ISO 7064 MOD 11-2


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # resident id example of GB 11643-1999 (check character X)
        "440524188001010014",  # resident id example of GB 11643-1999
        "0000000218250097",  # ORCID iD 0000-0002-1825-0097 (ORCID's documented example)
        "000000021694233X",  # ORCID iD 0000-0002-1694-233X (check character X)
    ],
)
def test_published_mod11_2_numbers_pass(number: str) -> None:
    assert mod11_2_valid(number)


@pytest.mark.parametrize(
    "number", ["110105194912310021", "440524188001010015", "0000000218250098", "X10105194912310020", "1"]
)
def test_wrong_mod11_2_numbers_fail(number: str) -> None:
    assert not mod11_2_valid(number)


def test_mod11_2_catches_every_one_character_typo_of_a_resident_id() -> None:
    identifier = "11010519491231002X"
    body_typos = _substitutions(identifier[:-1])
    typos = [t + "X" for t in body_typos] + [identifier[:-1] + d for d in "0123456789"]
    assert not passes_check(typos, "mod11-2").any()


# ------------------------------------------------------------------ passes_check and standardise


def test_missing_values_are_never_verified_and_none_verifies_every_present_id() -> None:
    values = ["79927398713", None, float("nan"), "79927398710"]
    assert passes_check(values, "luhn").tolist() == [True, False, False, False]
    assert passes_check(values, "none").tolist() == [True, False, False, True]
    assert passes_check(pd.Series(values, dtype="string"), "luhn").tolist() == [True, False, False, False]
    assert passes_check(pa.chunked_array([["79927398713"], [None]]), "luhn").tolist() == [True, False]
    with pytest.raises(ValueError, match="unknown identifier check"):
        passes_check(values, "verhoeff")  # type: ignore[arg-type]


def test_vectorised_check_agrees_with_the_generator_on_mixed_lengths() -> None:
    rng = random.Random(9)
    ids, expected = [], []
    for _ in range(2000):
        body = str(rng.randrange(10, 10 ** rng.randrange(2, 16)))
        digit = luhn_check_digit(body)
        wrong = rng.random() < 0.5
        if wrong:
            digit = str((int(digit) + rng.randrange(1, 10)) % 10)
        ids.append(body + digit)
        expected.append(not wrong)
    assert passes_check(ids, "luhn").tolist() == expected


def test_standardise_records_each_check_on_the_cleaned_identifier() -> None:
    records = pd.DataFrame(
        {
            "record_id": ["1", "2", "3", "4"],
            "identifier": ["799 273 987-13", "799-273-987-10", None, "11010519491231002x"],
        }
    )
    table = standardise(records)
    assert table.column(CHECK_COLUMNS["luhn"]).to_pylist() == [True, False, None, False]
    assert table.column(CHECK_COLUMNS["mod11-2"]).to_pylist()[2:] == [None, True]
    assert verified_identifiers(table, "luhn").tolist() == [True, False, False, False]
    assert verified_identifiers(table, "none").tolist() == [True, True, False, True]


def test_settings_reject_an_unknown_check() -> None:
    assert LinkSettings().identifier_check == "luhn"
    with pytest.raises(ValueError, match="identifier_check"):
        LinkSettings(identifier_check="crc32")  # type: ignore[arg-type]


# ------------------------------------------------------------------ decisions

VALID_A = _luhn_id("120000001")
VALID_B = _luhn_id("120000002")
TYPO_A = VALID_A[:3] + str((int(VALID_A[3]) + 1) % 10) + VALID_A[4:]  # one digit off, fails Luhn


def _decide(pairs: list[tuple[str | None, str | None, float]], settings: LinkSettings) -> pd.DataFrame:
    """Decide hand-made pairs that carry only an identifier and a match probability."""
    frame = pd.DataFrame(
        {
            "record_id_l": [f"l{i}" for i in range(len(pairs))],
            "record_id_r": [f"r{i}" for i in range(len(pairs))],
            "identifier_l": [p[0] for p in pairs],
            "identifier_r": [p[1] for p in pairs],
            "match_probability": [p[2] for p in pairs],
        }
    )
    return decide(PairScores(frame, {}), settings)


def test_test_ids_are_what_they_claim() -> None:
    assert luhn_valid(VALID_A) and luhn_valid(VALID_B)
    assert not luhn_valid(TYPO_A)
    assert sum(a != b for a, b in zip(VALID_A, TYPO_A, strict=True)) == 1


def test_different_verified_ids_are_never_merged_automatically() -> None:
    decided = _decide([(VALID_A, VALID_B, 0.999), (VALID_A, VALID_B, 0.2)], LinkSettings())
    assert decided["decision"].tolist() == [Decision.REVIEW, Decision.NON_MATCH]
    assert decided["reason"].iloc[0] == Reason.IDENTIFIER_CONFLICT


def test_a_mistyped_id_does_not_block_a_confident_match() -> None:
    decided = _decide([(VALID_A, TYPO_A, 0.999)], LinkSettings())
    assert decided["decision"].iloc[0] == Decision.MATCH
    assert decided["reason"].iloc[0] == Reason.MODEL
    # Without the check the typo is a trusted conflict, which is what sent such pairs to review.
    unchecked = _decide([(VALID_A, TYPO_A, 0.999)], LinkSettings(identifier_check="none"))
    assert unchecked["decision"].iloc[0] == Decision.REVIEW


def test_an_equal_invalid_id_is_not_a_certain_match_by_itself() -> None:
    decided = _decide([(TYPO_A, TYPO_A, 0.1), (VALID_A, VALID_A, 0.1)], LinkSettings())
    assert decided["decision"].iloc[0] == Decision.NON_MATCH
    assert decided["reason"].iloc[0] == Reason.BELOW_REVIEW
    assert decided["decision"].iloc[1] == Decision.MATCH
    assert decided["reason"].iloc[1] == Reason.SHARED_IDENTIFIER


def test_untrusted_identifiers_trigger_no_rule_even_when_valid() -> None:
    settings = LinkSettings(identifier_is_trusted=False)
    decided = _decide([(VALID_A, VALID_B, 0.999), (VALID_A, VALID_A, 0.1)], settings)
    assert decided["decision"].tolist() == [Decision.MATCH, Decision.NON_MATCH]


def test_mod11_2_setting_verifies_resident_ids_and_not_luhn_ones() -> None:
    settings = LinkSettings(identifier_check="mod11-2")
    decided = _decide(
        [("11010519491231002X", "440524188001010014", 0.999), (VALID_A, VALID_B, 0.999)], settings
    )
    # VALID_A/VALID_B happen to fail MOD 11-2 (checked below), so they are ordinary evidence there.
    assert not mod11_2_valid(VALID_A) or not mod11_2_valid(VALID_B)
    assert decided["decision"].tolist() == [Decision.REVIEW, Decision.MATCH]


# ------------------------------------------------------------------ clustering


def _matched(left: str, right: str, probability: float) -> dict:
    return {
        "record_id_l": left,
        "record_id_r": right,
        "match_probability": probability,
        "decision": str(Decision.MATCH),
        "reason": str(Reason.MODEL),
    }


def test_a_mistyped_id_does_not_split_its_person() -> None:
    records = pa.table({"record_id": ["a", "b", "c"], "identifier": [VALID_A, None, TYPO_A]})
    pairs = pd.DataFrame([_matched("a", "b", 0.99), _matched("b", "c", 0.98)])
    result = cluster_records(records, pairs, LinkSettings())
    assert result.clusters["person_id"].nunique() == 1
    assert (result.pairs["decision"] == Decision.MATCH).all()


def test_two_verified_ids_in_one_component_are_still_split() -> None:
    records = pa.table({"record_id": ["a", "b", "c"], "identifier": [VALID_A, None, VALID_B]})
    pairs = pd.DataFrame([_matched("a", "b", 0.99), _matched("b", "c", 0.98)])
    result = cluster_records(records, pairs, LinkSettings())
    person = result.clusters.set_index("record_id")["person_id"]
    assert person["a"] == person["b"] != person["c"]
    refused = result.pairs[(result.pairs["record_id_l"] == "b") & (result.pairs["record_id_r"] == "c")]
    assert refused["reason"].iloc[0] == Reason.CLUSTER_CONFLICT
    assert np.array_equal(verified_identifiers(records, "luhn"), np.array([True, False, True])), (
        "hand-made tables without check columns are checked on the fly"
    )


def test_a_scheme_without_the_check_digit_is_reported() -> None:
    rng = random.Random(3)
    bodies = [f"1{rng.randrange(10**8):08d}" for _ in range(100)]
    unchecked = [body + str(rng.randrange(10)) for body in bodies]  # about one in ten passes by chance
    checked = [_luhn_id(body) for body in bodies[:97]] + unchecked[97:]
    pairs = pd.DataFrame(columns=["record_id_l", "record_id_r", "match_probability", "decision", "reason"])
    ids = [str(i) for i in range(100)]
    with pytest.warns(UserWarning, match="identifier_check='none'"):
        cluster_records(pa.table({"record_id": ids, "identifier": unchecked}), pairs, LinkSettings())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cluster_records(pa.table({"record_id": ids, "identifier": checked}), pairs, LinkSettings())
        cluster_records(
            pa.table({"record_id": ids, "identifier": unchecked}),
            pairs,
            LinkSettings(identifier_check="none"),
        )
