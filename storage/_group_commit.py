"""Group commit: many writers, one transaction per group.

Writers hand in their items and wait. Whichever writer finds no write under way becomes the
leader and writes everything queued (up to `max_group`) in one call, then wakes the others.
Under load, a new leader waits up to `delay` seconds for as many items as the last group held,
so that groups stay large when writers are many and nobody waits when they are few.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError

__all__ = ["GroupCommit", "write_by_tenant"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(slots=True)
class _Slot(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        write: Callable[[list[T]], Sequence[R | BaseException]],
        *,
        max_group: int = 256,
        delay: float = 0.001,
    ) -> None:
        """`write(items)` stores a group and returns, per item, its result or its own error;
        an exception it raises fails the whole group."""
        self._write = write
        self.max_group = max_group
        self.delay = delay
        self._cv = threading.Condition()
        self._queue: list[_Slot[T, R]] = []
        self._writing = False
        self._last_group = 1

    def submit(self, items: Sequence[T]) -> list[R]:
        """Write `items` (in this order, in one or more groups); raise the first item's error."""
        mine = [_Slot[T, R](item) for item in items]
        if not mine:
            return []
        with self._cv:
            self._queue.extend(mine)
            self._cv.notify_all()
        self._drive(mine)
        for slot in mine:
            if slot.error is not None:
                raise slot.error
        return [slot.result for slot in mine]  # type: ignore[misc]

    def _drive(self, mine: list[_Slot[T, R]]) -> None:
        while True:
            with self._cv:
                while self._writing and not all(s.done for s in mine):
                    self._cv.wait()
                if all(s.done for s in mine):
                    return
                self._writing = True
                target = min(self._last_group, self.max_group)
                if len(self._queue) < target:
                    self._cv.wait_for(lambda t=target: len(self._queue) >= t, self.delay)
                group = self._queue[: self.max_group]
                self._queue = self._queue[self.max_group :]
                self._last_group = len(group)
            try:
                outcomes = self._write([s.item for s in group])
                for slot, outcome in zip(group, outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        slot.error = outcome
                    else:
                        slot.result = outcome
                    slot.done = True
            except BaseException as exc:  # the whole group failed: tell every waiter
                for slot in group:
                    if not slot.done:
                        slot.error, slot.done = exc, True
            finally:
                with self._cv:
                    self._writing = False
                    self._cv.notify_all()


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
