"""What every signed-in form of the portal does first, in one place: the tenant checked, the
form read within its limit, the session live (else back to sign-in, nothing changed), the CSRF
token checked; and the page that says what went wrong, in the customer's words, with the
status the API would answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from tessera import TesseraError
from tessera.vault import check_tenant

from ._guard import Visit, base, read_form, sign_in_redirect, visit_of
from ._i18n import language_of
from ._render import gettext, message_for, page, redirect, status_of

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = ["Posted", "confirm_first", "not_found", "posted", "problem_page", "signed_in"]


def signed_in(request: Request, services: Services, tenant: str) -> Visit | Response:
    """The signed-in customer, or the way back to sign-in (saying the session ended when a
    session cookie was there)."""
    visit = visit_of(request, services, tenant)
    if visit is None:
        return sign_in_redirect(tenant, request, expired="tessera_portal" in request.cookies)
    return visit


@dataclass(frozen=True, slots=True)
class Posted:
    visit: Visit
    form: dict[str, str]
    lang: str


async def posted(
    request: Request, services: Services, tenant: str, *, template: str = "message.html"
) -> Posted | Response:
    """A signed-in customer's form, its token checked; or the page that answers instead."""
    check_tenant(tenant)
    form = await read_form(request)
    visit = signed_in(request, services, tenant)
    if not isinstance(visit, Visit):
        return visit
    try:
        visit.check(form)
    except TesseraError as exc:
        return problem_page(request, services, visit, exc, template=template)
    return Posted(visit, form, language_of(request))


def problem_page(
    request: Request,
    services: Services,
    visit: Visit,
    exc: TesseraError,
    *,
    template: str = "message.html",
    **context: Any,
) -> Response:
    return page(
        request,
        services,
        visit.tenant,
        template,
        visit=visit,
        status=status_of(exc),
        error=message_for(language_of(request), exc),
        **context,
    )


def not_found(request: Request, services: Services, visit: Visit, message: str) -> Response:
    """Another customer's, or nothing at all: the same answer, in the customer's words."""
    return page(
        request,
        services,
        visit.tenant,
        "message.html",
        visit=visit,
        status=404,
        error=gettext(language_of(request), message),
    )


def confirm_first(services: Services, visit: Visit, back: str) -> Response | None:
    """None when the session was proven strongly within the RTS limit; else the way to
    confirm, which comes back to `back`."""
    if visit.strong_now(services.authenticator.clock()):
        return None
    return redirect(f"{base(visit.tenant)}/confirm?next={quote(back, safe='/')}")
