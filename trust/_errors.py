"""Every error of the trust package, under one base: `TrustError`.

One module so that the problem mapping, the CLI and integrators catch them from one place; the
rooms (identity, audit, gateway, redaction, webhooks) raise them.
"""

from __future__ import annotations

from tessera import TesseraError

__all__ = [
    "AccessDenied",
    "AuditTampered",
    "AuditUnavailable",
    "AuthContextRequired",
    "AuthenticationRequired",
    "BrokerUnavailable",
    "ClusterUnavailable",
    "DuplicateWebhook",
    "IdempotencyConflict",
    "InvalidWebhookSignature",
    "MalformedTranscript",
    "NoSuchProof",
    "PermissionDenied",
    "RateLimited",
    "RedactionError",
    "ReplayedRequest",
    "RequestTooLarge",
    "StaffExists",
    "StepUpRequired",
    "TextTooLarge",
    "TrustError",
    "UnknownLanguage",
    "UnknownStaff",
    "UnknownTenant",
    "UnknownWebhook",
]


class TrustError(TesseraError):
    """Base of the errors of the gateway, the audit log, service identity, redaction and
    webhooks."""


# --- service identity -------------------------------------------------------------------------


class AuthenticationRequired(TrustError):
    """No API key, or one that is unknown, malformed or revoked."""


class PermissionDenied(TrustError):
    """The caller is authenticated but its key lacks the scope for this action."""

    def __init__(self, detail: str, *, scope: str) -> None:
        super().__init__(detail)
        self.scope = scope


class UnknownTenant(TrustError):
    """No tenant with this id."""


class UnknownStaff(TrustError):
    """No member of staff with this id or login in this tenant (or one disabled)."""


class StaffExists(TrustError):
    """A member of staff of this tenant already signs in with this login."""


class RateLimited(TrustError):
    """Too many requests from this caller; `retry_after` says when to come back (seconds)."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class RequestTooLarge(TrustError):
    """The request body exceeds the documented limit."""


# --- audit log --------------------------------------------------------------------------------


class AuditTampered(TrustError):
    """The log (or an export of it) does not verify; names the first entry that fails."""

    def __init__(self, detail: str, *, seq: int | None = None) -> None:
        super().__init__(detail)
        self.seq = seq


class NoSuchProof(TrustError):
    """A proof asked of a position or size the log does not hold: the client's mistake, not
    tampering (answered 404, never `audit-integrity`)."""


class AuditUnavailable(TrustError):
    """The audit record could not be written: nothing is released (fail closed)."""


class ReplayedRequest(TrustError):
    """This request id was already used by this tenant: a replay is refused."""


# --- gateway ----------------------------------------------------------------------------------


class AuthContextRequired(TrustError):
    """The action needs the end user's authentication context, and none was given."""


# --- redaction --------------------------------------------------------------------------------


class RedactionError(TrustError):
    """A text or a conversation that can't be redacted as asked."""


class UnknownLanguage(RedactionError):
    """Only French (fr) and English (en) are redacted."""


class TextTooLarge(RedactionError):
    """Above the documented limit for one text: stream it, or redact the file with the CLI."""


class BrokerUnavailable(TrustError):
    """The message broker (NATS) can't be reached, or refused the streams."""


class ClusterUnavailable(TrustError):
    """A bulk job's Dask cluster can't be reached, or its address would send personal data
    in clear over a network."""


class MalformedTranscript(RedactionError):
    """A transcript file that is not what its suffix says."""


# --- webhooks ---------------------------------------------------------------------------------


class IdempotencyConflict(TrustError):
    """An idempotency key was used before for another request."""


class UnknownWebhook(TrustError):
    """No such webhook endpoint or delivery for this tenant."""


class InvalidWebhookSignature(TrustError):
    """A delivery whose signature is missing, wrong, or outside the replay window."""


class DuplicateWebhook(TrustError):
    """A delivery of an event already received (a retry after a lost answer)."""


class AccessDenied(TrustError):
    """No policy allows this caller to do this (the refusal is recorded in the audit log)."""

    def __init__(self, detail: str, *, policy_ids: tuple[str, ...], audit_seq: int | None) -> None:
        super().__init__(detail)
        self.policy_ids = list(policy_ids)
        self.audit_seq = audit_seq


class StepUpRequired(AccessDenied):
    """Allowed once the end user's session is raised to `required_assurance`."""

    def __init__(
        self,
        detail: str,
        *,
        policy_ids: tuple[str, ...],
        audit_seq: int | None,
        required_assurance: str,
    ) -> None:
        super().__init__(detail, policy_ids=policy_ids, audit_seq=audit_seq)
        self.required_assurance = required_assurance


# --- portal -----------------------------------------------------------------------------------


class CsrfRejected(TrustError):
    """A form arrived without the token of the session (or pre-session) it was made for."""


class InvalidPortalLink(TrustError):
    """A portal link that is malformed, forged, or names nothing of this tenant."""


class PortalLinkExpired(TrustError):
    """A portal link past its short life: ask for a new one."""


class PortalLinkUsed(TrustError):
    """A portal link already opened once."""
