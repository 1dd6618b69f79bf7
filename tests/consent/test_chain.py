"""The chain as pure functions: every edit, removal or reorder is found and named."""

from __future__ import annotations

import dataclasses

import pytest

from tessera.consent import GENESIS, ChainBroken, ChainRow, canonical, link, verify_chain


def chain(n: int) -> list[ChainRow]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        body = canonical({"seq": seq, "kind": "given", "subject": f"s{seq}"})
        digest = link(prev, body)
        rows.append(ChainRow(seq, prev, digest, body))
        prev = digest
    return rows


def test_canonical_encoding_ignores_key_order_and_spacing() -> None:
    assert canonical({"b": 1, "a": [1, "é"]}) == canonical({"a": [1, "é"], "b": 1})
    assert canonical({"a": 1.0}) == b'{"a":1}'


def test_an_intact_chain_verifies_to_its_head() -> None:
    rows = chain(50)
    report = verify_chain(rows, expected_head=rows[-1].hash)
    assert (report.events, report.head) == (50, rows[-1].hash)


def test_an_empty_chain_verifies() -> None:
    assert verify_chain([], expected_head=GENESIS).events == 0


def test_an_edited_event_is_named() -> None:
    rows = chain(10)
    rows[4] = dataclasses.replace(rows[4], body=rows[4].body.replace(b"given", b"refus"))
    with pytest.raises(ChainBroken, match="event 5 was altered") as err:
        verify_chain(rows)
    assert err.value.seq == 5


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    rows = chain(10)
    body = rows[4].body.replace(b"given", b"refus")
    rows[4] = dataclasses.replace(rows[4], body=body, hash=link(rows[4].prev_hash, body))
    with pytest.raises(ChainBroken, match="event 6 does not link"):
        verify_chain(rows)


def test_a_removed_event_is_named() -> None:
    rows = chain(10)
    del rows[6]
    with pytest.raises(ChainBroken, match="event 7 is missing") as err:
        verify_chain(rows)
    assert err.value.seq == 7


def test_reordered_events_are_found() -> None:
    rows = chain(10)
    rows[3], rows[4] = rows[4], rows[3]
    with pytest.raises(ChainBroken, match="event 4"):
        verify_chain(rows)


def test_renumbered_events_are_found() -> None:
    rows = chain(10)
    rows[3], rows[4] = (dataclasses.replace(rows[4], seq=4), dataclasses.replace(rows[3], seq=5))
    with pytest.raises(ChainBroken, match="event 4 does not link"):
        verify_chain(rows)


def test_events_cut_from_the_end_are_found_by_the_head() -> None:
    rows = chain(10)
    with pytest.raises(ChainBroken, match="removed from the end"):
        verify_chain(rows[:8], expected_head=rows[-1].hash)
