from __future__ import annotations

from tessera import TesseraError

__all__ = [
    "AccountLocked",
    "AuthError",
    "ChallengeExpired",
    "FactorNotEnrolled",
    "FactorWithheld",
    "InvalidSignal",
    "InvalidThresholds",
    "ReplayedCode",
    "SessionExpired",
    "StepUpFailed",
    "StrongAuthRequired",
    "UnknownChallenge",
    "UnknownDecision",
    "UnknownSession",
]


class AuthError(TesseraError):
    """Base of the authentication package's errors."""


class InvalidSignal(AuthError):
    """A signal is of the wrong type or too large (garbage values are scored as unknown)."""


class InvalidThresholds(AuthError):
    """A tenant's risk thresholds name an unknown action or are not numbers with
    0 ≤ step-up ≤ deny: refused at start-up, never half-applied."""


class UnknownDecision(AuthError):
    """No risk decision with this id for this tenant."""


class UnknownSession(AuthError):
    """No live session with this id for this tenant."""


class SessionExpired(AuthError):
    """The session ended: inactivity (5 minutes for payments, PSD2 RTS Art. 4(3)(d)) or age."""


class UnknownChallenge(AuthError):
    """No step-up or enrolment challenge with this id, or it was already used."""


class ChallengeExpired(AuthError):
    """The challenge is past its expiry."""


class StepUpFailed(AuthError):
    """The code, signature or assertion did not verify."""

    def __init__(self, detail: str, *, attempts_left: int | None = None) -> None:
        super().__init__(detail)
        self.attempts_left = attempts_left


class ReplayedCode(AuthError):
    """A one-time code or an assertion was presented a second time."""


class AccountLocked(AuthError):
    """Too many consecutive failures (PSD2 RTS Art. 4(3)(b)): blocked for a while."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class FactorNotEnrolled(AuthError):
    """The customer has no such factor (or destination) to step up with."""


class FactorWithheld(AuthError):
    """The factor travels over the channel the risk is about (a code by SMS after a SIM swap):
    stepping up with it would prove nothing."""


class StrongAuthRequired(AuthError):
    """Enrolling a factor needs a recent strong authentication of the same customer."""
