"""The hash chain, as pure functions: canonical encoding, linking, and verification.

hash(n) = SHA-256(hash(n-1) ‖ JCS(body(n))), with 32 zero bytes before the first event. The
body holds the event's sequence number, so an event moved elsewhere no longer links; a removed
event leaves a gap and a broken link; an edited one changes its hash.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import rfc8785

from ._errors import ChainBroken

__all__ = [
    "GENESIS",
    "SEAL_KEY",
    "ChainReport",
    "ChainRow",
    "canonical",
    "link",
    "seal",
    "seal_matches",
    "state_seal",
    "verify_chain",
]

# The name of the tenant's secret (held in the key store, behind the key provider) that seals
# events and the projection: a database writer can compute the hash chain, never a seal.
SEAL_KEY = "consent-seal"

GENESIS = "0" * 64


def canonical(body: dict[str, Any]) -> bytes:
    """RFC 8785 JSON canonicalization: one byte string for one meaning."""
    return rfc8785.dumps(body)


def seal(key: bytes, event_hash: str) -> str:
    """An event's seal: HMAC-SHA256 of its hash (which commits to every event before it)."""
    return hmac.new(key, bytes.fromhex(event_hash), hashlib.sha256).hexdigest()


def seal_matches(expected: str, given: str | None) -> bool:
    """Whether a stored seal is the one the service would write (constant time)."""
    return given is not None and hmac.compare_digest(expected, given)


def state_seal(key: bytes, *fields: object) -> str:
    """The seal of a projection row: its deciding event and every field "may we?" reads."""
    text = "\x1f".join("" if f is None else str(f) for f in fields)
    return hmac.new(key, b"tessera/consent-state/1\x1f" + text.encode(), hashlib.sha256).hexdigest()


def link(prev_hash: str, body_bytes: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + body_bytes).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainRow:
    seq: int
    prev_hash: str
    hash: str
    body: bytes


@dataclass(frozen=True, slots=True)
class ChainReport:
    events: int
    head: str


def verify_chain(
    rows: Iterable[ChainRow],
    *,
    expected_head: str | None = None,
    start_seq: int = 1,
    start_hash: str = GENESIS,
) -> ChainReport:
    """Check every link in order; raise `ChainBroken` naming the first event that fails."""
    expected_seq, previous = start_seq, start_hash
    count = 0
    for row in rows:
        if row.seq != expected_seq:
            raise ChainBroken(
                f"event {expected_seq} is missing or out of order (found {row.seq})",
                seq=expected_seq,
            )
        if row.prev_hash != previous:
            raise ChainBroken(f"event {row.seq} does not link to event {row.seq - 1}", seq=row.seq)
        if hashlib.sha256(bytes.fromhex(previous) + row.body).hexdigest() != row.hash:
            raise ChainBroken(
                f"event {row.seq} was altered: its hash does not match its content", seq=row.seq
            )
        previous = row.hash
        expected_seq += 1
        count += 1
    if expected_head is not None and previous != expected_head:
        raise ChainBroken(
            f"the chain ends at event {expected_seq - 1}, not at the recorded head "
            "(events were removed from the end)",
            seq=expected_seq,
        )
    return ChainReport(count, previous)
