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

__all__ = ["OUTCOMES", "AccessQuery", "search_accesses"]

_ENTRIES = table_of(AuditEntryRow)
PAGE_LIMIT = 200
OUTCOMES = ("allow", "deny", "step_up")
_SCAN = 500  # rows read per round when a filter (the policy) is on the body alone


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
    from ._log import ACCESS_KINDS, SubjectEntry

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
    if query.since is not None:
        statement = statement.where(_ENTRIES.c.recorded_at >= query.since)
    if query.until is not None:
        statement = statement.where(_ENTRIES.c.recorded_at < query.until)
    statement = statement.order_by(_ENTRIES.c.seq.desc())
    batch = query.limit + 1 if query.policy is None else _SCAN
    found: list[Any] = []
    cursor = query.before
    while len(found) <= query.limit:
        page = statement if cursor is None else statement.where(_ENTRIES.c.seq < cursor)
        with log.db.read() as conn:
            rows = conn.execute(page.limit(batch)).all()
        found.extend(r for r in rows if query.policy is None or query.policy in _policies(r.body))
        if len(rows) < batch:
            break
        cursor = int(rows[-1].seq)
    shown = found[: query.limit]
    log.check_shown(tenant, shown)
    for row in shown:
        _check_columns(row)
    entries = [SubjectEntry(int(r.seq), as_utc(r.recorded_at), json.loads(r.body)) for r in shown]
    more = len(found) > query.limit
    return entries, (entries[-1].seq if more else None)


def _policies(body: str) -> list[str]:
    policies = json.loads(body).get("policies", [])
    return [str(p) for p in policies] if isinstance(policies, list) else []


def _check_columns(row: Any) -> None:
    body = json.loads(row.body)
    for column in ("caller", "caller_kind", "action", "outcome"):
        stored = getattr(row, column)
        said = body.get(column)
        if stored is not None and (said is None or str(said)[: len(stored)] != stored):
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
    from ._log import ACCESS_KINDS

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
    from ._log import ACCESS_KINDS

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
