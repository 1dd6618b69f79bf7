from __future__ import annotations

import threading

import pytest

from tessera.storage import GroupCommit


def test_items_come_back_in_order_with_their_own_errors() -> None:
    def write(items: list[int]) -> list[int | BaseException]:
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    commit: GroupCommit[int, int] = GroupCommit(write)
    assert commit.submit([0, 2, 4]) == [0, 20, 40]
    with pytest.raises(ValueError, match="odd 3"):
        commit.submit([2, 3])


def test_a_failed_write_fails_every_item_of_its_group() -> None:
    def write(items: list[int]) -> list[int]:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        GroupCommit(write).submit([1, 2])


def test_concurrent_writers_are_grouped_and_each_gets_its_own_result() -> None:
    groups: list[int] = []
    gate = threading.Event()

    def write(items: list[int]) -> list[int]:
        groups.append(len(items))
        gate.wait(0.005)  # a write takes a while: others queue meanwhile
        return [i + 1 for i in items]

    commit: GroupCommit[int, int] = GroupCommit(write)
    results: dict[int, list[int]] = {}

    def writer(n: int) -> None:
        results[n] = [commit.submit([n * 100 + i])[0] for i in range(20)]

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[n] == [n * 100 + i + 1 for i in range(20)] for n in range(8))
    assert sum(groups) == 160
    assert max(groups) > 1  # writers shared transactions


def test_writers_queued_beyond_one_group_are_led_by_one_of_them() -> None:
    """Groups smaller than the queue, multi-item submits split across groups, a failing
    group now and then: every writer gets its own answer and none is left waiting."""
    groups: list[list[int]] = []

    def write(items: list[int]) -> list[int]:
        groups.append(items)
        if len(groups) % 7 == 0:
            raise RuntimeError("blip")
        return [i * 2 for i in items]

    commit: GroupCommit[int, int] = GroupCommit(write, max_group=3)
    outcomes: dict[int, list[object]] = {}

    def writer(n: int) -> None:
        got: list[object] = []
        for i in range(25):
            items = [n * 1000 + i * 10, n * 1000 + i * 10 + 1]
            try:
                got.append(commit.submit(items) == [x * 2 for x in items])
            except RuntimeError:
                got.append("blip")
        outcomes[n] = got

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert all(len(outcomes[n]) == 25 for n in range(8))
    assert all(o in (True, "blip") for n in range(8) for o in outcomes[n])
    assert max(len(g) for g in groups) <= 3
    assert sum(len(g) for g in groups) == 8 * 25 * 2


def test_submit_each_hands_back_each_items_error_without_raising() -> None:
    def write(items: list[int]) -> list[int | BaseException]:
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    outcomes = GroupCommit(write).submit_each([2, 3, 4])
    assert outcomes[0] == 20 and outcomes[2] == 40
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "odd 3"


def test_submit_each_fails_every_item_when_the_group_fails() -> None:
    def write(items: list[int]) -> list[int]:
        raise RuntimeError("disk full")

    outcomes = GroupCommit(write).submit_each([1, 2])
    assert [str(o) for o in outcomes] == ["disk full", "disk full"]
