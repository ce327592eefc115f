"""What a ledger entry is: a typed JSON document, canonicalised (RFC 8785) before it is hashed.

The leaf the tree hashes is the JCS encoding of::

    {"kind": "consent.change", "logged_at": "2026-12-01T10:00:00.123Z", "nonce": "…", "data": {…}}

so anyone holding the document can recompute its leaf hash with a JCS library and SHA-256,
whatever JSON serialiser handed it to them. ``nonce`` (128 random bits) makes the leaf hash
a hiding commitment: proofs and witnesses see leaf hashes, and without it a leaf hash of
"doctor X read person Y's record at minute T" could be confirmed by guessing.

A kind names what happened; :data:`KINDS` lists the kinds the platform records and the
fields each needs, so a typo or a missing field fails at the call site rather than being
written forever. Add a kind here when wiring a new source of entries.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import rfc8785

from medlake.errors import InputError

KINDS: dict[str, tuple[str, ...]] = {
    # a delivered batch, as it landed in the raw layer
    "ingest.batch": ("batch_id", "institution", "manifest", "content_hash"),
    # a resident's consent given, withdrawn or changed
    "consent.change": ("person", "scope", "status"),
    # the master patient index joined or separated records
    "link.merge": ("global_id", "members"),
    "link.split": ("global_id", "members"),
    # data leaving the platform
    "export.bulk": ("actor", "scope", "content_hash"),
    "share": ("actor", "recipient", "scope", "content_hash"),
    # reads of person-level data (part 4's AuditEvents)
    "access.read": ("actor", "person", "purpose"),
    "access.break-glass": ("actor", "person", "reason"),
    # a pseudonym turned back into a person
    "research.reidentify": ("actor", "pseudonym", "reason"),
    # the ledger's own life: a new signing key, endorsed by the previous one
    "ledger.key-rotation": ("key_id", "public_key", "previous_key_id", "endorsement"),
}
_KIND = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$")


class EntryError(InputError):
    """An entry the ledger refuses: unknown kind, missing field, or not representable in JSON."""


@dataclass(frozen=True)
class Entry:
    """One thing to record: ``kind`` (a key of :data:`KINDS`) and its JSON ``data``."""

    kind: str
    data: Mapping[str, Any]
    logged_at: datetime | None = field(default=None, compare=False)


def check(entry: Entry) -> None:
    if entry.kind not in KINDS:
        hint = "" if _KIND.match(entry.kind or "") else " (kinds look like 'area.what')"
        raise EntryError(f"unknown ledger entry kind {entry.kind!r}{hint}; known: {', '.join(sorted(KINDS))}")
    if not isinstance(entry.data, Mapping):
        raise EntryError(f"{entry.kind}: data must be a JSON object, not {type(entry.data).__name__}")
    missing = [name for name in KINDS[entry.kind] if name not in entry.data]
    if missing:
        raise EntryError(f"{entry.kind}: missing field(s) {', '.join(missing)}")


def timestamp(moment: datetime) -> str:
    """UTC, millisecond precision, ``Z``: one spelling so that equal instants hash equally."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def encode(entry: Entry, now: str) -> bytes:
    """The leaf input: the entry as a JCS document with its log time (default ``now``) and a fresh nonce."""
    check(entry)
    document = {
        "kind": entry.kind,
        "logged_at": timestamp(entry.logged_at) if entry.logged_at else now,
        "nonce": os.urandom(16).hex(),
        "data": dict(entry.data),
    }
    return canonical(document)


def canonical(document: Any) -> bytes:
    """RFC 8785 (JCS) bytes of ``document``.

    For documents made of strings, booleans, nulls, safe integers, lists and objects with
    ASCII keys, orjson with sorted keys writes exactly the JCS bytes (JCS differs only in
    number formatting and in ordering non-BMP keys), twenty times faster than the pure-Python
    reference; anything else goes through ``rfc8785``. ``tests/ledger/test_entries.py``
    checks the two agree.
    """
    if _plain(document):
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    try:
        return rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EntryError(f"{document.get('kind', 'entry')}: data is not canonical JSON ({exc})") from None


_SAFE_INTEGER = 2**53 - 1


def _plain(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_SAFE_INTEGER <= item <= _SAFE_INTEGER:
                continue
            return False
        if kind is dict:
            for key, inner in item.items():
                if type(key) is not str or not key.isascii():
                    return False
                pending.append(inner)
            continue
        if kind is list:
            pending.extend(item)
            continue
        return False
    return True


def decode(leaf: bytes) -> dict[str, Any]:
    """The stored document of a leaf (for display; the bytes, not this dict, are what is hashed)."""
    return orjson.loads(leaf)
