"""Service identity: the tenants, the calling services' API keys and their scopes, and the rate
limit each key is held to."""

from __future__ import annotations

from ._ratelimit import RateLimiter
from ._service import Caller, IssuedKey, Scope, ServiceIdentity
from ._tables import ApiKey, Tenant

__all__ = [
    "ApiKey",
    "Caller",
    "IssuedKey",
    "RateLimiter",
    "Scope",
    "ServiceIdentity",
    "Tenant",
]
