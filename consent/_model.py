"""The consent domain in its own words: purposes, legal bases, channels, events, decisions."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from tessera import Channel

__all__ = [
    "Channel",
    "ConsentDecision",
    "ConsentEvent",
    "EventKind",
    "EventRef",
    "LegalBasis",
    "Purpose",
]


class LegalBasis(enum.StrEnum):
    """GDPR Art. 6(1) (a) to (f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTEREST = "vital_interest"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTEREST = "legitimate_interest"


class EventKind(enum.StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    # An objection (Art. 21), including Global Privacy Control's "do not sell or share".
    OBJECTED = "objected"


@dataclass(frozen=True, slots=True)
class Purpose:
    """One purpose of processing, as the customer is told about it (a versioned notice)."""

    id: str
    legal_basis: LegalBasis
    names: dict[str, str]
    descriptions: dict[str, str]
    data_categories: tuple[str, ...]
    retention_days: int
    sale_or_sharing: bool = False
    consent_validity_days: int | None = None
    policy_url: str | None = None
    notice_version: int = 1
    # The newest version whose change was material: consents given before it need renewal.
    material_version: int = 1


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One entry of the append-only ledger, as recorded (and hash-chained) for a tenant."""

    tenant: str
    seq: int
    subject: str
    purpose: str
    kind: EventKind
    channel: Channel
    notice_version: int
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    expires_at: dt.datetime | None
    evidence: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    prev_hash: str = ""
    hash: str = ""
    mac: str | None = None  # the service's seal of `hash` (see `_chain.seal`); not hashed

    @property
    def id(self) -> str:
        return f"cev_{self.hash[:32]}"

    def body(self) -> dict[str, Any]:
        """What the chain hashes: every fact of the event, the seq included (reorder detection)."""
        return {
            "v": 1,
            "tenant": self.tenant,
            "seq": self.seq,
            "subject": self.subject,
            "purpose": self.purpose,
            "kind": self.kind.value,
            "channel": self.channel.value,
            "notice_version": self.notice_version,
            "evidence": self.evidence,
            "occurred_at": _iso(self.occurred_at),
            "recorded_at": _iso(self.recorded_at),
            "expires_at": _iso(self.expires_at) if self.expires_at else None,
            "idempotency_key": self.idempotency_key,
        }


@dataclass(frozen=True, slots=True)
class EventRef:
    """Enough of an event to cite it: its place and hash in the ledger, and what it said."""

    seq: int
    hash: str
    kind: EventKind
    channel: Channel
    notice_version: int
    occurred_at: dt.datetime
    expires_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """The answer to "may we use subject S's data for purpose P?", with what decided it."""

    allowed: bool
    purpose: str
    legal_basis: LegalBasis
    reason: str
    deciding_event: EventRef | None = None
    needs_renewal: bool = False


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
