from __future__ import annotations

from tessera import TesseraError

__all__ = [
    "AuthenticationRequired",
    "PermissionDenied",
    "RequestTooLarge",
    "TrustError",
    "UnknownTenant",
]


class TrustError(TesseraError):
    """Base of the gateway's and service identity's errors."""


class AuthenticationRequired(TrustError):
    """No API key, or one that is unknown, malformed or revoked."""


class PermissionDenied(TrustError):
    """The caller is authenticated but its key lacks the scope for this action."""

    def __init__(self, detail: str, *, scope: str) -> None:
        super().__init__(detail)
        self.scope = scope


class UnknownTenant(TrustError):
    """No tenant with this id."""


class RequestTooLarge(TrustError):
    """The request body exceeds the documented limit."""
