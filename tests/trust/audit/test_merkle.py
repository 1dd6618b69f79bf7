"""RFC 9162 Merkle trees: roots match the recursive definition; every proof verifies; any
change to a proof, a leaf, a size or a root fails it."""

from __future__ import annotations

import hashlib

import pytest

from tessera.trust.audit._merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(40)]


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 9162 §2.1.1 defines it, recursively."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def test_roots_match_the_recursive_definition() -> None:
    tree = MerkleTree(LEAVES)
    for size in range(len(LEAVES) + 1):
        assert tree.root(size) == reference_root(LEAVES[:size])
    assert tree.root(0) == EMPTY_ROOT


def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not() -> None:
    tree = MerkleTree(LEAVES)
    for size in range(1, len(LEAVES) + 1):
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, root)
            assert not verify_inclusion(leaf_hash(b"forged"), index, size, proof, root)
            if proof:
                bad = [*proof[:-1], hashlib.sha256(b"x").digest()]
                assert not verify_inclusion(LEAVES[index], index, size, bad, root)
            if size > 1:
                other = (index + 1) % size
                assert not verify_inclusion(LEAVES[index], other, size, proof, root)


def test_every_consistency_proof_verifies_and_a_wrong_one_does_not() -> None:
    tree = MerkleTree(LEAVES)
    for second in range(1, len(LEAVES) + 1):
        for first in range(1, second + 1):
            proof = tree.consistency_proof(first, second)
            r1, r2 = tree.root(first), tree.root(second)
            assert verify_consistency(first, second, r1, r2, proof)
            if first < second:
                assert not verify_consistency(first, second, r2, r2, proof)
                assert not verify_consistency(first, second, r1, r1, proof)
                assert not verify_consistency(first, second, r1, r2, proof[:-1])


def test_a_rewritten_history_is_inconsistent() -> None:
    original = MerkleTree(LEAVES[:20])
    rewritten = MerkleTree([*LEAVES[:7], leaf_hash(b"edited"), *LEAVES[8:]])
    proof = rewritten.consistency_proof(20, 40)
    assert not verify_consistency(20, 40, original.root(), rewritten.root(40), proof)


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0), (0, 41)])
def test_impossible_proof_requests_are_refused(index: int, size: int) -> None:
    with pytest.raises(ValueError):
        MerkleTree(LEAVES).inclusion_proof(index, size)


def test_the_empty_tree_is_consistent_with_any() -> None:
    assert verify_consistency(0, 5, EMPTY_ROOT, MerkleTree(LEAVES).root(5), [])
