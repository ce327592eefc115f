"""Signed tree heads (RFC 9162 §4.9–4.10) and witness co-signatures, with Ed25519.

A head signs the TLS encoding of ``TreeHeadDataV2``::

    uint64 timestamp (ms since the epoch) | uint64 tree_size | uint8 32 | root_hash[32] | uint16 0

which is all a verifier needs besides the public key. Heads name their key by ``key_id``,
SHA-256 of the key's DER SubjectPublicKeyInfo (RFC 6962's LogID), so heads signed before a
key rotation stay verifiable with the old public key.

A witness co-signs a head it has checked: it signs ``COSIGNATURE_CONTEXT || log key_id ||
uint64 cosigned_at || TreeHeadDataV2``. The context string keeps a co-signature from ever
being mistaken for the log's own signature.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from medlake.ledger.merkle import HASH_SIZE

COSIGNATURE_CONTEXT = b"medlake ledger cosignature v1\n"
ENDORSEMENT_CONTEXT = b"medlake ledger key endorsement v1\n"
SIGNATURE_SIZE = 64
_HEAD = struct.Struct(f">QQ{HASH_SIZE}s32s{SIGNATURE_SIZE}s")
HEAD_RECORD_SIZE = _HEAD.size


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str, size: int | None = None, what: str = "value") -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ValueError(f"{what} is not base64") from None
    if size is not None and len(data) != size:
        raise ValueError(f"{what} must be {size} bytes, not {len(data)}")
    return data


def key_id(public_key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).digest()


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def tree_head_data(timestamp: int, tree_size: int, root_hash: bytes) -> bytes:
    """TLS-encoded TreeHeadDataV2 with no extensions: the bytes a head's signature covers."""
    return struct.pack(">QQB", timestamp, tree_size, len(root_hash)) + root_hash + b"\x00\x00"


def verifies(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class SignedHead:
    timestamp: int
    tree_size: int
    root_hash: bytes
    key_id: bytes
    signature: bytes

    @classmethod
    def sign(
        cls,
        key: Ed25519PrivateKey,
        timestamp: int,
        tree_size: int,
        root_hash: bytes,
        kid: bytes | None = None,
    ) -> SignedHead:
        """A head signed by ``key`` (``kid``: its key id, when the caller has it at hand)."""
        signature = key.sign(tree_head_data(timestamp, tree_size, root_hash))
        return cls(timestamp, tree_size, root_hash, kid or key_id(key.public_key()), signature)

    def signed_bytes(self) -> bytes:
        return tree_head_data(self.timestamp, self.tree_size, self.root_hash)

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        return key_id(public_key) == self.key_id and verifies(public_key, self.signature, self.signed_bytes())

    def pack(self) -> bytes:
        return _HEAD.pack(self.timestamp, self.tree_size, self.root_hash, self.key_id, self.signature)

    @classmethod
    def unpack(cls, record: bytes) -> SignedHead:
        return cls(*_HEAD.unpack(record))

    def to_json(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "timestamp": self.timestamp,
            "root_hash": b64(self.root_hash),
            "key_id": self.key_id.hex(),
            "signature": b64(self.signature),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedHead:
        try:
            return cls(
                timestamp=int(data["timestamp"]),
                tree_size=int(data["tree_size"]),
                root_hash=unb64(data["root_hash"], HASH_SIZE, "root_hash"),
                key_id=bytes.fromhex(data["key_id"]),
                signature=unb64(data["signature"], SIGNATURE_SIZE, "signature"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a signed tree head: {exc}") from None

    def same_tree(self, other: SignedHead) -> bool:
        return self.tree_size == other.tree_size and self.root_hash == other.root_hash


def cosignature_message(head: SignedHead, cosigned_at: int) -> bytes:
    return COSIGNATURE_CONTEXT + head.key_id + struct.pack(">Q", cosigned_at) + head.signed_bytes()


@dataclass(frozen=True)
class Cosignature:
    """A witness's statement: "at ``cosigned_at`` I had checked this head was consistent with all before"."""

    witness_key_id: bytes
    head: SignedHead
    cosigned_at: int
    signature: bytes

    @classmethod
    def sign(cls, key: Ed25519PrivateKey, head: SignedHead, cosigned_at: int) -> Cosignature:
        return cls(
            key_id(key.public_key()), head, cosigned_at, key.sign(cosignature_message(head, cosigned_at))
        )

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        return key_id(public_key) == self.witness_key_id and verifies(
            public_key, self.signature, cosignature_message(self.head, self.cosigned_at)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "witness_key_id": self.witness_key_id.hex(),
            "head": self.head.to_json(),
            "cosigned_at": self.cosigned_at,
            "signature": b64(self.signature),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cosignature:
        try:
            return cls(
                witness_key_id=bytes.fromhex(data["witness_key_id"]),
                head=SignedHead.from_json(data["head"]),
                cosigned_at=int(data["cosigned_at"]),
                signature=unb64(data["signature"], SIGNATURE_SIZE, "signature"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a co-signature: {exc}") from None


def endorsement_message(new_key_id: bytes) -> bytes:
    return ENDORSEMENT_CONTEXT + new_key_id
