"""The recorders that put what other packages decide into the audit log: consent events (in the
ledger's own transaction), risk decisions and step-ups, SCA decisions and money movements.

The lower packages declare the observer and recorder protocols; the composition root wires these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tessera.consent import ConsentEvent
from tessera.trust.audit import AuditLog, AuditRecord

__all__ = [
    "AuditAuthRecorder",
    "AuditConsentObserver",
    "AuditPaymentRecorder",
    "AuditSecurityEvents",
    "ConsentObservers",
    "PaymentRecorders",
]


class AuditConsentObserver:
    """Puts every consent event into the audit log too (wired by the composition root)."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def consent_recorded(self, conn: Any, tenant: str, events: list[ConsentEvent]) -> None:
        self.audit.append_in(
            conn,
            tenant,
            [
                AuditRecord(
                    tenant,
                    "consent",
                    {
                        "event": {
                            "seq": e.seq,
                            "hash": e.hash,
                            "purpose": e.purpose,
                            "kind": e.kind.value,
                            "channel": e.channel.value,
                        }
                    },
                    subject=e.subject,
                    request_id=f"consent:{e.hash}",
                )
                for e in events
            ],
        )


class AuditSecurityEvents:
    """Security events into the tenant's audit log, written at once (not grouped): the change
    waits for its record."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def security_event(
        self, tenant: str, event: str, facts: Mapping[str, Any], *, actor: str
    ) -> None:
        self.audit.record(
            [AuditRecord(tenant, "security", {"event": event, "actor": actor, **facts})]
        )


class AuditAuthRecorder:
    """Puts risk decisions and step-up outcomes into the audit log (no signal values)."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def auth_recorded(self, tenant: str, subject: str, facts: dict[str, Any]) -> None:
        self.audit.record([AuditRecord(tenant, "auth", facts, subject=subject)])

    def auth_recorded_in(self, conn: Any, tenant: str, subject: str, facts: dict[str, Any]) -> None:
        self.audit.append_in(conn, tenant, [AuditRecord(tenant, "auth", facts, subject=subject)])


class AuditPaymentRecorder:
    """Puts SCA decisions and money movements into the audit log (card tokens, never PANs)."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def payment_recorded(self, tenant: str, subject: str, facts: dict[str, Any]) -> None:
        self.audit.record([AuditRecord(tenant, "payment", facts, subject=subject)])


class ConsentObservers:
    """Several ledger observers, in order, in the transaction that records the events: the
    audit trail, then what must follow a choice (cards on file go when their consent does)."""

    def __init__(self, *observers: Any) -> None:
        self.observers = observers

    def consent_recorded(self, conn: Any, tenant: str, events: list[ConsentEvent]) -> None:
        for observer in self.observers:
            observer.consent_recorded(conn, tenant, events)


class PaymentRecorders:
    """Several recorders in order: the audit trail first (if it fails, nothing is charged and
    nothing is announced), then the webhooks."""

    def __init__(self, *recorders: Any) -> None:
        self.recorders = recorders

    def payment_recorded(self, tenant: str, subject: str, facts: dict[str, Any]) -> None:
        for recorder in self.recorders:
            recorder.payment_recorded(tenant, subject, facts)
