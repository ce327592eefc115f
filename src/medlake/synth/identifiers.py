"""Identifiers that are unique, deterministic for a seed, and useless for cheating at linkage.

Each institution numbers its patients with a keyed permutation of the resident's index, so the
numbers are collision-free without any shared state, yet two institutions' numbers for one
person are unrelated (a rank or arithmetic relation between them would let a linkage algorithm
"match" records without looking at demographics).
"""

from __future__ import annotations

import hashlib
import random

from medlake.synth.institutions import Institution

NUMBER_SPACE = 10**8
_HALF = 10**4
_ROUNDS = 4
#: Duplicate registrations of a person at one institution draw numbers from a disjoint range.
DUPLICATE_OFFSET = 5 * 10**7
MAX_RESIDENTS = DUPLICATE_OFFSET


class NumberScrambler:
    """A keyed bijection on ``[0, 10**8)``: a balanced Feistel network over two 4-digit halves.

    Feistel rounds are invertible whatever the round function, which is what guarantees
    uniqueness; BLAKE2b keyed with the seed makes the mapping differ per seed and per institution.
    """

    def __init__(self, key: str) -> None:
        self._key = hashlib.blake2b(key.encode(), digest_size=32).digest()

    def __call__(self, number: int) -> int:
        if not 0 <= number < NUMBER_SPACE:
            raise ValueError(f"number {number} is outside the scrambler's range [0, {NUMBER_SPACE})")
        left, right = divmod(number, _HALF)
        for round_number in range(_ROUNDS):
            digest = hashlib.blake2b(
                right.to_bytes(2, "big") + bytes((round_number,)), key=self._key, digest_size=4
            ).digest()
            left, right = right, (left + int.from_bytes(digest, "big")) % _HALF
        return left * _HALF + right


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (``uuid.uuid4`` reads the OS entropy pool: not reproducible)."""
    value = rng.getrandbits(128)
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)
    value = (value & ~(0xF000 << 64)) | (4 << 76)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def luhn_check_digit(digits: str) -> str:
    """The Luhn check digit, as national id schemes use to catch single-digit typos."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def national_id(scrambler: NumberScrambler, resident_index: int) -> str:
    """The resident's 10-digit national id: a leading 1, eight scrambled digits, a Luhn digit."""
    body = f"1{scrambler(resident_index):08d}"
    return body + luhn_check_digit(body)


def local_number(scrambler: NumberScrambler, resident_index: int, duplicate: int = 0) -> int:
    """An institution's number for a resident; ``duplicate`` > 0 for an accidental second record."""
    return scrambler(resident_index + duplicate * DUPLICATE_OFFSET)


def patient_id(institution: Institution, number: int, rng: random.Random) -> str:
    """The Patient resource id in the institution's own style."""
    if institution.id_style == "uuid":
        return random_uuid(rng)
    if institution.id_style == "numeric":
        return f"{number:08d}"
    return f"{institution.id_prefix}{number:08d}"


def record_number(institution: Institution, number: int) -> str:
    """The medical record number printed on the institution's patient identifier."""
    return f"{institution.mrn_prefix}{number:08d}"


class ResourceIds:
    """Ids for one patient's resources at one institution.

    UUID-style systems mint random UUIDs; the others derive ids from the patient id and a
    sequence number, as many record systems do, so ids never collide within an institution.
    """

    __slots__ = ("_prefix", "_rng", "_sequence", "_uuid")

    def __init__(self, institution: Institution, patient: str, rng: random.Random) -> None:
        self._uuid = institution.id_style == "uuid"
        self._prefix = patient + "-"
        self._rng = rng
        self._sequence = 0

    def next(self) -> str:
        if self._uuid:
            return random_uuid(self._rng)
        self._sequence += 1
        return self._prefix + str(self._sequence)
