"""An independent witness: fetch the hub's heads, check each extends the last one seen, co-sign.

A witness is a small process an institution runs with its own Ed25519 key and its own state
file. It never sees entries (they name residents), only signed heads and consistency proofs,
which is all it needs to notice the one thing a hub's operators could otherwise do unseen:
show a history that is not an extension of the history they showed before. Each round:

1. ``GET /ledger/head``; the head must be signed by a key the witness trusts (the key it met
   first, or one that key endorsed, see :mod:`medlake.ledger.keys`);
2. against the last head it accepted: a smaller tree is a **rollback**, the same size with
   another root a **fork**, an older date a **replayed** head, and a bigger tree must come with
   a consistency proof (``GET /ledger/proof/consistency``) that verifies, or it is a **rewrite**;
3. ``POST /ledger/cosign`` its signature over the head, and remember the head.

An alarm never advances the state, so the witness says it again on every later round until
someone looks; the evidence (both heads) is kept in the state file.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from medlake.errors import LedgerError
from medlake.ledger.heads import Cosignature, SignedHead, b64, key_id, raw_public, unb64
from medlake.ledger.keys import (
    PublicKey,
    extend_trust,
    private_key_from_text,
    private_key_text,
    write_private,
)
from medlake.ledger.merkle import verify_consistency

log = logging.getLogger("medlake.ledger.witness")


class WitnessAlarm(LedgerError, RuntimeError):
    """The hub showed a history inconsistent with what this witness saw before."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class HubError(LedgerError, RuntimeError):
    """The hub could not be asked (unreachable, refused, or answered nonsense)."""


@dataclass(frozen=True)
class Outcome:
    status: str  # "first" (no head seen before), "new" (a bigger tree), "unchanged"
    head: SignedHead
    previous: SignedHead | None


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The witness's own key (base64 of the raw 32 bytes, mode 0600), created on first use."""
    if path.exists():
        return private_key_from_text(path.read_text(), str(path))
    key = Ed25519PrivateKey.generate()
    write_private(path, private_key_text(key) + "\n")
    log.warning(
        "created witness key %s (public key %s)", key_id(key.public_key()).hex()[:16], public_text(key)
    )
    return key


def public_text(key: Ed25519PrivateKey) -> str:
    return b64(raw_public(key.public_key()))


class WitnessState:
    """The witness's memory: the keys it trusts, the last head it accepted, its alarms."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    @property
    def head(self) -> SignedHead | None:
        return SignedHead.from_json(self.data["head"]) if self.data.get("head") else None

    @property
    def trusted(self) -> dict[bytes, Ed25519PublicKey]:
        return {
            bytes.fromhex(kid): Ed25519PublicKey.from_public_bytes(unb64(text, 32, "log key"))
            for kid, text in self.data.get("log_keys", {}).items()
        }

    def trust(self, public: Ed25519PublicKey) -> None:
        self.data.setdefault("log_keys", {})[key_id(public).hex()] = b64(raw_public(public))

    def accept(self, head: SignedHead) -> None:
        self.data["head"] = head.to_json()
        self.data["accepted_at"] = datetime.now(UTC).isoformat(timespec="seconds")

    def record_alarm(self, alarm: WitnessAlarm, head: SignedHead | None) -> None:
        evidence = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "kind": alarm.kind,
            "message": str(alarm),
            "last_accepted": self.data.get("head"),
            "offending_head": head.to_json() if head else None,
        }
        self.data.setdefault("alarms", []).append(evidence)
        self.save()

    def save(self) -> None:
        write_private(self.path, json.dumps(self.data, indent=2) + "\n")


class WitnessClient:
    def __init__(
        self,
        hub: str,
        key: Ed25519PrivateKey,
        state: WitnessState,
        log_key: str | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.hub = hub.rstrip("/")
        self.key = key
        self.state = state
        self.pinned = Ed25519PublicKey.from_public_bytes(unb64(log_key, 32, "log key")) if log_key else None
        self.http = http or httpx.Client(timeout=10.0)

    # talking to the hub -----------------------------------------------------------------
    def _get(self, path: str, **params: int) -> dict[str, Any]:
        try:
            response = self.http.get(f"{self.hub}/ledger/{path}", params=params)
        except httpx.HTTPError as exc:
            raise HubError(f"cannot reach the hub at {self.hub}: {exc}") from None
        if response.status_code >= 400:
            raise HubError(f"the hub answered {response.status_code} to {path}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise HubError(f"the hub's answer to {path} is not JSON") from None

    def fetch_head(self) -> SignedHead:
        try:
            return SignedHead.from_json(self._get("head")["head"])
        except (KeyError, TypeError, ValueError) as exc:
            raise HubError(f"the hub's head is malformed: {exc}") from None

    def _hub_keys(self) -> list[PublicKey]:
        try:
            return [PublicKey.from_json(item) for item in self._get("keys")["keys"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise HubError(f"the hub's key list is malformed: {exc}") from None

    # checks -----------------------------------------------------------------------------
    def _log_key(self, head: SignedHead) -> Ed25519PublicKey:
        trusted = self.state.trusted
        if not trusted:
            keys = self._hub_keys()
            if self.pinned is not None:
                self.state.trust(self.pinned)
            elif keys:
                log.warning("trusting the hub's first key %s on first use", keys[0].key_id.hex()[:16])
                self.state.trust(keys[0].public_key)
            trusted = self.state.trusted
        if head.key_id not in trusted:
            keys = self._hub_keys()
            reachable = extend_trust(trusted, keys)
            for record in keys:
                if record.key_id in reachable and record.key_id not in trusted:
                    log.warning(
                        "the hub rotated its key: now trusting %s, endorsed by a key trusted before",
                        record.key_id.hex()[:16],
                    )
                    self.state.trust(record.public_key)
            trusted = self.state.trusted
        if head.key_id not in trusted:
            raise WitnessAlarm(
                "key",
                f"the head of {head.tree_size} entries is signed by key {head.key_id.hex()[:16]}…, "
                "which no key this witness trusts has endorsed",
            )
        return trusted[head.key_id]

    def _consistent(self, last: SignedHead, head: SignedHead) -> None:
        try:
            answer = self._get("proof/consistency", first=last.tree_size, second=head.tree_size)
            proof = [unb64(h, 32, "proof hash") for h in answer["consistency_path"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise WitnessAlarm("rewrite", f"the hub gave no usable consistency proof ({exc})") from None
        if not verify_consistency(last.tree_size, head.tree_size, last.root_hash, head.root_hash, proof):
            raise WitnessAlarm(
                "rewrite",
                f"the head of {head.tree_size} entries is not an extension of the head of {last.tree_size} "
                "entries this witness co-signed: the history before it was rewritten (or the log forked)",
            )

    def judge(self, head: SignedHead) -> str:
        """Check ``head`` against everything seen before; raises WitnessAlarm, returns the status."""
        if not head.verify(self._log_key(head)):
            raise WitnessAlarm(
                "signature", f"the head of {head.tree_size} entries has a signature that does not verify"
            )
        last = self.state.head
        if last is None:
            return "first"
        if head.tree_size < last.tree_size:
            raise WitnessAlarm(
                "rollback",
                f"the hub serves a head of {head.tree_size} entries after signing {last.tree_size}: "
                "entries were removed, or an old head is being replayed",
            )
        if head.tree_size == last.tree_size and head.root_hash != last.root_hash:
            raise WitnessAlarm(
                "fork",
                f"two different trees of {head.tree_size} entries, both signed by the hub: the log forked",
            )
        if head.timestamp < last.timestamp:
            raise WitnessAlarm(
                "replay",
                f"the head of {head.tree_size} entries is dated before the head this witness saw last: "
                "an old head is being replayed",
            )
        if head.tree_size == last.tree_size:
            return "unchanged"
        self._consistent(last, head)
        return "new"

    def cosign(self, head: SignedHead) -> None:
        cosignature = Cosignature.sign(self.key, head, int(time.time() * 1000))
        try:
            response = self.http.post(f"{self.hub}/ledger/cosign", json=cosignature.to_json())
        except httpx.HTTPError as exc:
            raise HubError(f"cannot reach the hub at {self.hub}: {exc}") from None
        if response.status_code == 403:
            raise HubError(
                "the hub does not know this witness; on the hub run: "
                f"medlake ledger witnesses add NAME {public_text(self.key)}"
            )
        if response.status_code >= 400:
            raise HubError(
                f"the hub refused the co-signature ({response.status_code}): {response.text[:200]}"
            )

    def check(self) -> Outcome:
        """One round: fetch, judge, co-sign, remember. Raises WitnessAlarm or HubError."""
        head = self.fetch_head()
        previous = self.state.head
        try:
            status = self.judge(head)
        except WitnessAlarm as alarm:
            self.state.record_alarm(alarm, head)
            raise
        if status != "unchanged" or self.state.data.get("cosigned_size") != head.tree_size:
            self.state.accept(head)
            self.state.save()
            self.cosign(head)
            self.state.data["cosigned_size"] = head.tree_size
            self.state.save()
        return Outcome(status, head, previous)


def run(
    hub: str,
    key_path: Path,
    state_path: Path,
    once: bool = False,
    interval: float = 30.0,
    log_key: str | None = None,
    rounds: int | None = None,
) -> int:
    """The witness process: 0 when all is well (``--once``), 2 on an alarm, 1 when the hub cannot be asked."""
    key = load_or_create_key(key_path)
    log.info(
        "witness %s watching %s (public key %s)", key_id(key.public_key()).hex()[:16], hub, public_text(key)
    )
    client = WitnessClient(hub, key, WitnessState(state_path), log_key)
    done = 0
    while True:
        try:
            outcome = client.check()
            log.info("head of %d entries %s; co-signed", outcome.head.tree_size, outcome.status)
            code = 0
        except WitnessAlarm as alarm:
            log.error("ALARM (%s): %s", alarm.kind, alarm)
            return 2
        except HubError as exc:
            log.error("%s", exc)
            code = 1
        done += 1
        if once or (rounds is not None and done >= rounds):
            return code
        time.sleep(interval)


def default_paths(folder: Path | None = None) -> tuple[Path, Path]:
    base = folder or Path(os.environ.get("MEDLAKE_WITNESS_HOME", ".medlake-witness"))
    return base / "key", base / "state.json"
