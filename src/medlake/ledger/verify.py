"""``medlake ledger verify``: recompute the whole tree from the journal and check everything against it.

What is checked, in one pass over the journal:

- each frame is well formed and matches its checksum, starts where the previous one ended
  (no entry deleted, duplicated or moved), and is the frame ``heads.idx`` names;
- each entry's leaf hash equals the one indexed, and each stored subtree hash equals the
  one recomputed from the entries (proofs are served from those);
- each frame's head signs the root its entries make, with a key of the ledger's key chain,
  in chain order, at a time no earlier than the head before;
- every witness co-signature the hub holds is for a head of the recomputed tree.

A torn frame at the very end is an append killed half-way: reported, not an error (the next
append removes it). Everything else is reported with the first entry it concerns; the report
is ``ok`` only when nothing was found.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from medlake.ledger.cosigning import CosignatureStore
from medlake.ledger.heads import HEAD_RECORD_SIZE, SignedHead
from medlake.ledger.keys import SigningKeyError, chain_problems
from medlake.ledger.ledger import Ledger
from medlake.ledger.merkle import HASH_SIZE, fold, leaf_hash, node_hash, tree_root
from medlake.ledger.storage import (
    ENTRIES,
    ENTRY_RECORD,
    ENTRY_RECORD_SIZE,
    HEAD_INDEX_SIZE,
    HEAD_OFFSET,
    HEADS,
    JOURNAL,
    BadFrame,
    Frame,
    LedgerDamaged,
    TornFrame,
    decode_frame,
    entry_offsets,
)


@dataclass(frozen=True)
class Finding:
    entry: int | None
    message: str

    def __str__(self) -> str:
        return f"entry {self.entry}: {self.message}" if self.entry is not None else self.message


@dataclass
class Report:
    size: int = 0
    heads: int = 0
    checked_from: int = 0
    cosignatures: int = 0
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    more_findings: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        located = [f for f in self.findings if f.entry is not None]
        return (
            min(located, key=lambda f: f.entry) if located else (self.findings[0] if self.findings else None)
        )

    def to_json(self) -> dict[str, Any]:
        first = self.first
        return {
            "ok": self.ok,
            "entries": self.size,
            "heads": self.heads,
            "checked_from": self.checked_from,
            "cosignatures": self.cosignatures,
            "first_bad_entry": first.entry if first else None,
            "findings": [{"entry": f.entry, "message": f.message} for f in self.findings],
            "more_findings": self.more_findings,
            "notes": self.notes,
        }


def _fmt_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


class _Sequential:
    """Buffered sequential reading of one file, with random access when needed."""

    def __init__(self, ledger: Ledger, name: str) -> None:
        path = ledger.storage.path(name)
        self.file = open(path, "rb", buffering=1 << 20) if path.exists() else io.BytesIO()  # noqa: SIM115
        self.size = path.stat().st_size if path.exists() else 0

    def read(self, offset: int, size: int) -> bytes:
        if self.file.tell() != offset:
            self.file.seek(offset)
        return self.file.read(size)

    def close(self) -> None:
        self.file.close()


class Verifier:
    def __init__(self, ledger: Ledger, limit: int = 20) -> None:
        self.ledger = ledger
        self.storage = ledger.storage
        self.limit = limit
        self.report = Report()
        try:
            self.keys = ledger.keyring.public_keys()
        except SigningKeyError as exc:
            self.keys = []
            self.add(None, str(exc))
        self.key_order = {k.key_id: i for i, k in enumerate(self.keys)}
        for problem in chain_problems(self.keys):
            self.add(None, f"keys.json: {problem}")
        self.levels: dict[int, _Sequential] = {}
        self.last_bad_leaf = -1  # a subtree over a changed entry is wrong because of it: say it once
        self.cascade: int | None = None  # heads after the first wrong one cover it: counted, not repeated

    def add(self, entry: int | None, message: str) -> None:
        if len(self.report.findings) < self.limit:
            self.report.findings.append(Finding(entry, message))
        else:
            self.report.more_findings += 1

    # the pass ---------------------------------------------------------------------------
    def run(self, from_size: int = 0) -> Report:
        report = self.report
        report.heads = self.storage.head_count() if self.storage.exists() else 0
        self.cosigned = list(self._cosigned())
        cosigned = {c.head.tree_size for _, c in self.cosigned}
        roots: dict[int, bytes] = {}
        position, offset, size, stack, previous = self._start(from_size)
        report.checked_from = size
        for cosigned_size in cosigned:
            if cosigned_size <= size:
                roots[cosigned_size] = tree_root(self.storage, cosigned_size)
        journal = _Sequential(self.ledger, JOURNAL)
        entries = _Sequential(self.ledger, ENTRIES)
        heads = _Sequential(self.ledger, HEADS)
        try:
            while offset < journal.size:
                try:
                    frame = decode_frame(journal.read, offset, journal.size)
                except TornFrame as exc:
                    report.notes.append(
                        f"the journal ends with an unfinished append after entry {size - 1} ({exc}); "
                        "it is not part of the ledger and the next append removes it"
                    )
                    break
                except BadFrame as exc:
                    self.add(
                        size,
                        f"the journal holds bytes no append wrote ({exc}): appended behind the ledger's back",
                    )
                    break
                size, previous = self._frame(frame, position, size, stack, previous, entries, heads)
                if size in cosigned:
                    roots[size] = fold([h for _, h in stack])
                position += 1
                offset = frame.end
            report.size = size
            if position < report.heads:
                _, missing = self._head_record(heads, position)
                self.add(
                    size,
                    f"heads.idx holds {report.heads - position} head(s) more than the journal has frames "
                    f"(up to {missing.tree_size if missing else '?'} entries): the journal was truncated",
                )
            elif position > report.heads:
                report.notes.append(
                    f"{position - report.heads} complete append(s) at the journal's end are not indexed yet "
                    "(the appender was stopped after writing them); the next append indexes them"
                )
            self._check_cosignatures(roots, size)
            if self.cascade:
                report.notes.append(
                    f"{self.cascade} later head(s) do not match either: they cover the first mismatch"
                )
        finally:
            for reader in [journal, entries, heads, *self.levels.values()]:
                reader.close()
        return report

    def _start(self, from_size: int) -> tuple[int, int, int, list[tuple[int, bytes]], SignedHead | None]:
        """Where the pass begins: the start of the journal, or the last head at or before ``from_size``."""
        if from_size <= 0:
            return 0, 0, 0, [], None
        position = self.storage.head_for_size(from_size + 1)
        position = (self.storage.head_count() if position is None else position) - 1
        if position < 0:
            return 0, 0, 0, [], None
        frame_offset, head = self.storage.head_at(position)
        stack = self.storage.compact_range(head.tree_size)
        if fold([h for _, h in stack]) != head.root_hash:
            self.add(
                head.tree_size - 1,
                "the stored subtree hashes do not make the root of the head verify starts from",
            )
        self._check_signature(head, head.tree_size - 1)
        offset = decode_frame(
            lambda o, n: self.storage.read(JOURNAL, o, n), frame_offset, self.storage.size_of(JOURNAL)
        ).end
        return position + 1, offset, head.tree_size, stack, head

    def _frame(
        self,
        frame: Frame,
        position: int,
        size: int,
        stack: list[tuple[int, bytes]],
        previous: SignedHead | None,
        entries: _Sequential,
        heads: _Sequential,
    ) -> tuple[int, SignedHead]:
        head = frame.head
        last = size + len(frame.entries) - 1
        count = len(frame.entries)
        span = (
            f"entry {size}"
            if count == 1
            else f"entries {size}–{last}"
            if count
            else f"no entry (after {size - 1})"
        )
        if not frame.intact:
            self.add(size, f"the bytes of {span} no longer match the checksum they were written with")
        if frame.first != size:
            self.add(
                size,
                f"the append written here signed entries {frame.first}–{head.tree_size - 1}: "
                "entries were removed, repeated or reordered before it",
            )
        indexed = position < self.report.heads  # frames after the last heads.idx record await roll-forward
        if indexed:
            offset, recorded = self._head_record(heads, position)
            if recorded != head or offset != frame.offset:
                self.add(size, f"heads.idx record {position} is not the head of the append of {span}")
        for index, (entry_offset, entry) in enumerate(
            zip(entry_offsets(frame), frame.entries, strict=True), size
        ):
            leaf = leaf_hash(entry)
            if indexed:
                self._check_entry(index, entry, entry_offset, leaf, entries)
            else:
                self._check_document(index, entry)
            level, current = 0, leaf
            while stack and stack[-1][0] == level:
                current = node_hash(stack.pop()[1], current)
                level += 1
                if indexed:
                    self._check_node(level, index, current)
            stack.append((level, current))
        root = fold([h for _, h in stack])
        if root != head.root_hash or head.tree_size != last + 1:
            if self.cascade is None:
                self.add(
                    size,
                    f"{span} do not make the tree their head signed at {_fmt_time(head.timestamp)}: "
                    "an entry of this append was changed, removed or reordered",
                )
                self.cascade = 0
            else:
                self.cascade += 1
        self._check_signature(head, size)
        if previous is not None:
            if head.timestamp < previous.timestamp:
                self.add(
                    size,
                    f"the head over {span} is dated before the head before it (replayed or forged)",
                )
            if self.key_order.get(head.key_id, 0) < self.key_order.get(previous.key_id, 0):
                self.add(size, f"the head over {span} is signed with a key the ledger had already retired")
        return last + 1, head

    def _check_entry(self, index: int, entry: bytes, offset: int, leaf: bytes, entries: _Sequential) -> None:
        record = entries.read(index * ENTRY_RECORD_SIZE, ENTRY_RECORD_SIZE)
        if len(record) < ENTRY_RECORD_SIZE:
            self.add(index, "entries.idx has no record for it")
        else:
            stored_offset, stored_length, stored_leaf = ENTRY_RECORD.unpack(record)
            if stored_leaf != leaf:
                self.last_bad_leaf = index
                self.add(
                    index,
                    "its content does not match the leaf hash indexed for it (proofs would not match it)",
                )
            elif (stored_offset, stored_length) != (offset, len(entry)):
                self.add(index, "entries.idx points at other bytes of the journal than the entry")
        self._check_document(index, entry)

    def _check_document(self, index: int, entry: bytes) -> None:
        try:
            document = orjson.loads(entry)
            if not isinstance(document, dict) or "kind" not in document:
                raise ValueError("no kind")
        except ValueError:
            self.add(index, "it is not a ledger entry (a JSON document with a kind)")

    def _check_node(self, level: int, last_leaf: int, computed: bytes) -> None:
        reader = self.levels.get(level)
        if reader is None:
            reader = self.levels[level] = _Sequential(self.ledger, self.storage.level_name(level))
        node_index = last_leaf >> level
        stored = reader.read(node_index * HASH_SIZE, HASH_SIZE)
        first = node_index << level
        if stored != computed and self.last_bad_leaf < first:
            self.add(
                first,
                f"the stored hash of entries {first}–{last_leaf} (level {level}) is not theirs: "
                "proofs over them are wrong",
            )

    def _check_signature(self, head: SignedHead, entry: int) -> None:
        key = next((k for k in self.keys if k.key_id == head.key_id), None)
        if key is None:
            self.add(
                entry,
                f"the head of {head.tree_size} entries is signed by key {head.key_id.hex()[:16]}…, "
                "not one of the ledger's keys",
            )
        elif not head.verify(key.public_key):
            self.add(
                entry,
                f"the signature of the head of {head.tree_size} entries does not verify: "
                "this ledger did not write it",
            )

    @staticmethod
    def _head_record(heads: _Sequential, position: int) -> tuple[int, SignedHead | None]:
        record = heads.read(position * HEAD_INDEX_SIZE, HEAD_INDEX_SIZE)
        if len(record) < HEAD_INDEX_SIZE:
            return -1, None
        (offset,) = HEAD_OFFSET.unpack_from(record)
        return offset, SignedHead.unpack(record[HEAD_OFFSET.size : HEAD_OFFSET.size + HEAD_RECORD_SIZE])

    # witnesses --------------------------------------------------------------------------
    def _cosigned(self) -> Iterator[tuple[str, Any]]:
        store = CosignatureStore(self.ledger)
        witnesses = store.registry.by_key_id()
        for path, cosignature in store.stored():
            if cosignature is None:
                self.add(None, f"{path.name}: not a co-signature")
                continue
            yield witnesses.get(cosignature.witness_key_id), cosignature

    def _check_cosignatures(self, roots: dict[int, bytes], size: int) -> None:
        for witness, cosignature in self.cosigned:
            head = cosignature.head
            name = (
                witness.name
                if witness
                else f"an unregistered witness ({cosignature.witness_key_id.hex()[:16]}…)"
            )
            self.report.cosignatures += 1
            if witness is None or not cosignature.verify(witness.public_key):
                self.add(None, f"the co-signature kept for {name} does not verify")
            elif head.tree_size > size:
                self.add(
                    size,
                    f"{name} co-signed a head of {head.tree_size} entries; the ledger now holds {size}: "
                    "it was truncated",
                )
            elif roots.get(head.tree_size) != head.root_hash:
                self.add(
                    max(head.tree_size - 1, 0),
                    f"{name} co-signed a tree of {head.tree_size} entries that is not this one: "
                    "the history was rewritten after it was witnessed",
                )


def verify(ledger: Ledger, from_size: int = 0, limit: int = 20) -> Report:
    """Recompute the ledger from its journal (from the head at or before ``from_size``), check all."""
    try:
        return Verifier(ledger, limit).run(from_size)
    except (LedgerDamaged, TornFrame, BadFrame) as exc:
        report = Report()
        report.findings.append(Finding(None, str(exc)))
        return report
