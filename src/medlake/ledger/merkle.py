"""RFC 9162 Merkle trees: hashing, proof generation over stored subtree hashes, and verification.

The hashing is Certificate Transparency v2's (RFC 9162 §2.1.1): a leaf is
``SHA-256(0x00 || entry)``, an interior node ``SHA-256(0x01 || left || right)``, the empty
tree ``SHA-256()``, and a tree of ``n`` leaves splits at the largest power of two below ``n``.

Proofs are generated from a :class:`NodeSource`, anything that returns the hash of a
*complete* subtree (``2**level`` leaves starting at ``index * 2**level``). The ledger's
storage keeps every such hash, so a proof reads O(log n) of them whatever the tree size;
tests use an in-memory source. Verification follows the RFC's own procedures (§2.1.3.2
and §2.1.4.2) so that anyone can check our proofs with nothing but the RFC, and the
subtree variants of the Merkle Tree Certificates draft (a subtree ``[start, end)`` is
valid when ``start`` is a multiple of the smallest power of two ≥ ``end - start``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from medlake.errors import InputError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(InputError):
    """A proof was asked for sizes or indexes the tree does not have."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n`` ≥ 2): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]) computed straight from the RFC's recursive definition (for tests and checks)."""
    return root_of_hashes([leaf_hash(entry) for entry in entries])


class NodeSource(Protocol):
    def node(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree of ``2**level`` leaves starting at leaf ``index << level``."""
        ...


class LeafList:
    """A :class:`NodeSource` over leaf hashes held in memory (complete subtrees hashed on demand)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = leaves

    def node(self, level: int, index: int) -> bytes:
        start = index << level
        return root_of_hashes(self.leaves[start : start + (1 << level)])


def root_of_hashes(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(root_of_hashes(leaves[:k]), root_of_hashes(leaves[k:]))


def complete_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut, left to right, into the largest aligned complete subtrees (level, index)."""
    parts = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def fold(hashes: Sequence[bytes]) -> bytes:
    """Hash of a right-leaning spine: ``H(h0, H(h1, … H(h[-2], h[-1])))``."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def range_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion produces (``start`` aligned to its size)."""
    return fold([source.node(level, index) for level, index in complete_subtrees(start, end)])


def tree_root(source: NodeSource, size: int) -> bytes:
    return range_hash(source, 0, size)


def inclusion_proof(source: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf-side first."""
    if not 0 <= index < size:
        raise ProofError(f"entry {index} is not in a tree of {size} entries")
    path = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            path.append(range_hash(source, lo + k, hi))
            hi = lo + k
        else:
            path.append(range_hash(source, lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_proof(source: NodeSource, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 §2.1.4.1, smallest subtrees first."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second} (need 0 < first ≤ second)")
    proof = []
    lo, hi, whole = 0, second, True
    while first != hi:
        k = split_point(hi - lo)
        if first - lo <= k:
            proof.append(range_hash(source, lo + k, hi))
            hi = lo + k
        else:
            proof.append(range_hash(source, lo, lo + k))
            lo += k
            whole = False
    if not whole:
        proof.append(range_hash(source, lo, hi))
    proof.reverse()
    return proof


# --- verification (RFC 9162 §2.1.3.2, §2.1.4.2; subtree variants from the MTC draft) -----------


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes | bytearray) and len(h) == HASH_SIZE for h in hashes)


def _shift_until_odd_or_zero(fn: int, sn: int) -> tuple[int, int]:
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root an inclusion proof leads to, or None when the proof cannot be one for these numbers."""
    if not 0 <= index < size or not _well_formed(leaf, *proof):
        return None
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True when ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree (``size``, ``root``)."""
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """``proof`` shows tree (``first``, ``first_root``) is a prefix of (``second``, ``second_root``)."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof or not _well_formed(*proof):
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def valid_subtree(start: int, end: int) -> bool:
    """``[start, end)`` is a node of some Merkle tree: non-empty and aligned to its bit-ceiling."""
    if not 0 <= start < end:
        return False
    width = 1 << (end - start - 1).bit_length()
    return start % width == 0


def verify_subtree_inclusion(
    index: int, start: int, end: int, leaf: bytes, proof: Sequence[bytes], subtree_root: bytes
) -> bool:
    """Inclusion of leaf ``index`` in the subtree ``[start, end)`` whose hash is ``subtree_root``."""
    if not valid_subtree(start, end) or not start <= index < end:
        return False
    return verify_inclusion(index - start, end - start, leaf, proof, subtree_root)


def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], subtree_root: bytes, root: bytes
) -> bool:
    """Subtree ``[start, end)`` (hash ``subtree_root``) sits at those leaves of tree (``size``, ``root``)."""
    if start == end:
        return not proof and end <= size and subtree_root == EMPTY_ROOT
    if not valid_subtree(start, end) or end > size or not _well_formed(*proof):
        return False
    fn, sn, tn = start, end - 1, size - 1
    if sn == tn:
        while fn != sn:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    else:
        while fn != sn and sn & 1:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if fn == sn:
        fr = sr = subtree_root
        rest = list(proof)
    else:
        if not proof:
            return False
        fr = sr = proof[0]
        rest = list(proof[1:])
    for c in rest:
        if tn == 0:
            return False
        if sn & 1 or sn == tn:
            if fn < sn:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not sn & 1:
                fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    return tn == 0 and fr == subtree_root and sr == root
