"""The ledger as the platform uses it: append typed entries, read signed heads, ask for proofs.

>>> with open_ledger(workspace) as ledger:
...     ledger.append("consent.change", {"person": "G-42", "scope": "research", "status": "refused"})
...     ledger.append_batch([Entry("access.read", {...}), Entry("access.read", {...})])
...     ledger.inclusion_proof(0).to_json()

Each ``append``/``append_batch`` call is one transaction: its entries get consecutive
indexes and one signed head covers them all, so batching is what makes appends cheap.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from medlake.ledger import entries as entry_format
from medlake.ledger.entries import Entry
from medlake.ledger.heads import SignedHead, b64, key_id
from medlake.ledger.keys import (
    SECRET_NAME,
    KeyRing,
    PublicKey,
    SigningKeyError,
    load_signing_key,
    store_signing_key,
)
from medlake.ledger.merkle import ProofError, consistency_proof, inclusion_proof, tree_root
from medlake.ledger.storage import LedgerDamaged, Storage

LEDGER_FOLDER = "ledger"


@dataclass(frozen=True)
class InclusionProof:
    index: int
    leaf_hash: bytes
    path: list[bytes]
    head: SignedHead

    def to_json(self) -> dict[str, Any]:
        return {
            "leaf_index": self.index,
            "tree_size": self.head.tree_size,
            "leaf_hash": b64(self.leaf_hash),
            "inclusion_path": [b64(h) for h in self.path],
            "head": self.head.to_json(),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    path: list[bytes]

    def to_json(self) -> dict[str, Any]:
        return {
            "tree_size_1": self.first,
            "tree_size_2": self.second,
            "consistency_path": [b64(h) for h in self.path],
        }


class Ledger:
    """One workspace's ledger (``<home>/ledger``)."""

    def __init__(self, home: Path | str, sync: bool = True) -> None:
        self.home = Path(home)
        self.root = self.home / LEDGER_FOLDER
        self.storage = Storage(self.root)
        self.keyring = KeyRing(self.root / "keys.json")
        self.sync = sync
        self._key: Ed25519PrivateKey | None = None
        self._keyring_stamp: tuple[int, int] | None = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.storage.close()

    # appending ------------------------------------------------------------------------
    def append(self, kind: str, data: dict[str, Any], logged_at: datetime | None = None) -> int:
        """Record one entry; returns its index."""
        return self.append_batch([Entry(kind, data, logged_at)]).start

    def append_batch(self, batch: Iterable[Entry]) -> range:
        """Record entries as one transaction under one signed head; returns their indexes."""
        now = entry_format.timestamp(datetime.now(UTC))
        encoded = [entry_format.encode(entry, now) for entry in batch]
        if not encoded:
            head = self.head()
            size = head.tree_size if head else 0
            return range(size, size)
        with self.storage.locked():
            key = self._signing_key()
            head, _notes = self.storage.append(encoded, self._signer(key), self._trusted, self.sync)
        return range(head.tree_size - len(encoded), head.tree_size)

    @staticmethod
    @functools.lru_cache(maxsize=4)
    def _signer(key: Ed25519PrivateKey):
        """The head-signing function for ``key`` (cached: deriving the key id costs as much as signing)."""
        kid = key_id(key.public_key())

        def sign(tree_size: int, root: bytes, previous: SignedHead | None) -> SignedHead:
            timestamp = int(time.time() * 1000)
            if previous is not None:
                timestamp = max(timestamp, previous.timestamp)
            return SignedHead.sign(key, timestamp, tree_size, root, kid)

        return sign

    def _trusted(self, head: SignedHead) -> bool:
        record = self.keyring.by_id().get(head.key_id)
        return record is not None and head.verify(record.public_key)

    def recover(self) -> list[str]:
        """Repair what an interrupted append left (appends do this themselves); notes on what was done."""
        with self.storage.locked():
            return self.storage.recover(self._trusted)[0]

    # the signing key --------------------------------------------------------------------
    def _signing_key(self) -> Ed25519PrivateKey:
        """The current private key; created (and its public half published) on first use."""
        stamp = self._keyring_file_stamp()
        if self._key is not None and stamp == self._keyring_stamp:
            return self._key
        key = load_signing_key(self.home)
        current = self.keyring.current()
        if key is None:
            if current is not None:
                raise SigningKeyError(
                    f"the ledger signs with key {current.key_id.hex()[:16]}… but no LEDGER_SIGNING_KEY is "
                    "set in the environment or the secrets file"
                )
            key = Ed25519PrivateKey.generate()
            store_signing_key(self.home, key)
        record = PublicKey.of(key)
        if current is None:
            self.keyring.add(record)
        elif current.key_id != record.key_id and not self._finish_rotation(record):
            raise SigningKeyError(
                f"LEDGER_SIGNING_KEY is key {record.key_id.hex()[:16]}…, but the ledger's current key is "
                f"{current.key_id.hex()[:16]}…; change keys only with `medlake ledger rotate-key`"
            )
        self._key, self._keyring_stamp = key, self._keyring_file_stamp()
        return key

    def _keyring_file_stamp(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.keyring.path)
        except FileNotFoundError:
            return None
        return info.st_mtime_ns, info.st_ino

    def rotate_key(self) -> PublicKey:
        """Switch to a new signing key, endorsed by the old one; old heads stay verifiable.

        The rotation is itself an entry, signed by the old key, so the log records when and
        to which key it changed. The new private key replaces the old one in the secrets
        file; the old private key is not kept anywhere.
        """
        if SECRET_NAME in os.environ:
            raise SigningKeyError(
                f"{SECRET_NAME} comes from the environment: rotate-key writes the new key to the secrets "
                "file, so unset it there first (or rotate where the secret is kept)"
            )
        with self.storage.locked():
            old = self._signing_key()
            new = Ed25519PrivateKey.generate()
            record = PublicKey.of(new, previous=old)
            rotation = Entry("ledger.key-rotation", record.to_json())
            encoded = [entry_format.encode(rotation, entry_format.timestamp(datetime.now(UTC)))]
            # the order makes an interruption harmless: before the secret is replaced the old key
            # simply stays in use; after it, the next append finds the rotation entry and finishes
            self.storage.append(encoded, self._signer(old), self._trusted, self.sync)
            store_signing_key(self.home, new)
            self.keyring.add(record)
            self._key, self._keyring_stamp = new, self._keyring_file_stamp()
            return record

    def _finish_rotation(self, record: PublicKey) -> bool:
        """Complete a rotation interrupted after the secret was replaced (see rotate_key)."""
        size = self.size()
        if not size:
            return False
        last = entry_format.decode(self.storage.entry(size - 1))
        if last.get("kind") != "ledger.key-rotation" or last["data"].get("key_id") != record.key_id.hex():
            return False
        try:
            logged = PublicKey.from_json(last["data"])
            self.keyring.add(logged)
        except (ValueError, SigningKeyError):
            return False
        return logged.key_id == record.key_id

    # reading --------------------------------------------------------------------------
    def head(self) -> SignedHead | None:
        """The latest signed head (None while the ledger is empty)."""
        return self.storage.latest() if self.storage.exists() else None

    def size(self) -> int:
        head = self.head()
        return head.tree_size if head else 0

    def heads(self) -> list[SignedHead]:
        return [self.storage.head_at(i)[1] for i in range(self.storage.head_count())]

    def head_of_size(self, size: int) -> SignedHead:
        position = self.storage.head_for_size(size)
        head = self.storage.head_at(position)[1] if position is not None else None
        if head is None or head.tree_size != size:
            raise ProofError(f"the ledger issued no head of exactly {size} entries")
        return head

    def entry(self, index: int) -> bytes:
        """The stored leaf input of entry ``index`` (the JCS bytes that were hashed)."""
        self._check_index(index, self.size())
        return self.storage.entry(index)

    def document(self, index: int) -> dict[str, Any]:
        return entry_format.decode(self.entry(index))

    def _check_index(self, index: int, size: int) -> None:
        if not 0 <= index < size:
            raise ProofError(
                f"no entry {index}: the ledger holds entries 0–{size - 1}" if size else "the ledger is empty"
            )

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Proof that entry ``index`` is in the tree of the head of ``size`` entries (default: the latest)."""
        head = self.head() if size is None else self.head_of_size(size)
        self._check_index(index, head.tree_size if head else 0)
        path = inclusion_proof(self.storage, index, head.tree_size)
        return InclusionProof(index, self.storage.node(0, index), path, head)

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        """Proof that the first ``first`` entries are a prefix of the tree of ``second`` (default: latest)."""
        second = self.size() if second is None else second
        if second > self.size():
            raise ProofError(f"the ledger holds {self.size()} entries, not {second}")
        return ConsistencyProof(first, second, consistency_proof(self.storage, first, second))

    def root_hash(self, size: int) -> bytes:
        """The root of the tree of the first ``size`` entries, from the stored subtree hashes."""
        if size > self.size():
            raise ProofError(f"the ledger holds {self.size()} entries, not {size}")
        return tree_root(self.storage, size)


def open_ledger(workspace_or_home: Any, sync: bool = True) -> Ledger:
    """The ledger of a :class:`~medlake.workspace.Workspace` or of a workspace directory."""
    home = workspace_or_home if isinstance(workspace_or_home, str | Path) else workspace_or_home.home
    return Ledger(Path(home), sync=sync)


__all__ = ["ConsistencyProof", "InclusionProof", "Ledger", "LedgerDamaged", "open_ledger"]
