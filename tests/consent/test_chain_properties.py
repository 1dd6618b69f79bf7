"""Properties of the consent ledger's chain over random ledgers: any single tampering (an
event changed, removed, inserted or moved, or the end cut off) fails verification against the
trusted head, and a writer who recomputes every link still cannot forge the seals."""

from __future__ import annotations

import secrets

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.consent import GENESIS, ChainBroken, ChainRow, canonical, link, verify_chain
from tessera.consent._chain import seal, seal_matches

KEY = secrets.token_bytes(32)
EVENT = st.fixed_dictionaries(
    {
        "subject": st.text(min_size=1, max_size=8),
        "purpose": st.sampled_from(["marketing_sms", "analytics", "fraud_prevention"]),
        "kind": st.sampled_from(["given", "withdrawn", "objected"]),
        "channel": st.sampled_from(["web", "chat", "voice_ivr", "sms"]),
    }
)


def chained(events: list[dict[str, str]]) -> list[tuple[ChainRow, str]]:
    """Rows as the ledger links them (the body carries its sequence number), each sealed."""
    rows, previous = [], GENESIS
    for seq, event in enumerate(events, start=1):
        body = canonical({"seq": seq, **event})
        digest = link(previous, body)
        rows.append((ChainRow(seq, previous, digest, body), seal(KEY, digest)))
        previous = digest
    return rows


def verifies(rows: list[tuple[ChainRow, str]], trusted_head: str) -> bool:
    try:
        verify_chain([row for row, _ in rows], expected_head=trusted_head)
    except ChainBroken:
        return False
    return all(seal_matches(seal(KEY, row.hash), mac) for row, mac in rows)


@st.composite
def tampered(draw: st.DrawFn) -> tuple[list[dict[str, str]], list[dict[str, str]], bool]:
    events = draw(st.lists(EVENT, min_size=2, max_size=20))
    i = draw(st.integers(0, len(events) - 1))
    how = draw(st.sampled_from(["change", "remove", "insert", "swap", "cut"]))
    changed = list(events)
    if how == "change":
        changed[i] = draw(EVENT.filter(lambda e: e != events[i]))
    elif how == "remove":
        del changed[i]
    elif how == "insert":
        changed.insert(i, draw(EVENT))
    elif how == "swap":
        j = draw(st.integers(0, len(events) - 1).filter(lambda j: events[j] != events[i]))
        changed[i], changed[j] = changed[j], changed[i]
    else:
        changed = changed[:i]
    return events, changed, draw(st.booleans())


@settings(max_examples=200, deadline=None)
@given(tampered())
def test_any_single_tampering_fails_against_the_trusted_head(
    case: tuple[list[dict[str, str]], list[dict[str, str]], bool],
) -> None:
    events, changed, relinked = case
    genuine = chained(events)
    head = genuine[-1][0].hash
    assert verifies(genuine, head)
    if relinked:
        # The writer recomputes every link (the chain is plain SHA-256) and keeps the seals of
        # the rows it replaced: it cannot compute new ones without the key provider's key.
        forged = [
            (row, genuine[n][1] if n < len(genuine) else "00" * 32)
            for n, (row, _) in enumerate(chained(changed))
        ]
    else:
        # Or it edits rows in place and leaves the links alone.
        forged = [(r, m) for r, m in genuine if r.seq <= len(changed)]
        forged = [
            (ChainRow(r.seq, r.prev_hash, r.hash, canonical({"seq": r.seq, **changed[n]})), m)
            for n, (r, m) in enumerate(forged)
        ]
    assert not verifies(forged, head)
