"""Checking the audit log, with no database and no secret: entries, chain links, checkpoint
signatures, Merkle roots and consistency proofs. Pure functions, so that a DPO's offline check
and the running service's check are the same code."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from tessera.trust._errors import AuditTampered

from ._merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion

__all__ = [
    "CHECKPOINT_TYPE",
    "EXPORT_FORMAT",
    "GENESIS",
    "chain_hash",
    "check_entries",
    "check_roots",
    "check_seals",
    "decode_checkpoint",
    "seal",
    "verify_export",
    "verify_inclusion_proof",
]

ALG = "Ed25519"
CHECKPOINT_TYPE = "audit-checkpoint+jws"
EXPORT_FORMAT = "tessera-audit-export/1"
GENESIS = "0" * 64


def chain_hash(prev: str, leaf: str) -> str:
    """The chain link: SHA-256 of the previous link and this entry's leaf hash."""
    return hashlib.sha256(bytes.fromhex(prev) + bytes.fromhex(leaf)).hexdigest()


def seal(key: bytes, chain: str) -> str:
    """An entry's seal: HMAC-SHA256 of its chain hash (which commits to every entry before it)
    under the tenant's audit key. Only the service, through the key provider, can make one."""
    return hmac.new(key, bytes.fromhex(chain), hashlib.sha256).hexdigest()


def check_seals(entries: Iterator[tuple[int, str, str | None]], key: bytes) -> None:
    """Each entry as (seq, chain hash, seal): raise `AuditTampered` naming the first entry the
    service did not write (added, or rewritten with a recomputed chain, by a database writer)."""
    for seq, chain, given in entries:
        if given is None or not hmac.compare_digest(seal(key, chain), given):
            raise AuditTampered(
                f"entry {seq} was not written by this service: its seal does not verify", seq=seq
            )


def decode_checkpoint(signed: str, key: OKPKey) -> dict[str, Any]:
    try:
        obj = jws.deserialize_compact(signed, key, algorithms=[ALG])
    except (JoseError, ValueError, TypeError):
        raise AuditTampered("a checkpoint's signature does not verify") from None
    if obj.protected.get("typ") != CHECKPOINT_TYPE:
        raise AuditTampered("not a Tessera audit checkpoint")
    return json.loads(obj.payload)


def check_entries(
    entries: Iterator[tuple[Any, str | None, str | None, str | None]], tenant: str | None
) -> list[bytes]:
    """Each entry in order: (seq, body, leaf hash, chain hash). Returns the leaf hashes;
    raises `AuditTampered` naming the first entry that is missing, moved, altered or unlinked."""
    leaves: list[bytes] = []
    chain = GENESIS
    for position, (seq, body_text, leaf_hex, chain_hex) in enumerate(entries):
        leaf, chain, _ = check_entry(position, seq, body_text, leaf_hex, chain_hex, chain, tenant)
        leaves.append(leaf)
    return leaves


def check_entry(
    position: int,
    seq: Any,
    body_text: str | None,
    leaf_hex: str | None,
    chain_hex: str | None,
    prev_chain: str,
    tenant: str | None,
) -> tuple[bytes, str, dict[str, Any]]:
    """One entry where it should be: readable, at `position` (its row and its body say so),
    of this tenant, hashing to its leaf and linking from `prev_chain`. Returns its leaf, its
    chain hash and its facts; raises `AuditTampered` naming it otherwise."""
    try:
        body = (body_text or "").encode("utf-8")
        facts = json.loads(body)
    except (AttributeError, ValueError):
        raise AuditTampered(f"entry {position} is unreadable", seq=position) from None
    if seq != position or facts.get("seq") != position:
        raise AuditTampered(f"entry {position} is missing, inserted or out of order", seq=position)
    if facts.get("tenant") != tenant:
        raise AuditTampered(f"entry {position} belongs to another tenant", seq=position)
    leaf = leaf_hash(body)
    if leaf.hex() != leaf_hex:
        raise AuditTampered(f"entry {position} was altered", seq=position)
    chain = chain_hash(prev_chain, leaf.hex())
    if chain != chain_hex:
        raise AuditTampered(f"entry {position} does not link to the one before", seq=position)
    return leaf, chain, facts


def check_roots(tree: MerkleTree, roots: dict[int, bytes]) -> None:
    """Every signed root must still be the root of the entries it covered."""
    for size in sorted(roots):
        if size > tree.size:
            raise AuditTampered(
                f"entries were removed: a signed checkpoint covers {size} "
                f"entries, the log holds {tree.size}",
                seq=tree.size,
            )
        if tree.root(size) != roots[size]:
            raise AuditTampered(
                f"the entries do not match the checkpoint of size {size}", seq=size - 1
            )


def verify_export(
    export: dict[str, Any],
    public_jwk: dict[str, Any],
    *,
    trusted: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Offline check of an export: every entry, chain link, checkpoint signature, Merkle root
    and consistency proof. Raises `AuditTampered` naming the first thing that fails.

    `trusted`: a checkpoint the verifier kept from before (`tessera audit checkpoint
    --output`). The export must extend it: a log cut back to an earlier checkpoint, or one
    whose history was rewritten and signed again, fails here even though it verifies alone."""
    if not isinstance(export, dict) or export.get("format") != EXPORT_FORMAT:
        raise AuditTampered("not a Tessera audit export")
    try:
        key = OKPKey.import_key({k: public_jwk[k] for k in ("kty", "crv", "x")})
    except (KeyError, ValueError, TypeError):
        raise AuditTampered("the public key is not an Ed25519 JWK") from None
    tenant = export.get("tenant")
    raw = export.get("entries", [])
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise AuditTampered("the export's entries are not a list of objects")
    leaves = check_entries(
        ((e.get("seq"), e.get("body"), e.get("leaf_hash"), e.get("chain_hash")) for e in raw),
        tenant,
    )
    checkpoints = export.get("checkpoints") or []
    if not checkpoints:
        raise AuditTampered("the export carries no signed checkpoint")
    tree = MerkleTree(leaves)
    roots: dict[int, bytes] = {}
    for cp in checkpoints:
        statement = decode_checkpoint(cp.get("signed", ""), key)
        size = statement.get("size")
        if statement.get("tenant") != tenant or not isinstance(size, int):
            raise AuditTampered("a checkpoint names another tenant or no size")
        roots[size] = bytes.fromhex(statement["root"])
    check_roots(tree, roots)
    head = max(roots)
    if head != tree.size:
        raise AuditTampered(
            f"{tree.size - head} entries after the last checkpoint are not covered by a signature",
            seq=head,
        )
    for proof in export.get("consistency", []):
        first, second = proof.get("first"), proof.get("second")
        if (
            first not in roots
            or second not in roots
            or not verify_consistency(
                first,
                second,
                roots[first],
                roots[second],
                [bytes.fromhex(p) for p in proof.get("proof", [])],
            )
        ):
            raise AuditTampered(f"checkpoint {second} is not consistent with checkpoint {first}")
    if trusted is not None:
        _check_extends(tree, trusted, key, tenant)
    return {
        "tenant": tenant,
        "entries": tree.size,
        "root": tree.root().hex(),
        "checkpoints": sorted(roots),
        "extends": trusted.get("size") if trusted is not None else None,
    }


def _check_extends(
    tree: MerkleTree, trusted: dict[str, Any], key: OKPKey, tenant: str | None
) -> None:
    if not isinstance(trusted, dict) or not isinstance(trusted.get("signed"), str):
        raise AuditTampered("the trusted checkpoint is not a Tessera checkpoint")
    statement = decode_checkpoint(trusted["signed"], key)
    size, root = statement.get("size"), statement.get("root")
    if statement.get("tenant") != tenant:
        raise AuditTampered("the trusted checkpoint belongs to another tenant")
    if not isinstance(size, int) or not isinstance(root, str):
        raise AuditTampered("the trusted checkpoint names no size or root")
    if size > tree.size:
        raise AuditTampered(
            f"entries were removed: the checkpoint you trust covers {size} entries, "
            f"the log holds {tree.size}",
            seq=tree.size,
        )
    if tree.root(size).hex() != root:
        raise AuditTampered(
            f"the log does not extend the checkpoint you trust: its first {size} entries "
            "were rewritten",
            seq=size - 1,
        )


def verify_inclusion_proof(proof: dict[str, Any]) -> bool:
    return verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["seq"],
        proof["size"],
        [bytes.fromhex(p) for p in proof["proof"]],
        bytes.fromhex(proof["root"]),
    )
