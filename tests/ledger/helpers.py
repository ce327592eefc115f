"""Test helpers: filling a ledger, and the tools of someone who edits its files behind its back.

The attacker's tools read and write the journal's frames and rebuild the indexes from it with
``medlake.ledger.merkle`` — what anyone who read docs/ledger.md could do — so that the
ledger serves their version; they cannot sign heads without the ledger's private key.
"""

from __future__ import annotations

import struct
from pathlib import Path

from fastapi.testclient import TestClient

from medlake.ledger import Entry, Ledger
from medlake.ledger.heads import SignedHead
from medlake.ledger.http import create_app
from medlake.ledger.merkle import HASH_SIZE, LeafList, complete_subtrees, leaf_hash
from medlake.ledger.storage import (
    ENTRY_RECORD,
    HEAD_OFFSET,
    Frame,
    decode_frame,
    encode_frame,
    entry_offsets,
)
from medlake.ledger.witness import WitnessClient, WitnessState, load_or_create_key


def read_entry(index: int) -> Entry:
    return Entry(
        "access.read", {"actor": f"dr-{index % 7}", "person": f"G-{index:05d}", "purpose": "treatment"}
    )


def fill(ledger: Ledger, count: int, start: int = 0) -> None:
    """``count`` entries, one append (and so one signed head) each."""
    for index in range(start, start + count):
        ledger.append_batch([read_entry(index)])


def frames(root: Path) -> list[Frame]:
    journal = (root / "journal").read_bytes()
    result, offset = [], 0
    while offset < len(journal):
        frame = decode_frame(lambda o, n: journal[o : o + n], offset, len(journal))
        result.append(frame)
        offset = frame.end
    return result


def write_frames(root: Path, items: list[tuple[SignedHead, list[bytes]]]) -> None:
    (root / "journal").write_bytes(b"".join(encode_frame(head, entries) for head, entries in items))


def rebuild_indexes(root: Path) -> None:
    """entries.idx, tree/level-NN and heads.idx recomputed from whatever the journal now holds."""
    all_frames = frames(root)
    leaves, entry_records, head_records = [], [], []
    for frame in all_frames:
        for offset, entry in zip(entry_offsets(frame), frame.entries, strict=True):
            leaves.append(leaf_hash(entry))
            entry_records.append(ENTRY_RECORD.pack(offset, len(entry), leaves[-1]))
        head_records.append(HEAD_OFFSET.pack(frame.offset) + frame.head.pack())
    (root / "entries.idx").write_bytes(b"".join(entry_records))
    (root / "heads.idx").write_bytes(b"".join(head_records))
    for level_file in (root / "tree").glob("level-*"):
        level_file.unlink()
    source = LeafList(leaves)
    for level in range(1, max(len(leaves), 1).bit_length()):
        hashes = [source.node(level, i) for i in range(len(leaves) >> level)]
        if hashes:
            (root / "tree" / f"level-{level:02d}").write_bytes(b"".join(hashes))
    assert all(len(h) == HASH_SIZE for h in leaves)
    assert complete_subtrees(0, len(leaves)) is not None


def set_u32(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack(">I", value) + data[offset + 4 :]


class Hub:
    """The hub's HTTP router in-process, and witnesses talking to it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.client = TestClient(create_app(home), base_url="http://hub.test")

    def witness(self, folder: Path, name: str = "hosp-north", register: bool = True) -> WitnessClient:
        key = load_or_create_key(folder / "key")
        if register:
            from medlake.ledger.cosigning import WitnessRegistry
            from medlake.ledger.heads import b64, raw_public

            WitnessRegistry(self.home / "ledger").add(name, b64(raw_public(key.public_key())))
        return WitnessClient("http://hub.test", key, WitnessState(folder / "state.json"), http=self.client)
