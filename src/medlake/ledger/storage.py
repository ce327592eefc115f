"""The ledger's files: an append-only journal of signed frames, and indexes derived from it.

``<home>/ledger/``::

    journal          frames, one per append call (the record of truth):
                       "MLJ1" | uint32 count | uint64 payload length | signed head (144 bytes)
                       | count × (uint32 length | entry) | SHA-256 of everything before
    entries.idx      per entry, 44 bytes: uint64 offset in the journal | uint32 length | leaf hash
    tree/level-NN    per level N ≥ 1, the 32-byte hash of every complete subtree of 2**N leaves
    heads.idx        per frame, 152 bytes: uint64 offset of the frame | its signed head
    lock             flock(2): one appender at a time, across processes

Every append writes its frame first, with the head that signs the tree *including* the new
entries, and ``fsync``s it: that is the commit. The indexes follow and ``heads.idx`` last,
so a reader that takes the last ``heads.idx`` record finds everything it names. After a
``kill -9`` the next appender finds either a torn frame at the journal's end (removed: the
append did not happen) or a whole frame the indexes miss (indexed: it did). Anything else
— a frame whose head this ledger did not sign, indexes shorter than the heads they serve —
is not a crash, and appending stops until ``medlake ledger verify`` has been read.

Proofs read O(log n) hashes of complete subtrees at fixed offsets, so their cost does not
grow with the ledger (the tile idea of Trillian/Tessera, one file per level).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from medlake.errors import LedgerError
from medlake.ledger.heads import HEAD_RECORD_SIZE, SignedHead
from medlake.ledger.merkle import HASH_SIZE, complete_subtrees, fold, leaf_hash, node_hash

FRAME_MAGIC = b"MLJ1"
_FRAME_HEADER = struct.Struct(">4sIQ")
FRAME_HEADER_SIZE = _FRAME_HEADER.size + HEAD_RECORD_SIZE
_LENGTH = struct.Struct(">I")
ENTRY_RECORD = struct.Struct(f">QI{HASH_SIZE}s")
ENTRY_RECORD_SIZE = ENTRY_RECORD.size
HEAD_OFFSET = struct.Struct(">Q")
HEAD_INDEX_SIZE = HEAD_OFFSET.size + HEAD_RECORD_SIZE
MAXENTRY_RECORD_BYTES = 16 * 1024 * 1024

JOURNAL = "journal"
ENTRIES = "entries.idx"
HEADS = "heads.idx"
TREE = "tree"
LOCK = "lock"
_LEVEL_NAMES = [f"{TREE}/level-{level:02d}" for level in range(64)]


class LedgerDamaged(LedgerError, RuntimeError):
    """The ledger's files are not in a state any crash can leave: someone changed them."""


class TornFrame(LedgerError, ValueError):
    """The journal ends inside a frame: an append that was killed before it finished."""


class BadFrame(LedgerError, ValueError):
    """Bytes where a frame should start that are not a well-formed frame."""


@dataclass(frozen=True)
class Frame:
    offset: int
    head: SignedHead
    entries: list[bytes]
    end: int
    intact: bool = True

    @property
    def first(self) -> int:
        return self.head.tree_size - len(self.entries)


def encode_frame(head: SignedHead, entries: list[bytes]) -> bytes:
    payload = b"".join(_LENGTH.pack(len(e)) + e for e in entries)
    body = _FRAME_HEADER.pack(FRAME_MAGIC, len(entries), len(payload)) + head.pack() + payload
    return body + hashlib.sha256(body).digest()


def decode_frame(read: Callable[[int, int], bytes], offset: int, file_size: int) -> Frame:
    """The frame at ``offset``; ``read(offset, n)`` reads the journal.

    Raises TornFrame when the journal ends inside it and BadFrame when its structure is
    broken; a frame whose bytes no longer match its checksum is returned with
    ``intact=False``, so that a verifier can still say which entry changed.
    """
    if file_size - offset < FRAME_HEADER_SIZE:
        raise TornFrame(f"{file_size - offset} bytes at offset {offset}, less than a frame header")
    header = read(offset, FRAME_HEADER_SIZE)
    magic, count, payload_size = _FRAME_HEADER.unpack_from(header)
    if magic != FRAME_MAGIC:
        raise BadFrame(f"no frame starts at offset {offset} (magic {magic!r})")
    end = offset + FRAME_HEADER_SIZE + payload_size + HASH_SIZE
    if end > file_size:
        raise TornFrame(
            f"the frame at offset {offset} needs {end - offset} bytes, {file_size - offset} remain"
        )
    rest = read(offset + FRAME_HEADER_SIZE, payload_size + HASH_SIZE)
    payload, checksum = rest[:payload_size], rest[payload_size:]
    intact = hashlib.sha256(header + payload).digest() == checksum
    entries, position = [], 0
    for _ in range(count):
        if position + 4 > payload_size:
            raise BadFrame(f"the frame at offset {offset} announces {count} entries and holds fewer")
        (length,) = _LENGTH.unpack_from(payload, position)
        if position + 4 + length > payload_size:
            raise BadFrame(f"an entry of the frame at offset {offset} runs past the frame's end")
        entries.append(payload[position + 4 : position + 4 + length])
        position += 4 + length
    if position != payload_size:
        raise BadFrame(f"the frame at offset {offset} has {payload_size - position} stray payload bytes")
    return Frame(offset, SignedHead.unpack(header[_FRAME_HEADER.size :]), entries, end, intact)


def entry_offsets(frame: Frame) -> Iterator[int]:
    """Where each of the frame's entries starts in the journal."""
    position = frame.offset + FRAME_HEADER_SIZE
    for entry in frame.entries:
        yield position + 4
        position += 4 + len(entry)


class Storage:
    """Reads and appends the files of one ledger folder; safe across threads and processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._fds: dict[str, int] = {}
        self._thread_lock = threading.RLock()
        self._lock_depth = 0
        # what this object last committed: (journal size, heads.idx size), its head and compact
        # range; while both files still have those sizes nobody else has appended or crashed,
        # and the next append can skip recovery and re-reading the compact range.
        self._committed: tuple[int, int] | None = None
        self._tip: tuple[SignedHead | None, list[tuple[int, bytes]]] = (None, [])

    # files ------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.root / name

    @staticmethod
    def level_name(level: int) -> str:
        return _LEVEL_NAMES[level]

    def _fd(self, name: str) -> int:
        fd = self._fds.get(name)
        if fd is None:
            return self._open(name)
        return fd

    def _open(self, name: str) -> int:
        with self._thread_lock:
            fd = self._fds.get(name)
            if fd is not None:
                return fd
            path = self.path(name)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except PermissionError:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            self._fds[name] = fd
        return fd

    def size_of(self, name: str) -> int:
        return os.fstat(self._fd(name)).st_size

    def read(self, name: str, offset: int, size: int) -> bytes:
        data = os.pread(self._fd(name), size, offset)
        if len(data) != size:
            raise LedgerDamaged(f"{name} ends at {self.size_of(name)} bytes, {offset + size} expected")
        return data

    def _write(self, name: str, offset: int, data: bytes) -> None:
        fd = self._fd(name)
        view = memoryview(data)
        while view:
            written = os.pwrite(fd, view, offset)
            view, offset = view[written:], offset + written

    def _truncate(self, name: str, size: int) -> None:
        os.ftruncate(self._fd(name), size)

    def close(self) -> None:
        with self._thread_lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
            self._committed = None

    def exists(self) -> bool:
        return self.path(HEADS).exists()

    @contextmanager
    def locked(self, exclusive: bool = True) -> Iterator[None]:
        """Hold the ledger's lock: exclusive for appends and repairs, shared to read a consistent head.

        Re-entrant within a thread: a read inside an append keeps the append's exclusive lock
        (flock on the same descriptor would otherwise convert it, and unlocking would drop it).
        """
        with self._thread_lock:
            if self._lock_depth:
                self._lock_depth += 1
                try:
                    yield
                finally:
                    self._lock_depth -= 1
                return
            if LOCK not in self._fds:
                self.root.mkdir(parents=True, exist_ok=True)
            fd = self._fd(LOCK)
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0
                fcntl.flock(fd, fcntl.LOCK_UN)

    # committed state --------------------------------------------------------------------
    def head_count(self) -> int:
        return self.size_of(HEADS) // HEAD_INDEX_SIZE if self.path(HEADS).exists() else 0

    def head_at(self, position: int) -> tuple[int, SignedHead]:
        """The ``position``-th head ever issued and the journal offset of its frame."""
        record = self.read(HEADS, position * HEAD_INDEX_SIZE, HEAD_INDEX_SIZE)
        (offset,) = HEAD_OFFSET.unpack_from(record)
        return offset, SignedHead.unpack(record[HEAD_OFFSET.size :])

    def latest(self) -> SignedHead | None:
        with self.locked(exclusive=False):
            count = self.head_count()
            return self.head_at(count - 1)[1] if count else None

    def head_for_size(self, size: int) -> int | None:
        """Position of the first head whose tree holds at least ``size`` entries (binary search)."""
        lo, hi = 0, self.head_count()
        while lo < hi:
            middle = (lo + hi) // 2
            if self.head_at(middle)[1].tree_size < size:
                lo = middle + 1
            else:
                hi = middle
        return lo if lo < self.head_count() else None

    def entry_record(self, index: int) -> tuple[int, int, bytes]:
        return ENTRY_RECORD.unpack(self.read(ENTRIES, index * ENTRY_RECORD_SIZE, ENTRY_RECORD_SIZE))

    def entry(self, index: int) -> bytes:
        offset, length, _ = self.entry_record(index)
        return self.read(JOURNAL, offset, length)

    def node(self, level: int, index: int) -> bytes:
        if level == 0:
            return self.entry_record(index)[2]
        return self.read(self.level_name(level), index * HASH_SIZE, HASH_SIZE)

    def compact_range(self, size: int) -> list[tuple[int, bytes]]:
        """The complete subtrees a tree of ``size`` leaves is made of, as (level, hash), left to right."""
        return [(level, self.node(level, index)) for level, index in complete_subtrees(0, size)]

    def level_files(self) -> list[int]:
        folder = self.path(TREE)
        if not folder.is_dir():
            return []
        return sorted(
            int(name.removeprefix("level-")) for name in os.listdir(folder) if name.startswith("level-")
        )

    # appending --------------------------------------------------------------------------
    def append(
        self,
        entries: list[bytes],
        sign: Callable[[int, bytes, SignedHead | None], SignedHead],
        trusted: Callable[[SignedHead], bool],
        sync: bool,
    ) -> tuple[SignedHead, list[str]]:
        """Append ``entries`` as one frame; ``sign(tree_size, root, previous head)`` makes its head.

        Returns the new head and notes on anything recovery repaired first. The caller
        holds the exclusive lock; ``trusted`` tells whether a head found in an unindexed
        frame was signed by this ledger.
        """
        if self._committed is not None and self._committed == (self.size_of(JOURNAL), self.size_of(HEADS)):
            notes: list[str] = []
            previous, stack = self._tip[0], list(self._tip[1])
            size, journal_end = (previous.tree_size if previous else 0), self._committed[0]
        else:
            notes, previous, size = self.recover(trusted)
            stack, journal_end = self.compact_range(size), self._journal_end()
        leaves, nodes = self._grow(stack, entries)
        head = sign(size + len(entries), fold([h for _, h in stack]), previous)
        frame = encode_frame(head, entries)
        self._committed = None
        self._write(JOURNAL, journal_end, frame)
        if sync:
            os.fsync(self._fd(JOURNAL))
        self._index(Frame(journal_end, head, entries, journal_end + len(frame)), size, leaves, nodes)
        self._committed = (journal_end + len(frame), self.size_of(HEADS))
        self._tip = (head, stack)
        return head, notes

    @staticmethod
    def _grow(
        stack: list[tuple[int, bytes]], entries: list[bytes]
    ) -> tuple[list[bytes], dict[int, list[bytes]]]:
        """Push the new leaves onto the compact range; the subtrees they complete, per level."""
        leaves, nodes = [], {}
        for entry in entries:
            current = leaf_hash(entry)
            leaves.append(current)
            level = 0
            while stack and stack[-1][0] == level:
                current = node_hash(stack.pop()[1], current)
                level += 1
                nodes.setdefault(level, []).append(current)
            stack.append((level, current))
        return leaves, nodes

    def _journal_end(self) -> int:
        count = self.head_count()
        if not count:
            return 0
        offset, _ = self.head_at(count - 1)
        header = self.read(JOURNAL, offset, FRAME_HEADER_SIZE)
        return offset + FRAME_HEADER_SIZE + _FRAME_HEADER.unpack_from(header)[2] + HASH_SIZE

    def _index(self, frame: Frame, size: int, leaves: list[bytes], nodes: dict[int, list[bytes]]) -> None:
        records = b"".join(
            ENTRY_RECORD.pack(offset, len(entry), leaf)
            for offset, entry, leaf in zip(entry_offsets(frame), frame.entries, leaves, strict=True)
        )
        self._write(ENTRIES, size * ENTRY_RECORD_SIZE, records)
        for level, hashes in nodes.items():
            self._write(self.level_name(level), (size >> level) * HASH_SIZE, b"".join(hashes))
        count = self.head_count()
        self._write(HEADS, count * HEAD_INDEX_SIZE, HEAD_OFFSET.pack(frame.offset) + frame.head.pack())

    # recovery ---------------------------------------------------------------------------
    def recover(self, trusted: Callable[[SignedHead], bool]) -> tuple[list[str], SignedHead | None, int]:
        """Bring the files back to the last committed append (caller holds the exclusive lock).

        Returns notes on what was repaired, the last head and the committed size.
        ``trusted`` checks the signature of a head found in a frame the indexes miss.
        """
        notes: list[str] = []
        heads_size = self.size_of(HEADS)
        if heads_size % HEAD_INDEX_SIZE:
            self._truncate(HEADS, heads_size - heads_size % HEAD_INDEX_SIZE)
            notes.append("removed a half-written record at the end of heads.idx")
        previous = self._check_last_head(trusted)
        size = previous.tree_size if previous else 0
        self._trim_indexes(size, notes)
        while True:
            journal_end, journal_size = self._journal_end(), self.size_of(JOURNAL)
            if journal_size == journal_end:
                return notes, previous, size
            try:
                frame = decode_frame(lambda o, n: self.read(JOURNAL, o, n), journal_end, journal_size)
            except TornFrame:
                self._truncate(JOURNAL, journal_end)
                notes.append(
                    f"removed an unfinished append after entry {size - 1} "
                    f"({journal_size - journal_end} bytes; it was killed before it was written)"
                )
                return notes, previous, size
            except BadFrame as exc:
                raise LedgerDamaged(
                    f"the journal holds bytes after entry {size - 1} that no append wrote ({exc}): "
                    "run `medlake ledger verify`"
                ) from None
            if not frame.intact:
                raise LedgerDamaged(
                    f"the frame after entry {size - 1} does not match its checksum: "
                    "run `medlake ledger verify`"
                )
            previous, size = self._roll_forward(frame, previous, size, trusted)
            notes.append(f"indexed entries {frame.first}–{size - 1}, written before the appender was stopped")

    def _check_last_head(self, trusted: Callable[[SignedHead], bool]) -> SignedHead | None:
        """The head appends continue from, after checking it is the ledger's own and the newest.

        A record copied from earlier in heads.idx (a replayed head) or a head nobody with the
        key signed would make the next append continue from the wrong place: refuse instead.
        """
        count = self.head_count()
        if not count:
            return None
        offset, head = self.head_at(count - 1)
        if count > 1:
            before_offset, before = self.head_at(count - 2)
            if (
                before_offset >= offset
                or before.tree_size >= head.tree_size
                or before.timestamp > head.timestamp
            ):
                raise LedgerDamaged(
                    f"the last record of heads.idx (a head of {head.tree_size} entries) does not follow "
                    "the one before it (an old head replayed?): run `medlake ledger verify`"
                )
        if not trusted(head):
            raise LedgerDamaged(
                f"the last head ({head.tree_size} entries) is not signed by this ledger's key: "
                "run `medlake ledger verify`"
            )
        try:
            header = self.read(JOURNAL, offset, FRAME_HEADER_SIZE)
        except LedgerDamaged:
            header = b""
        if header[_FRAME_HEADER.size :] != head.pack() or header[:4] != FRAME_MAGIC:
            raise LedgerDamaged(
                f"heads.idx names a head of {head.tree_size} entries whose frame the journal does not hold "
                "(the journal was truncated or edited): run `medlake ledger verify`"
            )
        return head

    def _trim_indexes(self, size: int, notes: list[str]) -> None:
        expected = {ENTRIES: size * ENTRY_RECORD_SIZE}
        for level in self.level_files():
            expected[self.level_name(level)] = (size >> level) * HASH_SIZE
        for level in range(1, size.bit_length()):
            expected.setdefault(self.level_name(level), (size >> level) * HASH_SIZE)
        for name, length in expected.items():
            actual = self.size_of(name)
            if actual < length:
                raise LedgerDamaged(
                    f"{name} holds {actual} bytes but the last head needs {length}: "
                    "run `medlake ledger verify`"
                )
            if actual > length:
                self._truncate(name, length)
                if name == ENTRIES:
                    notes.append(f"removed index records of an unfinished append after entry {size - 1}")

    def _roll_forward(
        self,
        frame: Frame,
        previous: SignedHead | None,
        size: int,
        trusted: Callable[[SignedHead], bool],
    ) -> tuple[SignedHead, int]:
        stack = self.compact_range(size)
        leaves, nodes = self._grow(stack, frame.entries)
        root = fold([h for _, h in stack])
        genuine = frame.first == size and frame.head.root_hash == root and trusted(frame.head)
        if not genuine:
            raise LedgerDamaged(
                f"the journal holds a frame after entry {size - 1} whose head does not sign the tree it "
                "would make (appended behind the ledger's back): run `medlake ledger verify`"
            )
        if previous and frame.head.timestamp < previous.timestamp:
            raise LedgerDamaged(f"the frame after entry {size - 1} is dated before the head it follows")
        self._index(frame, size, leaves, nodes)
        return frame.head, frame.head.tree_size
