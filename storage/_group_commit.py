"""Group commit: many writers, one transaction per group.

Writers hand in their items and wait. Whichever writer finds no write under way becomes the
leader and writes everything queued (up to `max_group`) in one call, then wakes the others.
Under load, a new leader waits up to `delay` seconds for as many items as the last group held,
so that groups stay large when writers are many and nobody waits when they are few.

Each writer waits on its own event and only the leader waits for the queue to grow: with one
shared condition, every new item and every finished group woke every waiting thread, and
under the GIL those wake-ups cost more than the writes.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.exc import IntegrityError, OperationalError

from tessera.metrics import GROUP_COMMIT_SIZE

__all__ = ["GroupCommit", "write_by_tenant"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(slots=True)
class _Slot(Generic[T, R]):
    item: T
    woken: threading.Event = field(repr=False)
    done: bool = False
    result: R | None = None
    error: BaseException | None = None

    def outcome(self) -> R | BaseException:
        if self.error is not None:
            return self.error
        return cast("R", self.result)  # set by the group that wrote it


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        write: Callable[[list[T]], Sequence[R | BaseException]],
        *,
        max_group: int = 256,
        delay: float = 0.001,
        name: str = "",
    ) -> None:
        """`write(items)` stores a group and returns, per item, its result or its own error;
        an exception it raises fails the whole group."""
        self._write = write
        self._sizes = GROUP_COMMIT_SIZE.labels(name or "unnamed")
        self.max_group = max_group
        self.delay = delay
        self._lock = threading.Lock()
        self._grown = threading.Condition(self._lock)  # only a leader gathering waits here
        self._queue: list[_Slot[T, R]] = []
        self._writing = False
        self._last_group = 1

    def _holds(self, size: int) -> bool:
        return len(self._queue) >= size

    def submit(self, items: Sequence[T]) -> list[R]:
        """Write `items` (in this order, in one or more groups); raise the first item's error."""
        outcomes = self.submit_each(items)
        results: list[R] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            results.append(outcome)
        return results

    def submit_each(self, items: Sequence[T]) -> list[R | BaseException]:
        """Write `items` like `submit`; each item's result, or its own error, in their order."""
        woken = threading.Event()
        mine = [_Slot[T, R](item, woken) for item in items]
        if not mine:
            return []
        with self._lock:
            self._queue.extend(mine)
            self._grown.notify()
        self._drive(mine, woken)
        return [slot.outcome() for slot in mine]

    def _drive(self, mine: list[_Slot[T, R]], woken: threading.Event) -> None:
        while True:
            with self._lock:
                if all(s.done for s in mine):
                    return
                if self._writing:
                    # Cleared under the lock that every set() is done under: no lost wake-up.
                    woken.clear()
                    group = None
                else:
                    self._writing = True
                    target = min(self._last_group, self.max_group)
                    if len(self._queue) < target:
                        self._grown.wait_for(functools.partial(self._holds, target), self.delay)
                    group = self._queue[: self.max_group]
                    self._queue = self._queue[self.max_group :]
                    self._last_group = len(group)
            if group is None:
                woken.wait()
                continue
            self._lead(group)

    def _lead(self, group: list[_Slot[T, R]]) -> None:
        self._sizes.observe(len(group))
        try:
            paired = list(zip(group, self._write([s.item for s in group]), strict=True))
        except BaseException as exc:  # the whole group failed: tell every waiter
            paired = [(slot, exc) for slot in group]
        with self._lock:
            for slot, outcome in paired:
                if isinstance(outcome, BaseException):
                    slot.error = outcome
                else:
                    slot.result = outcome
                slot.done = True
                slot.woken.set()
            self._writing = False
            if self._queue:  # someone whose items wait must lead the next group
                self._queue[0].woken.set()


def write_by_tenant(
    db: Any,
    group: Sequence[T],
    append: Callable[[Any, str, list[T]], dict[int, R | BaseException]],
    *,
    tenant_of: Callable[[T], str],
    retries: int = 8,
) -> list[R | BaseException]:
    """Write a group in one transaction, tenant by tenant (sorted: one lock order for all),
    retrying when another process took a tenant's head first. `append(conn, tenant, items)`
    returns each item's outcome keyed by `id(item)`."""
    for attempt in range(retries):
        try:
            outcomes: dict[int, R | BaseException] = {}
            with db.begin() as conn:
                for tenant in sorted({tenant_of(item) for item in group}):
                    outcomes.update(
                        append(conn, tenant, [i for i in group if tenant_of(i) == tenant])
                    )
            return [outcomes[id(item)] for item in group]
        except (IntegrityError, OperationalError):
            if attempt == retries - 1:
                raise
    raise AssertionError("unreachable")
