"""Identifier building blocks: unique, keyed, well-formed."""

from __future__ import annotations

import random
import re

import pytest

from medlake.synth.identifiers import NumberScrambler, luhn_check_digit, national_id, random_uuid
from medlake.synth.names import one_typo


def test_scrambler_is_a_keyed_bijection() -> None:
    scramble = NumberScrambler("seed/one")
    outputs = [scramble(n) for n in range(20_000)]
    assert len(set(outputs)) == len(outputs)
    assert all(0 <= n < 10**8 for n in outputs)
    assert outputs != list(range(20_000))
    assert [NumberScrambler("seed/two")(n) for n in range(50)] != outputs[:50]
    with pytest.raises(ValueError, match="outside"):
        scramble(10**8)


def test_national_ids_pass_the_luhn_check() -> None:
    scramble = NumberScrambler("national")
    for index in range(200):
        value = national_id(scramble, index)
        assert re.fullmatch(r"1\d{9}", value)
        assert luhn_check_digit(value[:-1]) == value[-1]
    assert luhn_check_digit("7992739871") == "3"  # the textbook example


def test_uuids_are_version_4_and_reproducible() -> None:
    first = [random_uuid(random.Random(5)) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first[0])


def test_a_typo_is_one_small_edit() -> None:
    rng = random.Random(1)
    for name in ("Margaret", "Smith", "Li", "O'Brien", "Jo"):
        for _ in range(50):
            typo = one_typo(rng, name)
            assert typo != name
            assert abs(len(typo) - len(name)) <= 1
