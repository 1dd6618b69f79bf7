"""Searching the access log, as the DPO console does: "who accessed what, when, why, under
which policy", by subject, caller, caller kind, action, decision, policy and period, newest
first, a page at a time behind a cursor (the seq below which to read on).

The filters read the indexed columns; every entry shown is then checked where it lies (its
body hashes to its leaf, the leaf links from the entry before it, the link carries the
service's seal) and its columns are compared with its body, so an entry a database writer
added, rewrote or relabelled is refused (`AuditTampered`), never shown.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from tessera.storage import as_utc, table_of
from tessera.trust._errors import AuditTampered
from tessera.vault import InvalidValue

from ._tables import AuditEntryRow

if TYPE_CHECKING:
    from ._log import AuditLog, SubjectEntry

__all__ = ["ACCESS_KINDS", "OUTCOMES", "AccessQuery", "check_columns", "search_accesses"]

_ENTRIES = table_of(AuditEntryRow)
PAGE_LIMIT = 200
OUTCOMES = ("allow", "deny", "step_up")
_SCAN = 500
# The kinds of entry a search of accesses reads ("who accessed what, when, why"), and the
# facts of theirs kept in indexed columns, with each column's width.
ACCESS_KINDS = ("access", "dsr", "oversight")
_WIDTHS = {"caller": 80, "caller_kind": 16, "action": 32, "outcome": 16}


def search_columns(kind: str, facts: dict[str, Any]) -> dict[str, str | None]:
    """The indexed columns of an entry, from its facts (none for other kinds)."""
    if kind not in ACCESS_KINDS:
        return dict.fromkeys(_WIDTHS)
    return {
        c: (str(facts[c])[:width] if facts.get(c) is not None else None)
        for c, width in _WIDTHS.items()
    }  # rows read per round when a filter (the policy) is on the body alone


@dataclass(frozen=True, slots=True)
class AccessQuery:
    """What to look for; None is "any". `subjects` is the set a "who" resolved to (empty:
    nobody, so nothing is found)."""

    subjects: tuple[str, ...] | None = None
    caller: str | None = None
    caller_kind: str | None = None
    action: str | None = None
    outcome: str | None = None
    policy: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before: int | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise InvalidValue(f"unknown decision {self.outcome[:20]!r}")
        for moment in (self.since, self.until):
            if moment is not None and moment.tzinfo is None:
                raise InvalidValue("times must carry a time zone")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise InvalidValue("the period ends before it starts")
        if not 1 <= self.limit <= PAGE_LIMIT:
            raise InvalidValue(f"a page holds 1 to {PAGE_LIMIT} entries")
        if self.subjects is not None and len(self.subjects) > 50:
            raise InvalidValue("too many subjects in one search")
        for name in ("caller", "caller_kind", "action", "policy"):
            value = getattr(self, name)
            if value is not None and len(value) > 128:
                raise InvalidValue(f"{name} is at most 128 characters")


def search_accesses(
    log: AuditLog, tenant: str, query: AccessQuery
) -> tuple[list[SubjectEntry], int | None]:
    """One page, newest first, and the cursor of the next (older) page, None at the end."""
    from ._log import SubjectEntry

    statement = select(
        _ENTRIES.c.seq,
        _ENTRIES.c.recorded_at,
        _ENTRIES.c.kind,
        _ENTRIES.c.subject_id,
        _ENTRIES.c.caller,
        _ENTRIES.c.caller_kind,
        _ENTRIES.c.action,
        _ENTRIES.c.outcome,
        _ENTRIES.c.body,
        _ENTRIES.c.leaf_hash,
        _ENTRIES.c.chain_hash,
        _ENTRIES.c.mac,
    ).where(_ENTRIES.c.tenant_id == tenant, _ENTRIES.c.kind.in_(ACCESS_KINDS))
    if query.subjects is not None:
        if not query.subjects:
            return [], None
        statement = statement.where(_ENTRIES.c.subject_id.in_(query.subjects))
    for column, value in (
        (_ENTRIES.c.caller, query.caller),
        (_ENTRIES.c.caller_kind, query.caller_kind),
        (_ENTRIES.c.action, query.action),
        (_ENTRIES.c.outcome, query.outcome),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if query.since is not None or query.until is not None:
        bounds = _seq_bounds(log, tenant, query.since, query.until)
        if bounds is None:
            return [], None
        low, high = bounds
        # The time itself is checked on the rows read (below): a filter on it in SQL would
        # lead SQLite's planner to sort the period through the time index.
        statement = statement.where(_ENTRIES.c.seq >= low, _ENTRIES.c.seq <= high)
    statement = statement.order_by(_ENTRIES.c.seq.desc())
    batch = query.limit + 1 if query.policy is None else _SCAN
    found: list[Any] = []
    cursor = query.before
    while len(found) <= query.limit:
        page = statement if cursor is None else statement.where(_ENTRIES.c.seq < cursor)
        with log.db.read() as conn:
            rows = conn.execute(page.limit(batch)).all()
        found.extend(r for r in rows if _wanted(query, r))
        if len(rows) < batch:
            break
        cursor = int(rows[-1].seq)
    shown = found[: query.limit]
    log.check_shown(tenant, shown)
    for row in shown:
        check_columns(row)
    entries = [SubjectEntry(int(r.seq), as_utc(r.recorded_at), json.loads(r.body)) for r in shown]
    more = len(found) > query.limit
    return entries, (entries[-1].seq if more else None)


def _wanted(query: AccessQuery, row: Any) -> bool:
    """What SQL does not filter: the period (exactly) and the policy (from the body)."""
    if query.since is not None and as_utc(row.recorded_at) < query.since:
        return False
    if query.until is not None and as_utc(row.recorded_at) >= query.until:
        return False
    return query.policy is None or query.policy in _policies(row.body)


def _seq_bounds(
    log: AuditLog, tenant: str, since: dt.datetime | None, until: dt.datetime | None
) -> tuple[int, int] | None:
    """A period as a range of entries, from one step into the time index at each end: entries
    are appended in time order under the head's lock, so the period's entries lie between the
    first recorded at or after `since` and the last recorded before `until` (the time is still
    filtered). The page then walks the log's own key instead of sorting the whole period."""
    low, high = 0, 2**62
    with log.db.read() as conn:
        if since is not None:
            first = conn.execute(
                select(_ENTRIES.c.seq)
                .where(_ENTRIES.c.tenant_id == tenant, _ENTRIES.c.recorded_at >= since)
                .order_by(_ENTRIES.c.recorded_at, _ENTRIES.c.seq)
                .limit(1)
            ).scalar()
            if first is None:
                return None
            low = int(first)
        if until is not None:
            last = conn.execute(
                select(_ENTRIES.c.seq)
                .where(_ENTRIES.c.tenant_id == tenant, _ENTRIES.c.recorded_at < until)
                .order_by(_ENTRIES.c.recorded_at.desc(), _ENTRIES.c.seq.desc())
                .limit(1)
            ).scalar()
            if last is None:
                return None
            high = int(last)
    return (low, high) if low <= high else None


def _policies(body: str) -> list[str]:
    policies = json.loads(body).get("policies", [])
    return [str(p) for p in policies] if isinstance(policies, list) else []


def check_columns(row: Any) -> None:
    """An entry's indexed columns against its hashed body (a relabelled row is refused)."""
    body = json.loads(row.body)
    expected = search_columns(str(body.get("kind")), body)
    for column, said in expected.items():
        if getattr(row, column) != said:
            raise AuditTampered(
                f"entry {row.seq}'s {column} disagrees with what it recorded", seq=int(row.seq)
            )
    if row.kind != body.get("kind"):
        raise AuditTampered(f"entry {row.seq} is filed under another kind", seq=int(row.seq))
    if (row.subject_id or "") != (body.get("subject") or ""):
        raise AuditTampered(f"entry {row.seq} is filed under another subject", seq=int(row.seq))


def daily_outcomes(
    log: AuditLog, tenant: str, since: dt.datetime
) -> list[tuple[str, str, str, int]]:
    """Decisions per day, action and outcome since a moment, for the console's charts: a count
    over the indexed columns (integrity is the verification page's)."""
    day = func.date(_ENTRIES.c.recorded_at)
    statement = (
        select(day, _ENTRIES.c.action, _ENTRIES.c.outcome, func.count())
        .where(
            _ENTRIES.c.tenant_id == tenant,
            _ENTRIES.c.kind.in_(ACCESS_KINDS),
            _ENTRIES.c.recorded_at >= since,
            _ENTRIES.c.outcome.is_not(None),
        )
        .group_by(day, _ENTRIES.c.action, _ENTRIES.c.outcome)
        .order_by(day)
    )
    with log.db.read() as conn:
        rows = conn.execute(statement).all()
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]


def refusals_by_policy(log: AuditLog, tenant: str, since: dt.datetime) -> dict[str, int]:
    """Refused decisions since a moment, counted by the policy that refused them (or the
    default deny, when none matched)."""
    counts: dict[str, int] = {}
    after = -1
    while True:
        with log.db.read() as conn:
            rows = conn.execute(
                select(_ENTRIES.c.seq, _ENTRIES.c.body)
                .where(
                    _ENTRIES.c.tenant_id == tenant,
                    _ENTRIES.c.kind.in_(ACCESS_KINDS),
                    _ENTRIES.c.outcome == "deny",
                    _ENTRIES.c.recorded_at >= since,
                    _ENTRIES.c.seq > after,
                )
                .order_by(_ENTRIES.c.seq)
                .limit(5000)
            ).all()
        for row in rows:
            for policy in _policies(row.body) or ["default-deny"]:
                counts[policy] = counts.get(policy, 0) + 1
        if len(rows) < 5000:
            return counts
        after = int(rows[-1].seq)
