"""Password hashing with Argon2id (argon2-cffi): the catalog only ever holds the hash.

An unknown user name is checked against a dummy hash of the same cost, so the answer takes
as long for a name that does not exist as for a wrong password (no user enumeration by timing).
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from medlake.access.errors import IdentityError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; a megabyte "password" would be a cheap denial of service
_HASHER = PasswordHasher()  # RFC 9106's low-memory profile: Argon2id, t=3, m=64 MiB, p=4


def hash_password(password: str) -> str:
    """The Argon2id hash to store; refuses passwords too short to be one."""
    if len(password) < MIN_LENGTH:
        raise IdentityError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise IdentityError(f"a password has at most {MAX_LENGTH} characters")
    return _HASHER.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash("not the password of anyone")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; ``None`` (no such user) costs the same and is False."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        matched = _HASHER.verify(stored_hash or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matched and stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash at the next sign-in)."""
    return _HASHER.check_needs_rehash(stored_hash)
