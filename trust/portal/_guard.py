"""Who is at the portal: the session cookie bound to the auth session, the portal's CSRF tokens
(the shared `trust.web` ones, under the portal's own tenant secret), the device cookie the risk
engine reads, and the customer's own caller.

The session cookie holds the auth session's bearer id (HttpOnly, SameSite=Strict, Secure behind
TLS, scoped to the tenant's portal path): the portal keeps no session of its own, so ending or
expiring the auth session signs the customer out everywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse

from tessera import Assurance
from tessera.auth import Observation, SessionExpired, SessionInfo, UnknownSession
from tessera.trust._services import Services
from tessera.trust.identity import Caller, Scope
from tessera.trust.web import FORM_LIMIT, Csrf, ServicesDep, read_form, security_headers, set_cookie
from tessera.trust.web import pre_session as _pre_session
from tessera.vault import check_tenant

__all__ = [
    "DEVICE_COOKIE",
    "FORM_LIMIT",
    "PRE_COOKIE",
    "SESSION_COOKIE",
    "ServicesDep",
    "Visit",
    "check_csrf",
    "csrf_token",
    "device_of",
    "observation",
    "portal_caller",
    "read_form",
    "security_headers",
    "set_cookie",
    "sign_in_redirect",
    "visit_of",
]

SESSION_COOKIE = "tessera_portal"
PRE_COOKIE = "tessera_portal_pre"
DEVICE_COOKIE = "tessera_device"
_PRE = 22  # characters of a pre-session id


def csrf_token(services: Services, tenant: str, binding: str) -> str:
    return Csrf(services.vault, "portal-csrf").token(tenant, binding)


def check_csrf(services: Services, tenant: str, binding: str, given: str | None) -> None:
    Csrf(services.vault, "portal-csrf").check(tenant, binding, given)


def pre_session(request: Request) -> tuple[str, bool]:
    """The random id that binds the sign-in forms to this browser; True if it is new."""
    return _pre_session(request, PRE_COOKIE)


def portal_caller(tenant: str) -> Caller:
    """The portal acting for the signed-in customer: Cedar sees a customer whose subject is the
    session's, so every decision is about their own data and nobody else's."""
    return Caller(
        tenant=tenant,
        key_id="portal",
        name="privacy portal",
        scopes=frozenset({Scope.ACCESS, Scope.DSR, Scope.CONSENT_READ, Scope.CONSENT_WRITE}),
        kind="customer",
    )


def device_of(request: Request) -> str | None:
    given = request.cookies.get(DEVICE_COOKIE, "")
    return (
        given
        if len(given) == _PRE and given.replace("-", "a").replace("_", "a").isalnum()
        else None
    )


def observation(request: Request) -> Observation:
    return Observation(
        channel="web",
        at=request.app.state.services.clock(),
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent", "")[:512] or None,
        device_id=device_of(request),
    )


def session_ref(session_id: str) -> str:
    """A session named in evidence and records: its digest's prefix, never the bearer id."""
    return "psn_" + hashlib.sha256(session_id.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Visit:
    """A signed-in customer on one request."""

    services: Services
    tenant: str
    session_id: str
    info: SessionInfo

    @property
    def subject(self) -> str:
        return self.info.subject

    @property
    def caller(self) -> Caller:
        return portal_caller(self.tenant)

    def csrf(self) -> str:
        return csrf_token(self.services, self.tenant, self.session_id)

    def check(self, form: Mapping[str, str]) -> None:
        check_csrf(self.services, self.tenant, self.session_id, form.get("csrf"))

    def strong_now(self, at: dt.datetime) -> bool:
        """Substantial assurance, proven within the RTS inactivity limit (5 minutes): what a
        sensitive action (an export, an erasure, removing a card or a factor) needs."""
        if self.info.assurance < Assurance.SUBSTANTIAL or self.info.strong_at is None:
            return False
        limit = self.services.authenticator.settings.payment_idle
        return at - self.info.strong_at <= limit


def visit_of(request: Request, services: Services, tenant: str) -> Visit | None:
    """The signed-in customer, or None (no cookie, or its session ended or expired)."""
    check_tenant(tenant)
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 128:
        return None
    try:
        info = services.authenticator.session(tenant, session_id)
    except (UnknownSession, SessionExpired):
        return None
    return Visit(services, tenant, session_id, info)


def base(tenant: str) -> str:
    return f"/portal/{tenant}"


def sign_in_redirect(tenant: str, request: Request, *, expired: bool = False) -> RedirectResponse:
    """Back to the sign-in page, which returns here afterwards (nothing stored was changed)."""
    query = f"?next={quote(request.url.path, safe='/')}" + ("&expired=1" if expired else "")
    return RedirectResponse(f"{base(tenant)}/sign-in{query}", status_code=303)


def safe_next(tenant: str, given: Any) -> str:
    """Only a path of this tenant's portal: never an open redirect."""
    home = f"{base(tenant)}/"
    if isinstance(given, str) and given.startswith(home) and "//" not in given and len(given) < 200:
        return given
    return home
