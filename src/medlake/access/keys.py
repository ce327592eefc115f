"""The key that signs medlake's access tokens: a secret from the environment or the secrets file.

``MEDLAKE_TOKEN_KEY`` signs (HS256); ``MEDLAKE_TOKEN_KEY_PREVIOUS``, when set, still verifies,
so a key can be rotated without signing everyone out: move the current key to ``_PREVIOUS``,
set a new one, and after the longest token lifetime remove the previous. The key never enters
the catalog, the lake or a log; tokens name it by ``kid``, a digest that reveals nothing of it.
"""

from __future__ import annotations

import hashlib
import os
import secrets as random_secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from medlake.access.errors import IdentityError
from medlake.secrets import MissingSecret, secrets_file

CURRENT = "MEDLAKE_TOKEN_KEY"
PREVIOUS = "MEDLAKE_TOKEN_KEY_PREVIOUS"
MIN_BYTES = 32


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: bytes

    def __repr__(self) -> str:  # never print the secret, even in a traceback's locals
        return f"SigningKey(kid={self.kid!r})"


def _key(value: str, name: str) -> SigningKey:
    secret = value.encode()
    if len(secret) < MIN_BYTES:
        raise IdentityError(
            f"secret {name} is shorter than {MIN_BYTES} bytes: run `medlake users rotate-key`"
        )
    return SigningKey(hashlib.sha256(b"medlake-kid:" + secret).hexdigest()[:16], secret)


def _lookup(home: Path, name: str) -> str | None:
    if name in os.environ:
        return os.environ[name]
    value = _file_values(secrets_file(home)).get(name)
    return None if value is None else str(value)


_cache: dict[Path, tuple[tuple[int, int], dict]] = {}


def _file_values(path: Path) -> dict:
    """The secrets file's values, read again only when the file changes (every request verifies a token)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    stamp = (stat.st_mtime_ns, stat.st_ino)
    cached = _cache.get(path)
    if cached is None or cached[0] != stamp:
        cached = (stamp, tomllib.loads(path.read_text()))
        _cache[path] = cached
    return cached[1]


def signing_key(home: Path) -> SigningKey:
    """The current key: the one new tokens are signed with."""
    value = _lookup(home, CURRENT)
    if value is None:
        raise MissingSecret(
            f"no token signing key: run `medlake users rotate-key` (writes {CURRENT} to {secrets_file(home)})"
        )
    return _key(value, CURRENT)


def verifying_keys(home: Path) -> dict[str, SigningKey]:
    """kid -> key, for every key a token may still be signed with (current and previous)."""
    keys = {signing_key(home)}
    previous = _lookup(home, PREVIOUS)
    if previous:
        keys.add(_key(previous, PREVIOUS))
    return {key.kid: key for key in keys}


def rotate(home: Path) -> str:
    """Make a new current key (the old current becomes previous) in the secrets file; returns the new kid.

    The file is written owner-read-only. Keys set in the environment override the file, so
    rotating them is the environment's business.
    """
    path = secrets_file(home)
    values = tomllib.loads(path.read_text()) if path.exists() else {}
    if CURRENT in values:
        values[PREVIOUS] = values[CURRENT]
    values[CURRENT] = random_secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.touch(mode=0o600)
    os.chmod(temporary, 0o600)
    temporary.write_text(tomli_w.dumps(values))
    os.replace(temporary, path)
    return _key(values[CURRENT], CURRENT).kid
