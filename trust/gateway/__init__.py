"""The gateway: every access to customer data goes through `Gateway.access`, which decides by
purpose, consent, policy and assurance, records the decision, and only then releases."""

from __future__ import annotations

from ._gateway import AccessRequest, AccessResult, AuthContext, Gateway, ReleasedItem
from ._recorders import (
    AuditAuthRecorder,
    AuditConsentObserver,
    AuditPaymentRecorder,
    AuditSecurityEvents,
    ConsentObservers,
    PaymentRecorders,
)
from ._reidentify import (
    MAX_REIDENTIFY_CHARS,
    MAX_REIDENTIFY_TOKENS,
    Form,
    Reidentified,
    Replacement,
)
from ._requests import RequestDesk, refused

__all__ = [
    "MAX_REIDENTIFY_CHARS",
    "MAX_REIDENTIFY_TOKENS",
    "AccessRequest",
    "AccessResult",
    "AuditAuthRecorder",
    "AuditConsentObserver",
    "AuditPaymentRecorder",
    "AuditSecurityEvents",
    "AuthContext",
    "ConsentObservers",
    "Form",
    "Gateway",
    "PaymentRecorders",
    "Reidentified",
    "ReleasedItem",
    "Replacement",
    "RequestDesk",
    "refused",
]
