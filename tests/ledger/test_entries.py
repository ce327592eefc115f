"""Entries: typed, checked, and canonicalised exactly as RFC 8785 says (compared with its reference)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
import rfc8785

from medlake.ledger.entries import Entry, EntryError, canonical, decode, encode


def _random_value(rng: random.Random, depth: int = 0):
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return rng.choice([None, True, False])
    if choice == 1:
        return rng.randint(-(2**53) + 1, 2**53 - 1)
    if choice == 2:
        return rng.choice([0.1, -1.5e-7, 1e21, 123456789.0, 5e-324, 2.0, -0.0])
    if choice == 3:
        alphabet = 'aZ09 "\\/\n\t\x00\x1f\x7fé€\u2028\ud7ff\U0001f600\ufb01'
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
    if choice == 4:
        return rng.choice(["", "plain", "ümlaut", "\U0001f600"])
    if choice == 5:
        return rng.randint(2**53, 2**60)  # outside JCS's integer domain: must be refused, not mangled
    if choice in (6, 7):
        keys = ["a", "B", "é", "\ufb01", "\U0001f600", "z1", "10", "1", ""]
        return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def test_canonical_bytes_equal_the_rfc8785_reference_on_random_documents() -> None:
    rng = random.Random(9162)
    compared = refused = 0
    for _ in range(3000):
        document = {"kind": "x", "data": _random_value(rng)}
        try:
            expected = rfc8785.dumps(document)
        except rfc8785.CanonicalizationError:
            with pytest.raises(EntryError):
                canonical(document)
            refused += 1
            continue
        assert canonical(document) == expected, document
        compared += 1
    assert compared > 1000 and refused > 50


def test_an_entry_is_checked_and_carries_time_and_a_nonce() -> None:
    entry = Entry("consent.change", {"person": "G-1", "scope": "research", "status": "refused"})
    first, second = encode(entry, "2026-12-01T10:00:00.000Z"), encode(entry, "2026-12-01T10:00:00.000Z")
    assert first != second  # a fresh nonce: equal events do not have equal leaf hashes
    document = decode(first)
    assert document["kind"] == "consent.change" and document["logged_at"] == "2026-12-01T10:00:00.000Z"
    assert len(bytes.fromhex(document["nonce"])) == 16 and document["data"]["status"] == "refused"
    at = datetime(2026, 5, 1, 8, 30, 1, 999999, tzinfo=UTC)
    assert (
        decode(encode(Entry("access.read", {"actor": "a", "person": "p", "purpose": "t"}, at), "x"))[
            "logged_at"
        ]
        == "2026-05-01T08:30:01.999Z"
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (Entry("consent.chnage", {}), "unknown ledger entry kind 'consent.chnage'"),
        (Entry("consent.change", {"person": "G-1"}), "missing field(s) scope, status"),
        (Entry("access.read", {"actor": "a", "person": "p", "purpose": float("nan")}), "not canonical JSON"),
        (Entry("access.read", {"actor": "a", "person": b"bytes", "purpose": "t"}), "not canonical JSON"),
    ],
)
def test_bad_entries_are_refused_with_the_reason(entry: Entry, message: str) -> None:
    with pytest.raises(EntryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        encode(entry, "2026-12-01T10:00:00.000Z")
