"""Invisible strong authentication: risk scoring over device, network and habit signals, and
a second factor (TOTP, passkey, the app's approval, a one-time code; by voice a PIN with the
line's or the assistant's possession) only when the risk calls for it, and never one that
travels over the channel the risk is about.

Public face: `Authenticator` (assess, step-up, sessions, enrolment, strong authentications an
identity provider reports), the pure risk engine (`assess`, `Profile`, `Population`,
`Signals`), signal extraction (`Observation`), the `Notifier` interface with its local
`Outbox`, the `AuthRecorder` protocol, and one error hierarchy under `AuthError`.
"""

from __future__ import annotations

from ._authenticator import Authenticator
from ._errors import (
    AccountLocked,
    AuthError,
    ChallengeExpired,
    FactorNotEnrolled,
    FactorWithheld,
    InvalidSignal,
    InvalidThresholds,
    ReplayedCode,
    SessionExpired,
    StepUpFailed,
    StrongAuthRequired,
    UnknownChallenge,
    UnknownDecision,
    UnknownSession,
)
from ._notify import Notifier, Outbox, OutboxMessage
from ._risk import (
    DEFAULT_THRESHOLDS,
    FEATURES,
    Population,
    Profile,
    RiskAction,
    RiskAssessment,
    RiskDecision,
    Signals,
    Thresholds,
    assess,
    explain,
    thresholds_table,
)
from ._signals import NetworkIntel, Observation, extract
from ._types import (
    STRONG_METHODS,
    VOICE_PIN_DIGITS,
    Assessment,
    AuthRecorder,
    AuthSettings,
    Challenge,
    DecisionRecord,
    DeviceProof,
    FactorInfo,
    IssuedSession,
    SessionInfo,
    StrongAuthReport,
    TotpEnrolment,
    TransactionAuth,
    VoicePossession,
)
from ._voice import check_voice_pin

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FEATURES",
    "STRONG_METHODS",
    "VOICE_PIN_DIGITS",
    "AccountLocked",
    "Assessment",
    "AuthError",
    "AuthRecorder",
    "AuthSettings",
    "Authenticator",
    "Challenge",
    "ChallengeExpired",
    "DecisionRecord",
    "DeviceProof",
    "FactorInfo",
    "FactorNotEnrolled",
    "FactorWithheld",
    "InvalidSignal",
    "InvalidThresholds",
    "IssuedSession",
    "NetworkIntel",
    "Notifier",
    "Observation",
    "Outbox",
    "OutboxMessage",
    "Population",
    "Profile",
    "ReplayedCode",
    "RiskAction",
    "RiskAssessment",
    "RiskDecision",
    "SessionExpired",
    "SessionInfo",
    "Signals",
    "StepUpFailed",
    "StrongAuthReport",
    "StrongAuthRequired",
    "Thresholds",
    "TotpEnrolment",
    "TransactionAuth",
    "UnknownChallenge",
    "UnknownDecision",
    "UnknownSession",
    "VoicePossession",
    "assess",
    "check_voice_pin",
    "explain",
    "extract",
    "thresholds_table",
]
