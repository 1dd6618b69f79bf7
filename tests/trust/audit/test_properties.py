"""Properties of the audit log's evidence, over random logs: any single tampering (a changed,
removed, inserted or moved entry, or a cut end) is caught, even by a writer who recomputes every
unkeyed hash, once the verifier holds a checkpoint it trusts or the seals' key."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.trust import AuditTampered
from tessera.trust.audit._merkle import (
    MerkleTree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from tessera.trust.audit._verify import GENESIS, chain_hash, check_entries, check_roots, seal

TENANT = "acme"
KEY = secrets.token_bytes(32)
FACTS = st.dictionaries(
    st.sampled_from(["action", "purpose", "subject", "outcome", "caller"]),
    st.text(max_size=12),
    max_size=4,
)


@dataclass(frozen=True)
class Entry:
    seq: int
    body: str
    leaf: str
    chain: str
    mac: str


def written(facts: list[dict[str, str]]) -> list[Entry]:
    """A log as the service writes it: numbered, chained, each chain hash sealed."""
    entries, chain = [], GENESIS
    for seq, fact in enumerate(facts):
        body = json.dumps({"seq": seq, "tenant": TENANT, **fact}, sort_keys=True)
        leaf = leaf_hash(body.encode()).hex()
        chain = chain_hash(chain, leaf)
        entries.append(Entry(seq, body, leaf, chain, seal(KEY, chain)))
    return entries


def rewritten(facts: list[dict[str, str]], old: list[Entry]) -> list[Entry]:
    """The same facts as a database writer without the key rewrites them: every unkeyed hash
    recomputed, the seals it cannot compute copied from the old rows where there were any."""
    fresh = written(facts)
    return [
        Entry(e.seq, e.body, e.leaf, e.chain, old[i].mac if i < len(old) else "00" * 32)
        for i, e in enumerate(fresh)
    ]


def detected(entries: list[Entry], trusted_size: int, trusted_root: bytes) -> bool:
    try:
        leaves = check_entries(((e.seq, e.body, e.leaf, e.chain) for e in entries), TENANT)
        check_roots(MerkleTree(leaves), {trusted_size: trusted_root})
    except AuditTampered:
        return True
    return False


def seals_fail(entries: list[Entry]) -> bool:
    return any(seal(KEY, e.chain) != e.mac for e in entries)


TAMPERINGS = ["change", "remove", "insert", "swap", "cut"]


@st.composite
def tampered_logs(draw: st.DrawFn) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    facts = draw(st.lists(FACTS, min_size=2, max_size=24))
    how = draw(st.sampled_from(TAMPERINGS))
    i = draw(st.integers(0, len(facts) - 1))
    changed = list(facts)
    if how == "change":
        new = draw(FACTS.filter(lambda f: f != facts[i]))
        changed[i] = new
    elif how == "remove":
        del changed[i]
    elif how == "insert":  # an entry like the one it displaces would be an append
        changed.insert(i, draw(FACTS.filter(lambda f: f != facts[i])))
    elif how == "swap":
        j = draw(st.integers(0, len(facts) - 1).filter(lambda j: facts[j] != facts[i]))
        changed[i], changed[j] = changed[j], changed[i]
    else:
        changed = changed[:i]
    return facts, changed


@settings(max_examples=150, deadline=None)
@given(tampered_logs())
def test_any_single_tampering_is_caught_by_a_trusted_checkpoint_and_by_the_seals(
    logs: tuple[list[dict[str, str]], list[dict[str, str]]],
) -> None:
    facts, changed = logs
    original = written(facts)
    tree = MerkleTree([bytes.fromhex(e.leaf) for e in original])
    trusted = (len(original), tree.root())
    assert not detected(original, *trusted)  # the genuine log verifies
    forged = rewritten(changed, original)
    # Every unkeyed hash was recomputed, so only what the writer cannot make stops it: the
    # checkpoint kept elsewhere, and the seals under the key provider's key.
    assert detected(forged, *trusted)
    assert seals_fail(forged) or len(forged) < len(original)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=16), min_size=1, max_size=40), st.data())
def test_proofs_verify_for_the_log_and_fail_for_any_other_leaf(
    raw: list[bytes], data: st.DataObject
) -> None:
    leaves = [leaf_hash(b) for b in raw]
    tree = MerkleTree(leaves)
    size = data.draw(st.integers(1, len(leaves)))
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index, size)
    assert verify_inclusion(leaves[index], index, size, proof, tree.root(size))
    other = leaf_hash(raw[index] + b"\x00")
    assert not verify_inclusion(other, index, size, proof, tree.root(size))
    first = data.draw(st.integers(1, size))
    consistency = tree.consistency_proof(first, size)
    assert verify_consistency(first, size, tree.root(first), tree.root(size), consistency)
    if first < size:  # a different history under the same size does not extend
        bent = MerkleTree([leaf_hash(b"forged"), *leaves[1:first]])
        assert not verify_consistency(first, size, bent.root(), tree.root(size), consistency)


@pytest.mark.parametrize("how", TAMPERINGS)
def test_each_kind_of_tampering_is_tried(how: str) -> None:
    """The strategy draws every kind (hypothesis's own coverage aside): a fixed example each."""
    facts = [{"action": str(n)} for n in range(6)]
    changed = {
        "change": [*facts[:2], {"action": "x"}, *facts[3:]],
        "remove": facts[:2] + facts[3:],
        "insert": [*facts[:2], {"action": "x"}, *facts[2:]],
        "swap": [facts[1], facts[0], *facts[2:]],
        "cut": facts[:3],
    }[how]
    original = written(facts)
    tree = MerkleTree([bytes.fromhex(e.leaf) for e in original])
    assert detected(rewritten(changed, original), len(original), tree.root())
