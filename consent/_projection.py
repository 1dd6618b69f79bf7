"""The projection and the decision: per subject and purpose, the event that happened last,
sealed so that a row rewritten in the database is noticed; and "may we?" decided on it (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from tessera.storage import (
    as_utc,
)

from ._chain import (
    state_seal,
)
from ._model import (
    Channel,
    ConsentDecision,
    ConsentEvent,
    EventKind,
    EventRef,
    LegalBasis,
    Purpose,
)

__all__ = ["decide", "latest_per_subject_and_purpose", "ref_of", "sealed_fields", "state_row"]


def latest_per_subject_and_purpose(
    events: Iterable[ConsentEvent],
) -> dict[tuple[str, str], ConsentEvent]:
    """The event that happened last per subject and purpose (ledger order on ties)."""
    latest: dict[tuple[str, str], ConsentEvent] = {}
    for e in events:
        current = latest.get((e.subject, e.purpose))
        if current is None or (e.occurred_at, e.seq) > (current.occurred_at, current.seq):
            latest[(e.subject, e.purpose)] = e
    return latest


def state_row(tenant: str, e: ConsentEvent, key: bytes) -> dict[str, Any]:
    row = dict(
        tenant_id=tenant,
        subject_id=e.subject,
        purpose_id=e.purpose,
        seq=e.seq,
        event_hash=e.hash,
        kind=e.kind.value,
        channel=e.channel.value,
        notice_version=e.notice_version,
        occurred_at=e.occurred_at,
        expires_at=e.expires_at,
    )
    row["mac"] = state_seal(key, tenant, e.subject, e.purpose, *sealed_fields(row))
    return row


def sealed_fields(row: Any) -> tuple[object, ...]:
    """What a projection row's seal covers, read the same way from a dict or a stored row."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    occurred, expires = get("occurred_at"), get("expires_at")
    return (
        get("seq"),
        get("event_hash"),
        get("kind"),
        get("channel"),
        get("notice_version"),
        as_utc(occurred).isoformat() if occurred else None,
        as_utc(expires).isoformat() if expires else None,
    )


def ref_of(row: Any) -> EventRef:
    return EventRef(
        row.seq,
        row.event_hash,
        EventKind(row.kind),
        Channel(row.channel),
        row.notice_version,
        row.occurred_at,
        row.expires_at,
    )


def decide(
    purpose: Purpose, latest: EventRef | None, *, at: dt.datetime, restricted: bool = False
) -> ConsentDecision:
    """The rule, as a pure function of the purpose, the latest event and the time."""
    basis = purpose.legal_basis

    def answer(allowed: bool, reason: str, *, renewal: bool = False) -> ConsentDecision:
        return ConsentDecision(allowed, purpose.id, basis, reason, latest, renewal)

    if restricted:
        return answer(False, "processing is restricted at the subject's request (Art. 18)")
    if basis is LegalBasis.CONSENT:
        if latest is None:
            return answer(False, "no consent recorded")
        if latest.kind is not EventKind.GIVEN:
            return answer(False, f"consent {latest.kind.value} on {latest.channel.value}")
        if latest.expires_at is not None and latest.expires_at <= at:
            return answer(False, "consent expired")
        if latest.notice_version < purpose.material_version:
            return answer(
                False,
                "the notice changed materially since consent was given: renewal needed",
                renewal=True,
            )
        return answer(True, f"consent given on {latest.channel.value}")
    if (
        latest is not None
        and latest.kind is EventKind.OBJECTED
        and basis in (LegalBasis.LEGITIMATE_INTEREST, LegalBasis.PUBLIC_TASK)
    ):
        return answer(False, f"the subject objected on {latest.channel.value} (Art. 21)")
    return answer(True, f"legal basis: {basis.value.replace('_', ' ')}")
