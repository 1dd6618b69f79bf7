"""Identity: the tenants, the calling services' API keys and their scopes, the rate limit each
key is held to, and the signed single-use links that name a customer arriving from a
conversation (`PortalLinks`), and the staff who sign in at the DPO console (`StaffDirectory`)."""

from __future__ import annotations

from ._links import LINK_TTL, OpenedLink, PortalLinks, SentLink
from ._ratelimit import RateLimiter
from ._service import Caller, IssuedKey, Scope, ServiceIdentity
from ._staff import STAFF_PREFIX, StaffDirectory, StaffMember, StaffRole
from ._tables import ApiKey, PortalLinkRow, StaffRow, Tenant

__all__ = [
    "LINK_TTL",
    "STAFF_PREFIX",
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
    "StaffDirectory",
    "StaffMember",
    "StaffRole",
    "StaffRow",
    "Tenant",
]
