"""Pages: Jinja2 templates with the gettext extension, one environment per language, every
response with the portal's security headers; and what a customer reads for each problem."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tessera import TesseraError
from tessera.auth import AccountLocked
from tessera.trust.web import (
    N_,
    Pages,
    ProblemOf,
    problem,
    status_of,
    use_problems,
)
from tessera.trust.web import redirect as _redirect

from ._guard import PRE_COOKIE, base, csrf_token
from ._i18n import CATALOGUE

if TYPE_CHECKING:
    from tessera.trust._services import Services

    from ._guard import Visit

__all__ = [
    "ProblemOf",
    "gettext",
    "message_for",
    "page",
    "redirect",
    "status_of",
    "use_problems",
]

PAGES = Pages(Path(__file__).parent / "templates", CATALOGUE)


def gettext(lang: str, message: str, **values: Any) -> str:
    return CATALOGUE.gettext(lang, message, **values)


# What a customer reads for each problem (the API's detail is for developers, in English).
_MESSAGES = {
    "csrf-rejected": N_("This form has expired. Reload the page and try again."),
    "too-large": N_("That is too large to be sent here."),
    "invalid-portal-link": N_("This link is not valid. Ask your adviser for a new one."),
    "portal-link-expired": N_("This link has expired. Ask your adviser for a new one."),
    "portal-link-used": N_("This link was already used. Ask your adviser for a new one."),
    "step-up-failed": N_("That did not work. Check the code and try again."),
    "challenge-expired": N_("The code has expired. Ask for a new one."),
    "replayed": N_("This code was already used. Ask for a new one."),
    "unknown-challenge": N_("That did not work. Check the code and try again."),
    "rate-limited": N_("Too many attempts. Please wait a moment and try again."),
    "invalid-receipt": N_("This is not a receipt of ours, or it was changed."),
    "unknown-request": N_("We found no such request."),
    "invalid-transition": N_("This can no longer be done for this request."),
    "access-denied": N_("This is not allowed."),
    "step-up-required": N_("Please confirm it is you first."),
    "identity-not-verified": N_("Please confirm it is you first."),
    "strong-auth-required": N_("Please confirm it is you first."),
    "invalid-value": N_("Check what you typed and try again."),
    "invalid-consent-event": N_("Check what you typed and try again."),
    "unknown-purpose": N_("We found no such purpose."),
    "factor-not-enrolled": N_("This way of confirming is not set up for you."),
    "unknown-card": N_("We found no such card."),
    "audit-integrity": N_(
        "We could not verify the record of who used your data, so we show none of it until it "
        "is checked. Please try again later."
    ),
    "storage-unavailable": N_("The service is unavailable. Please try again in a moment."),
    "key-provider-unavailable": N_("The service is unavailable. Please try again in a moment."),
}
_LOCKED = N_("Too many attempts: signing in is blocked for now. Try again in %(minutes)s minutes.")
_FALLBACK = N_("Something went wrong. Nothing was changed: please try again.")


def message_for(lang: str, exc: TesseraError) -> str:
    if isinstance(exc, AccountLocked):
        return gettext(lang, _LOCKED, minutes=max(1, (exc.retry_after + 59) // 60))
    return gettext(lang, _MESSAGES.get(problem(exc)[1], _FALLBACK))


def page(
    request: Request,
    services: Services,
    tenant: str,
    template: str,
    *,
    visit: Visit | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the customer's language, with the CSRF token of its forms."""

    def csrf(pre: str | None) -> str:
        return visit.csrf() if visit is not None else csrf_token(services, tenant, str(pre))

    return PAGES.page(
        request,
        template,
        base=base(tenant),
        signed_in=visit is not None,
        csrf=csrf,
        pre_cookie=PRE_COOKIE,
        lang_path="/portal",
        status=status,
        visit=visit,
        controller=_controller(services, tenant),
        **context,
    )


def _controller(services: Services, tenant: str) -> str:
    try:
        return services.catalogue.controller(tenant).name or tenant
    except TesseraError:
        return tenant


def redirect(url: str) -> RedirectResponse:
    return _redirect(url)
