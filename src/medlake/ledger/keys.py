"""The ledger's signing key (a secret) and its public keys (published, with their endorsements).

The private key lives where every medlake secret lives: the environment variable
``LEDGER_SIGNING_KEY`` or, failing that, the workspace's secrets file
(``<home>/secrets.toml``, see :mod:`medlake.secrets`), as the base64 of the raw
32-byte Ed25519 key. It is generated there on first use and never written anywhere else:
not in the ledger's folder, the catalog, the lake or a log line.

``ledger/keys.json`` lists every public key the ledger has signed with, oldest first. Each
key after the first carries an *endorsement*: the previous key's signature over the new key's
id, so a verifier or a witness that trusts the first key can follow a rotation without
trusting the file it read it from.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from medlake.errors import LedgerError
from medlake.ledger.heads import b64, endorsement_message, key_id, raw_public, unb64, verifies
from medlake.secrets import secrets_file

SECRET_NAME = "LEDGER_SIGNING_KEY"


class SigningKeyError(LedgerError, RuntimeError):
    """The signing key is missing, malformed, or its public half is not the ledger's current key."""


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def private_key_from_text(text: str, origin: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(unb64(text.strip(), 32, SECRET_NAME))
    except ValueError:
        raise SigningKeyError(
            f"{SECRET_NAME} in {origin} is not the base64 of a 32-byte Ed25519 key"
        ) from None


def private_key_text(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def load_signing_key(home: Path) -> Ed25519PrivateKey | None:
    """The ledger's private key from the environment or the secrets file; None when there is none yet."""
    if SECRET_NAME in os.environ:
        return private_key_from_text(os.environ[SECRET_NAME], "the environment")
    path = secrets_file(home)
    if not path.exists():
        return None
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SigningKeyError(f"{path} is not valid TOML ({exc.args[0].split(' (')[0]})") from None
    if SECRET_NAME not in values:
        return None
    return private_key_from_text(str(values[SECRET_NAME]), str(path))


def store_signing_key(home: Path, key: Ed25519PrivateKey) -> Path:
    """Write ``key`` into the secrets file, replacing a previous one and keeping every other line."""
    if SECRET_NAME in os.environ:
        raise SigningKeyError(
            f"{SECRET_NAME} is set in the environment: put the new key there instead of the secrets file"
        )
    path = secrets_file(home)
    text = path.read_text() if path.exists() else ""
    line = f'{SECRET_NAME} = "{private_key_text(key)}"'
    pattern = re.compile(rf"^{SECRET_NAME}\s*=.*$", re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: line, text)
    else:
        text = text + ("\n" if text and not text.endswith("\n") else "") + line + "\n"
    write_private(path, text)
    return path


@dataclass(frozen=True)
class PublicKey:
    key_id: bytes
    public_key: Ed25519PublicKey
    created: str
    previous_key_id: bytes | None = None
    endorsement: bytes | None = None

    @classmethod
    def of(cls, key: Ed25519PrivateKey, previous: Ed25519PrivateKey | None = None) -> PublicKey:
        public = key.public_key()
        new_id = key_id(public)
        return cls(
            key_id=new_id,
            public_key=public,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            previous_key_id=key_id(previous.public_key()) if previous else None,
            endorsement=previous.sign(endorsement_message(new_id)) if previous else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id.hex(),
            "public_key": b64(raw_public(self.public_key)),
            "created": self.created,
            "previous_key_id": self.previous_key_id.hex() if self.previous_key_id else None,
            "endorsement": b64(self.endorsement) if self.endorsement else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PublicKey:
        try:
            public = Ed25519PublicKey.from_public_bytes(unb64(data["public_key"], 32, "public_key"))
            record = cls(
                key_id=bytes.fromhex(data["key_id"]),
                public_key=public,
                created=str(data.get("created", "")),
                previous_key_id=bytes.fromhex(data["previous_key_id"])
                if data.get("previous_key_id")
                else None,
                endorsement=unb64(data["endorsement"], 64, "endorsement")
                if data.get("endorsement")
                else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a ledger public key: {exc}") from None
        if key_id(public) != record.key_id:
            raise ValueError(f"key {record.key_id.hex()[:16]}…: key_id is not the hash of its public key")
        return record


def endorses(previous: PublicKey, current: PublicKey) -> bool:
    """``previous`` signed ``current``'s key id: the rotation from one to the other is genuine."""
    return (
        current.previous_key_id == previous.key_id
        and current.endorsement is not None
        and verifies(previous.public_key, current.endorsement, endorsement_message(current.key_id))
    )


def chain_problems(keys: list[PublicKey]) -> list[str]:
    """What is wrong with a key list: each key after the first must be endorsed by the one before."""
    problems = [
        f"key {current.key_id.hex()[:16]}… is not endorsed by the key before it"
        for previous, current in pairwise(keys)
        if not endorses(previous, current)
    ]
    if keys and keys[0].endorsement is not None:
        problems.append("the first key claims an endorsement but has no key before it")
    return problems


def extend_trust(trusted: Iterable[bytes], keys: list[PublicKey]) -> set[bytes]:
    """Key ids reachable from ``trusted`` by following endorsements forward through ``keys``."""
    known = set(trusted)
    for previous, current in pairwise(keys):
        if previous.key_id in known and endorses(previous, current):
            known.add(current.key_id)
    return known


class KeyRing:
    """``ledger/keys.json``: the public keys, in the order they were used."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def public_keys(self) -> list[PublicKey]:
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text())
            return [PublicKey.from_json(item) for item in data["keys"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise SigningKeyError(f"{self.path} is damaged: {exc}") from None

    def by_id(self) -> dict[bytes, PublicKey]:
        return {k.key_id: k for k in self.public_keys()}

    def current(self) -> PublicKey | None:
        keys = self.public_keys()
        return keys[-1] if keys else None

    def add(self, record: PublicKey) -> None:
        keys = [*self.public_keys(), record]
        problems = chain_problems(keys)
        if problems:
            raise SigningKeyError(problems[0])
        write_private(self.path, json.dumps({"keys": [k.to_json() for k in keys]}, indent=2) + "\n")
        os.chmod(self.path, 0o644)
