"""Identity: the tenants, the calling services' API keys and their scopes, the rate limit each
key is held to, and the signed single-use links that name a customer arriving from a
conversation (`PortalLinks`)."""

from __future__ import annotations

from ._links import LINK_TTL, OpenedLink, PortalLinks, SentLink
from ._ratelimit import RateLimiter
from ._service import Caller, IssuedKey, Scope, ServiceIdentity
from ._tables import ApiKey, PortalLinkRow, Tenant

__all__ = [
    "LINK_TTL",
    "ApiKey",
    "Caller",
    "IssuedKey",
    "OpenedLink",
    "PortalLinkRow",
    "PortalLinks",
    "RateLimiter",
    "Scope",
    "SentLink",
    "ServiceIdentity",
    "Tenant",
]
