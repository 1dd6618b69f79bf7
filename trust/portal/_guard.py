"""What every portal page and form goes through: the security headers, the session cookie bound
to the auth session, CSRF tokens, bounded form parsing, and the customer's own caller.

The session cookie holds the auth session's bearer id (HttpOnly, SameSite=Strict, Secure behind
TLS, scoped to the tenant's portal path): the portal keeps no session of its own, so ending or
expiring the auth session signs the customer out everywhere. A CSRF token is an HMAC, under a
tenant secret kept wrapped in the key store, of what the form is bound to: the session (once
signed in) or a random pre-session cookie (before). Nothing is kept server-side for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from tessera import Assurance, b64url_decode, b64url_encode
from tessera.auth import Observation, SessionExpired, SessionInfo, UnknownSession
from tessera.storage import utcnow
from tessera.trust._errors import CsrfRejected, RequestTooLarge
from tessera.trust._services import Services
from tessera.trust.identity import Caller, Scope
from tessera.vault import InvalidValue, check_tenant

__all__ = [
    "DEVICE_COOKIE",
    "FORM_LIMIT",
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
    "sign_in_redirect",
    "visit_of",
]

SESSION_COOKIE = "tessera_portal"
PRE_COOKIE = "tessera_portal_pre"
DEVICE_COOKIE = "tessera_device"
FORM_LIMIT = 16 * 1024  # the largest portal form (a rectification, a pasted receipt) is far less
_PRE = 22  # characters of a pre-session id


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


def security_headers() -> dict[str, str]:
    """No inline script or style, nothing from anywhere else, no framing, nothing cached."""
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


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


def _secret(services: Services, tenant: str) -> bytes:
    return services.vault.tenant_secret(tenant, "portal-csrf")


def _mac(secret: bytes, purpose: str, binding: str) -> bytes:
    mac = hmac.HMAC(secret, hashes.SHA256())
    mac.update(f"tessera/portal/{purpose}/1\x1f{binding}".encode())
    return mac.finalize()


def csrf_token(services: Services, tenant: str, binding: str) -> str:
    return b64url_encode(_mac(_secret(services, tenant), "csrf", binding))


def check_csrf(services: Services, tenant: str, binding: str, given: str | None) -> None:
    if not given or len(given) > 64:
        raise CsrfRejected("this form has expired: reload the page and try again")
    mac = hmac.HMAC(_secret(services, tenant), hashes.SHA256())
    mac.update(f"tessera/portal/csrf/1\x1f{binding}".encode())
    try:
        mac.verify(b64url_decode(given))
    except (InvalidSignature, ValueError):
        raise CsrfRejected("this form has expired: reload the page and try again") from None


def pre_session(request: Request) -> tuple[str, bool]:
    """The random id that binds the sign-in forms to this browser; True if it is new."""
    given = request.cookies.get(PRE_COOKIE, "")
    if len(given) == _PRE and given.replace("-", "a").replace("_", "a").isalnum():
        return given, False
    return secrets.token_urlsafe(16), True


async def read_form(request: Request, *, limit: int = FORM_LIMIT) -> dict[str, str]:
    """An urlencoded form, at most `limit` bytes (a 413 beyond), first value of each field."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"the form is larger than {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestTooLarge(f"the form is larger than {limit} bytes")
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise InvalidValue("the form could not be read") from None
    return {k: v[0] for k, v in fields.items() if v}


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
        at=utcnow(),
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


def set_cookie(
    response: Any, request: Request, name: str, value: str, path: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
