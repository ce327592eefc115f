"""RFC 9162 hashing and proofs: the published vectors, and every size up to 70 against the RFC's recursion.

The vectors (transparency-dev/merkle's testdata and constants.go) are read from ../shared at
test time; the standalone tests compare with a direct transcription of RFC 9162 §2.1's
recursive definitions written here, not with the module under test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from medlake.ledger import merkle
from tests.conftest import shared_path

VECTORS = "reference/rfc9162-merkle-vectors"


def _b64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def _vector_files(kind: str) -> list[Path]:
    files = sorted(shared_path(f"{VECTORS}/testdata/{kind}").rglob("*.json"))
    assert files, f"no {kind} vectors found"
    return files


def _verdict(kind: str, case: dict) -> bool:
    proof = [_b64(h) for h in case["proof"] or []]
    if kind == "inclusion":
        return merkle.verify_inclusion(
            case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), proof, _b64(case["root"])
        )
    if kind == "consistency":
        return merkle.verify_consistency(
            case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof
        )
    if kind == "subtreeinclusion":
        return merkle.verify_subtree_inclusion(
            case["leafIdx"], case["start"], case["end"], _b64(case["leafHash"]), proof, _b64(case["root"])
        )
    return merkle.verify_subtree_consistency(
        case["start"], case["end"], case["size"], proof, _b64(case["root1"]), _b64(case["root2"])
    )


@pytest.mark.parametrize("kind", ["inclusion", "consistency", "subtreeinclusion", "subtreeconsistency"])
def test_every_published_vector_gets_the_expected_verdict(kind: str) -> None:
    wrong = []
    accepted = rejected = 0
    for path in _vector_files(kind):
        case = json.loads(path.read_text())
        verdict = _verdict(kind, case)
        if verdict == case["wantErr"]:
            wrong.append(f"{path.relative_to(path.parents[2])}: {case['desc']}")
        accepted += verdict
        rejected += not verdict
    assert not wrong, "\n".join(wrong)
    assert accepted and rejected  # both happy paths and attacks were exercised


def _constants() -> tuple[list[bytes], list[list[bytes]], list[bytes]]:
    """LeafInputs, NodeHashes and RootHashes parsed out of constants.go."""
    source = shared_path(f"{VECTORS}/constants.go").read_text()

    def body(function: str) -> str:
        start = source.index(f"func {function}()")
        return source[start : source.index("\n}\n", start)]

    hexes = lambda text: [bytes.fromhex(h) for h in re.findall(r'hd\("([0-9a-f]*)"\)', text)]  # noqa: E731
    leaves = hexes(body("LeafInputs"))
    levels = [hexes(level) for level in body("NodeHashes").split("}, {")]
    roots_text = body("RootHashes")
    roots = [bytes.fromhex(re.search(r'hd\("([0-9a-f]+)"\)', body("EmptyRootHash"))[1])]
    roots += hexes(roots_text)
    return leaves, levels, roots


def test_known_roots_of_sizes_0_to_8_and_node_hashes() -> None:
    leaves, levels, roots = _constants()
    assert len(leaves) == 8 and len(roots) == 9 and [len(level) for level in levels] == [8, 4, 2, 1]
    assert roots[0] == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    for size in range(9):
        assert merkle.root_of(leaves[:size]) == roots[size], size
    source = merkle.LeafList([merkle.leaf_hash(x) for x in leaves])
    for level, hashes in enumerate(levels):
        for index, expected in enumerate(hashes):
            assert source.node(level, index) == expected, (level, index)
    for size in range(1, 9):
        assert merkle.tree_root(source, size) == roots[size]


def test_generated_proofs_equal_the_published_happy_paths() -> None:
    leaves, _, _ = _constants()
    source = merkle.LeafList([merkle.leaf_hash(x) for x in leaves])
    compared = 0
    for kind in ("inclusion", "consistency"):
        for path in _vector_files(kind):
            case = json.loads(path.read_text())
            if case["wantErr"] or not case["proof"]:
                continue
            expected = [_b64(h) for h in case["proof"]]
            if kind == "inclusion":
                got = merkle.inclusion_proof(source, case["leafIdx"], case["treeSize"])
            else:
                got = merkle.consistency_proof(source, case["size1"], case["size2"])
            assert got == expected, path.name
            compared += 1
    assert compared >= 8


# --- standalone: RFC 9162 §2.1 transcribed literally ------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + _mth(d[:k]) + _mth(d[k:])).digest()


def _path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*_path(m, d[:k]), _mth(d[k:])]
    return [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [_mth(d)]
    k = _k(n)
    if m <= k:
        return [*_subproof(m, d[:k], b), _mth(d[k:])]
    return [*_subproof(m - k, d[k:], False), _mth(d[:k])]


ENTRIES = [f"entry {i}".encode() * (i % 3 + 1) for i in range(70)]


def _flipped(proof: list[bytes], position: int) -> list[bytes]:
    changed = list(proof)
    changed[position] = bytes([changed[position][0] ^ 1]) + changed[position][1:]
    return changed


def test_inclusion_proofs_for_every_index_of_every_size_up_to_70() -> None:
    source = merkle.LeafList([merkle.leaf_hash(e) for e in ENTRIES])
    for size in range(1, 71):
        root = _mth(ENTRIES[:size])
        assert merkle.tree_root(source, size) == root
        for index in range(size):
            proof = merkle.inclusion_proof(source, index, size)
            assert proof == _path(index, ENTRIES[:size]), (index, size)
            leaf = merkle.leaf_hash(ENTRIES[index])
            assert merkle.verify_inclusion(index, size, leaf, proof, root)
            for position in range(len(proof)):
                assert not merkle.verify_inclusion(index, size, leaf, _flipped(proof, position), root)
            if size > 1:
                assert not merkle.verify_inclusion((index + 1) % size, size, leaf, proof, root)
                assert not merkle.verify_inclusion(index, size, leaf, proof[:-1], root)


def test_consistency_proofs_between_every_pair_of_sizes_up_to_70() -> None:
    source = merkle.LeafList([merkle.leaf_hash(e) for e in ENTRIES])
    for second in range(1, 71):
        root2 = _mth(ENTRIES[:second])
        for first in range(1, second + 1):
            root1 = _mth(ENTRIES[:first])
            proof = merkle.consistency_proof(source, first, second)
            assert proof == _subproof(first, ENTRIES[:second], True), (first, second)
            assert merkle.verify_consistency(first, second, root1, root2, proof)
            for position in range(len(proof)):
                assert not merkle.verify_consistency(first, second, root1, root2, _flipped(proof, position))
            if first < second:
                other = _mth([b"forged", *ENTRIES[1:first]])
                assert not merkle.verify_consistency(first, second, other, root2, proof)


def test_subtree_proofs_against_the_recursion() -> None:
    entries = ENTRIES[:32]
    for start in range(0, 32):
        for end in range(start + 1, 33):
            if not merkle.valid_subtree(start, end):
                continue
            sub = entries[start:end]
            for index in range(start, end):
                proof = _path(index - start, sub)
                leaf = merkle.leaf_hash(entries[index])
                assert merkle.verify_subtree_inclusion(index, start, end, leaf, proof, _mth(sub))
    assert not merkle.valid_subtree(2, 5) and merkle.valid_subtree(4, 7) and not merkle.valid_subtree(3, 3)


def test_proof_requests_outside_the_tree_are_refused() -> None:
    source = merkle.LeafList([merkle.leaf_hash(e) for e in ENTRIES[:5]])
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(source, 5, 5)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(source, 0, 5)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(source, 4, 3)
