"""Who is at the console: the session cookie bound to the auth session of a member of staff,
the console's CSRF tokens (the shared `trust.web` ones, under the console's own tenant secret),
and the member of staff's caller.

A session counts only while its subject is an active, sealed member of staff of this tenant
and its assurance is substantial or above: a customer's session, a session of a disabled
member, or one still at low assurance (signed in, factor not yet given) opens nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse

from tessera import Assurance
from tessera.auth import Observation, SessionExpired, SessionInfo, UnknownSession
from tessera.trust._services import Services
from tessera.trust.gateway import AuthContext
from tessera.trust.identity import Caller, StaffMember
from tessera.trust.web import Csrf
from tessera.trust.web import pre_session as _pre_session
from tessera.vault import check_tenant

__all__ = [
    "PRE_COOKIE",
    "SESSION_COOKIE",
    "Desk",
    "base",
    "check_csrf",
    "csrf_token",
    "desk_of",
    "observation",
    "pre_session",
    "safe_next",
    "sign_in_redirect",
]

SESSION_COOKIE = "tessera_console"
PRE_COOKIE = "tessera_console_pre"


def base(tenant: str) -> str:
    return f"/console/{tenant}"


def csrf_token(services: Services, tenant: str, binding: str) -> str:
    return Csrf(services.vault, "console-csrf").token(tenant, binding)


def check_csrf(services: Services, tenant: str, binding: str, given: str | None) -> None:
    Csrf(services.vault, "console-csrf").check(tenant, binding, given)


def pre_session(request: Request) -> tuple[str, bool]:
    return _pre_session(request, PRE_COOKIE)


def observation(request: Request) -> Observation:
    return Observation(
        channel="web",
        at=request.app.state.services.clock(),
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent", "")[:512] or None,
    )


@dataclass(frozen=True, slots=True)
class Desk:
    """A signed-in member of staff on one request."""

    services: Services
    tenant: str
    session_id: str
    info: SessionInfo
    member: StaffMember

    @property
    def caller(self) -> Caller:
        return self.member.caller

    @property
    def auth(self) -> AuthContext:
        """Their own session, whose assurance the gateway reads for every decision."""
        return AuthContext(session_id=self.session_id)

    def csrf(self) -> str:
        return csrf_token(self.services, self.tenant, self.session_id)

    def check(self, form: Mapping[str, str]) -> None:
        check_csrf(self.services, self.tenant, self.session_id, form.get("csrf"))

    def now(self) -> dt.datetime:
        return self.services.authenticator.clock()


def session_of(request: Request, services: Services, tenant: str) -> tuple[str, SessionInfo] | None:
    """The console session of this browser, whatever its assurance, or None."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 128:
        return None
    try:
        return session_id, services.authenticator.session(tenant, session_id)
    except (UnknownSession, SessionExpired):
        return None


def desk_of(request: Request, services: Services, tenant: str) -> Desk | None:
    """The signed-in member of staff, or None."""
    check_tenant(tenant)
    found = session_of(request, services, tenant)
    if found is None:
        return None
    session_id, info = found
    if info.assurance < Assurance.SUBSTANTIAL:
        return None
    member = services.staff.of_subject(tenant, info.subject)
    if member is None:
        return None
    return Desk(services, tenant, session_id, info, member)


def sign_in_redirect(tenant: str, request: Request, *, expired: bool = False) -> RedirectResponse:
    query = f"?next={quote(request.url.path, safe='/')}" + ("&expired=1" if expired else "")
    return RedirectResponse(f"{base(tenant)}/sign-in{query}", status_code=303)


def safe_next(tenant: str, given: object) -> str:
    """Only a path of this tenant's console: never an open redirect."""
    home = f"{base(tenant)}/"
    if isinstance(given, str) and given.startswith(home) and "//" not in given and len(given) < 300:
        return given
    return home
