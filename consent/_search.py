"""Searching the consent log, as the DPO console does: by subject, purpose, channel, event kind
and period, newest first, a page at a time behind a cursor (the seq below which to read on).

Every event shown is checked where it lies: its seal (which a database writer cannot compute),
its hash over its stored body, and its indexed columns against that body. A row added,
rewritten or moved is refused (`ChainBroken`), never shown as an event of the ledger.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from tessera.storage import Database, table_of

from ._chain import link, seal, seal_matches
from ._errors import ChainBroken, InvalidEvent
from ._model import Channel, ConsentEvent, EventKind
from ._tables import ConsentEventRow

__all__ = ["ConsentQuery", "search_events"]

_EVENTS = table_of(ConsentEventRow)
PAGE_LIMIT = 200
_SUBJECTS_LIMIT = 50  # one identifier names a handful of subjects at most


@dataclass(frozen=True, slots=True)
class ConsentQuery:
    """What to look for; None is "any". `subjects` is the set an identifier or token resolved
    to (empty: nobody, so nothing is found)."""

    subjects: tuple[str, ...] | None = None
    purpose: str | None = None
    channel: str | None = None
    kind: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before: int | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in {k.value for k in EventKind}:
            raise InvalidEvent(f"unknown event kind {self.kind[:20]!r}")
        if self.channel is not None and self.channel not in {c.value for c in Channel}:
            raise InvalidEvent(f"unknown channel {self.channel[:20]!r}")
        for moment in (self.since, self.until):
            if moment is not None and moment.tzinfo is None:
                raise InvalidEvent("times must carry a time zone")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise InvalidEvent("the period ends before it starts")
        if not 1 <= self.limit <= PAGE_LIMIT:
            raise InvalidEvent(f"a page holds 1 to {PAGE_LIMIT} events")
        if self.subjects is not None and len(self.subjects) > _SUBJECTS_LIMIT:
            raise InvalidEvent("too many subjects in one search")


def search_events(
    db: Database, key: bytes, tenant: str, query: ConsentQuery
) -> tuple[list[ConsentEvent], int | None]:
    """One page, newest first, and the cursor of the next (older) page, None at the end."""
    from ._ledger import event_from_row

    if query.subjects is not None and not query.subjects:
        return [], None
    statement = select(_EVENTS).where(_EVENTS.c.tenant_id == tenant)
    if query.subjects is not None:
        statement = statement.where(_EVENTS.c.subject_id.in_(query.subjects))
    for column, value in (
        (_EVENTS.c.purpose_id, query.purpose),
        (_EVENTS.c.channel, query.channel),
        (_EVENTS.c.kind, query.kind),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if query.since is not None:
        statement = statement.where(_EVENTS.c.occurred_at >= query.since)
    if query.until is not None:
        statement = statement.where(_EVENTS.c.occurred_at < query.until)
    if query.before is not None:
        statement = statement.where(_EVENTS.c.seq < query.before)
    statement = statement.order_by(_EVENTS.c.seq.desc()).limit(query.limit + 1)
    with db.read() as conn:
        rows = conn.execute(statement).all()
    for row in rows[: query.limit]:
        check_row(key, tenant, row)
    events = [event_from_row(r) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    return events, (events[-1].seq if more else None)


def every_event(
    db: Database, key: bytes, tenant: str, query: ConsentQuery
) -> Iterator[ConsentEvent]:
    """Every event the query finds, newest first, a page per short read (for an export)."""
    cursor = query.before
    while True:
        page, cursor = search_events(db, key, tenant, _with(query, before=cursor, limit=PAGE_LIMIT))
        yield from page
        if cursor is None:
            return


def _with(query: ConsentQuery, **changes: Any) -> ConsentQuery:
    from dataclasses import replace

    return replace(query, **changes)


def check_row(key: bytes, tenant: str, row: Any) -> None:
    """One stored event checked in place: sealed by this service, its hash over its body, and
    its columns the body's."""
    if not seal_matches(seal(key, row.hash), row.mac):
        raise ChainBroken(
            f"event {row.seq} was not written by this service: its seal does not verify",
            seq=row.seq,
        )
    if link(row.prev_hash, row.body.encode("utf-8")) != row.hash:
        raise ChainBroken(
            f"event {row.seq} was altered: its hash does not match its content", seq=row.seq
        )
    body = json.loads(row.body)
    columns = (tenant, row.seq, row.subject_id, row.purpose_id, row.kind, row.channel)
    facts = (
        body["tenant"],
        body["seq"],
        body["subject"],
        body["purpose"],
        body["kind"],
        body["channel"],
    )
    if columns != facts:
        raise ChainBroken(
            f"event {row.seq}'s indexed columns disagree with its hashed content", seq=row.seq
        )


def daily_counts(
    db: Database, tenant: str, since: dt.datetime
) -> list[tuple[str, str, str, str, int]]:
    """Events per day, purpose, channel and kind since a moment, for the console's charts.
    A count over the indexed columns (the verification page is where integrity is shown)."""
    day = func.date(_EVENTS.c.occurred_at)
    statement = (
        select(day, _EVENTS.c.purpose_id, _EVENTS.c.channel, _EVENTS.c.kind, func.count())
        .where(_EVENTS.c.tenant_id == tenant, _EVENTS.c.occurred_at >= since)
        .group_by(day, _EVENTS.c.purpose_id, _EVENTS.c.channel, _EVENTS.c.kind)
        .order_by(day)
    )
    with db.read() as conn:
        rows = conn.execute(statement).all()
    return [(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows]
