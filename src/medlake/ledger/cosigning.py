"""The hub's side of witnessing: which witnesses it knows, and the co-signatures they sent.

Only registered witnesses may co-sign (``medlake ledger witnesses add NAME KEY``): a
co-signature is worth something to a reader only when they know whose it is, and an open
endpoint that stores whatever is posted would let anyone fill the disk. The hub keeps each
witness's latest co-signature (``ledger/cosignatures/<witness key id>.json``) and publishes
them with its head; ``verify`` checks every one of them against the recomputed tree, so a
history rewritten after a witness saw it is caught even on the hub itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from medlake.errors import InputError
from medlake.ledger.heads import Cosignature, key_id, unb64
from medlake.ledger.keys import write_private

if TYPE_CHECKING:
    from medlake.ledger.ledger import Ledger


class CosignatureRejected(InputError):
    """A co-signature the hub will not keep; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Witness:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey
    added: str

    def to_json(self) -> dict[str, Any]:
        from medlake.ledger.heads import b64, raw_public

        return {
            "name": self.name,
            "key_id": self.key_id.hex(),
            "public_key": b64(raw_public(self.public_key)),
            "added": self.added,
        }


def parse_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key given as the base64 of its 32 raw bytes (what ``witness`` prints)."""
    return Ed25519PublicKey.from_public_bytes(unb64(text.strip(), 32, "public key"))


class WitnessRegistry:
    """``ledger/witnesses.json``: the witnesses whose co-signatures the hub accepts."""

    def __init__(self, ledger_root: Path) -> None:
        self.path = ledger_root / "witnesses.json"

    def witnesses(self) -> list[Witness]:
        if not self.path.exists():
            return []
        result = []
        for item in json.loads(self.path.read_text())["witnesses"]:
            public = parse_public_key(item["public_key"])
            result.append(Witness(item["name"], key_id(public), public, item.get("added", "")))
        return result

    def by_key_id(self) -> dict[bytes, Witness]:
        return {w.key_id: w for w in self.witnesses()}

    def add(self, name: str, public_key_text: str) -> Witness:
        try:
            public = parse_public_key(public_key_text)
        except ValueError as exc:
            raise ValueError(f"witness key: {exc}") from None
        existing = self.witnesses()
        if any(w.name == name for w in existing):
            raise ValueError(f"a witness named {name!r} is already registered")
        if any(w.key_id == key_id(public) for w in existing):
            raise ValueError("that key is already registered for another witness")
        witness = Witness(name, key_id(public), public, datetime.now(UTC).isoformat(timespec="seconds"))
        data = {"witnesses": [w.to_json() for w in [*existing, witness]]}
        write_private(self.path, json.dumps(data, indent=2) + "\n")
        os.chmod(self.path, 0o644)
        return witness


class CosignatureStore:
    """Each registered witness's latest co-signature of one of the ledger's heads."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.folder = ledger.root / "cosignatures"
        self.registry = WitnessRegistry(ledger.root)

    def accept(self, cosignature: Cosignature) -> Witness:
        witness = self.registry.by_key_id().get(cosignature.witness_key_id)
        if witness is None:
            raise CosignatureRejected(
                "unknown witness: register its key on the hub with `medlake ledger witnesses add NAME KEY`",
                403,
            )
        if not cosignature.verify(witness.public_key):
            raise CosignatureRejected(f"the co-signature does not verify with {witness.name}'s key", 400)
        try:
            issued = self.ledger.head_of_size(cosignature.head.tree_size)
        except ValueError:
            issued = None
        if issued != cosignature.head:
            raise CosignatureRejected(f"{witness.name} co-signed a head this ledger did not issue", 409)
        previous = self.latest_of(witness)
        if previous and previous.head.tree_size > cosignature.head.tree_size:
            raise CosignatureRejected(
                f"{witness.name} already co-signed {previous.head.tree_size} entries, not going back to "
                f"{cosignature.head.tree_size}",
                409,
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{witness.key_id.hex()}.json"
        write_private(path, json.dumps(cosignature.to_json(), indent=2) + "\n")
        os.chmod(path, 0o644)
        return witness

    def latest_of(self, witness: Witness) -> Cosignature | None:
        path = self.folder / f"{witness.key_id.hex()}.json"
        return Cosignature.from_json(json.loads(path.read_text())) if path.exists() else None

    def latest(self) -> list[tuple[Witness, Cosignature]]:
        result = []
        for witness in self.registry.witnesses():
            cosignature = self.latest_of(witness)
            if cosignature is not None:
                result.append((witness, cosignature))
        return result

    def stored(self) -> list[tuple[Path, Cosignature | None]]:
        """Every co-signature file, parsed where it parses (verify judges the rest)."""
        result: list[tuple[Path, Cosignature | None]] = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                result.append((path, Cosignature.from_json(json.loads(path.read_text()))))
            except ValueError:
                result.append((path, None))
        return result
