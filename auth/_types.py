"""The authenticator's value types and settings: what it is given and what it answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tessera import Assurance
from tessera.vault import DataCategory

from ._risk import DEFAULT_THRESHOLDS, RiskAction, RiskDecision, Thresholds

__all__ = [
    "STRONG_METHODS",
    "VOICE_PIN_DIGITS",
    "Assessment",
    "AuthRecorder",
    "AuthSettings",
    "Challenge",
    "DecisionRecord",
    "DeviceProof",
    "FactorInfo",
    "IssuedSession",
    "SessionInfo",
    "StrongAuthReport",
    "TotpEnrolment",
    "TransactionAuth",
    "VoicePossession",
]


class AuthRecorder(Protocol):
    """Where decisions and step-up outcomes are answered for (the audit trail, wired by trust)."""

    def auth_recorded(self, tenant: str, subject: str, facts: dict[str, Any]) -> None: ...

    def auth_recorded_in(self, conn: Any, tenant: str, subject: str, facts: dict[str, Any]) -> None:
        """The same, inside the caller's transaction: the decision and its record are
        written together, or neither."""
        ...


_OTP_CHANNELS = {"sms": DataCategory.PHONE, "messaging": DataCategory.PHONE, "email": None}
_FACTOR_CEILING = {
    "totp": Assurance.SUBSTANTIAL,
    "otp": Assurance.SUBSTANTIAL,
    "app": Assurance.SUBSTANTIAL,
    "voice_pin": Assurance.SUBSTANTIAL,
}
_SCOPES = frozenset({"account", "payment"})


@dataclass(frozen=True, slots=True)
class AuthSettings:
    rp_id: str = "localhost"
    rp_name: str = "Tessera"
    origins: tuple[str, ...] = ("http://localhost:8000",)
    issuer: str = "Tessera"
    session_idle: dt.timedelta = dt.timedelta(minutes=30)
    payment_idle: dt.timedelta = dt.timedelta(minutes=5)  # PSD2 RTS Art. 4(3)(d)
    session_max: dt.timedelta = dt.timedelta(hours=12)
    max_failures: int = 5  # PSD2 RTS Art. 4(3)(b)
    lock_for: dt.timedelta = dt.timedelta(minutes=30)
    challenge_ttl: dt.timedelta = dt.timedelta(minutes=5)
    challenge_attempts: int = 3
    decision_ttl: dt.timedelta = dt.timedelta(minutes=10)
    enrol_freshness: dt.timedelta = dt.timedelta(minutes=10)
    retention: dt.timedelta = dt.timedelta(days=180)
    thresholds: Mapping[RiskAction, Thresholds] = field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS)
    )
    # Per tenant, whole tables (build them with `thresholds_table`): a bank's contact centre
    # may step up payments sooner than a retailer's sharing the same deployment.
    tenant_thresholds: Mapping[str, Mapping[RiskAction, Thresholds]] = field(default_factory=dict)

    def thresholds_for(self, tenant: str) -> Mapping[RiskAction, Thresholds]:
        return self.tenant_thresholds.get(tenant, self.thresholds)


@dataclass(frozen=True, slots=True)
class DeviceProof:
    """The app's device-bound key signed a nonce Tessera issued (`device_nonce`)."""

    key_id: str
    nonce_id: str
    signature: str  # base64url


@dataclass(frozen=True, slots=True)
class IssuedSession:
    id: str = field(repr=False)
    subject: str
    assurance: Assurance
    scope: str
    expires_at: dt.datetime
    idle_timeout_s: int


@dataclass(frozen=True, slots=True)
class SessionInfo:
    subject: str
    assurance: Assurance
    scope: str
    factors: tuple[str, ...]
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    strong_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Assessment:
    decision_id: str
    decision: RiskDecision
    score: float
    explanation: str
    contributions: dict[str, float]
    session: IssuedSession | None = None
    factors: tuple[str, ...] = ()  # what the customer can step up with
    # After a denial: where the customer can still go ("agent_checks": an agent's stronger
    # checks, when the only factors they hold travel over the channel under attack).
    next_step: str | None = None


VOICE_PIN_DIGITS = 6


@dataclass(frozen=True, slots=True)
class VoicePossession:
    """What proves the caller holds the voice channel: their registered line as the telephony
    layer saw it (number, attestation, the operator's SIM-swap answer), or the id of a linked
    voice assistant's device key, which then signs the challenge's approval message."""

    caller_number: str | None = None
    attestation: str | None = None
    sim_swapped: bool | None = None
    device_key_id: str | None = None


# How a trusted identity provider may say it authenticated a customer strongly: each is two
# factors or a phishing-resistant one (a password alone is not on the list).
STRONG_METHODS = ("passkey", "totp", "otp", "app", "smartcard", "federated")


@dataclass(frozen=True, slots=True)
class StrongAuthReport:
    """A reported strong authentication, learnt: its record's id and how many strong sessions
    the customer's profile now holds."""

    id: str
    subject: str
    sessions: int


@dataclass(frozen=True, slots=True)
class TransactionAuth:
    """A transaction authenticated by its payer, bound to what it was (dynamic linking)."""

    subject: str
    factor: str
    assurance: Assurance
    # The SCA elements it proved (PSD2 Art. 4(30)), and how possession was shown by voice.
    elements: tuple[str, ...] = ()
    possession: str | None = None


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    kind: str
    expires_at: dt.datetime
    target: Assurance
    options: dict[str, Any] | None = None  # WebAuthn options for the browser
    sent_to: str | None = None  # masked destination of a one-time code


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    factor_id: str
    uri: str = field(repr=False)
    secret: str = field(repr=False)
    qr_svg: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class FactorInfo:
    id: str
    kind: str
    label: str
    status: str
    channel: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    id: str
    tenant: str
    subject: str
    action: str
    channel: str
    scope: str
    score: float
    decision: str
    status: str
    explanation: str
    contributions: dict[str, float]
    created_at: dt.datetime
    resolved_at: dt.datetime | None
