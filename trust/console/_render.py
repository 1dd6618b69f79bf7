"""The console's pages: its templates and catalogue through the shared `trust.web` layer, the
CSRF token of each page's forms, and what a member of staff reads for each problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from tessera import TesseraError
from tessera.auth import AccountLocked
from tessera.trust.web import (
    N_,
    Catalogue,
    Pages,
    language_of,
    problem,
)

from ._guard import PRE_COOKIE, base, csrf_token

if TYPE_CHECKING:
    from tessera.trust._services import Services

    from ._guard import Desk

__all__ = ["CATALOGUE", "PAGES_OF", "gettext", "guarded", "message_for", "page", "problem_page"]

CATALOGUE = Catalogue(Path(__file__).parent / "locale", "console")
PAGES = Pages(Path(__file__).parent / "templates", CATALOGUE)


def gettext(lang: str, message: str, **values: Any) -> str:
    return CATALOGUE.gettext(lang, message, **values)


_MESSAGES = {
    "csrf-rejected": N_("This form has expired. Reload the page and try again."),
    "too-large": N_("That is too large to be sent here."),
    "step-up-failed": N_("That did not work. Check the code and try again."),
    "challenge-expired": N_("The code has expired. Start again."),
    "replayed": N_("This code was already used. Wait for the next one."),
    "unknown-challenge": N_("That did not work. Check the code and try again."),
    "rate-limited": N_("Too many attempts. Please wait a moment and try again."),
    "access-denied": N_("Your role does not allow this. The attempt was recorded."),
    "step-up-required": N_("This needs a stronger sign-in: confirm with your passkey."),
    "strong-auth-required": N_("This needs a stronger sign-in: confirm with your passkey."),
    "identity-not-verified": N_("The requester's identity is not verified yet."),
    "invalid-transition": N_("This can no longer be done for this request."),
    "unknown-request": N_("There is no such request."),
    "invalid-value": N_("Check what you typed and try again."),
    "invalid-consent-event": N_("Check what you typed and try again."),
    "unknown-purpose": N_("There is no such purpose."),
    "factor-not-enrolled": N_("This way of confirming is not set up for you."),
    "ledger-integrity": N_("The consent log does not verify."),
    "audit-integrity": N_("The access log does not verify."),
    "storage-unavailable": N_("The service is unavailable. Please try again in a moment."),
    "key-provider-unavailable": N_("The service is unavailable. Please try again in a moment."),
}
# What each role's pages are (the policy decides again on each; this only spares dead links).
PAGES_OF = {
    "dpo": ("consents", "accesses", "requests", "charts", "verify", "record"),
    "analyst": ("consents", "accesses", "requests", "charts"),
    "auditor": ("verify", "record"),
}
_ROLES = {"dpo": N_("DPO"), "analyst": N_("analyst"), "auditor": N_("auditor")}
_OUTCOMES = {"allow": N_("allowed"), "deny": N_("refused"), "step_up": N_("stepped up")}
_REQUEST_KINDS = {
    "access": N_("access (Art. 15)"),
    "portability": N_("portability (Art. 20)"),
    "rectification": N_("rectification (Art. 16)"),
    "erasure": N_("erasure (Art. 17)"),
    "restriction": N_("restriction (Art. 18)"),
    "objection": N_("objection (Art. 21)"),
}
_REQUEST_STATES = {
    "received": N_("received"),
    "identity_verified": N_("identity verified"),
    "in_progress": N_("in progress"),
    "completed": N_("completed"),
    "rejected": N_("rejected"),
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
    desk: Desk | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the reader's language, with the CSRF token of its forms."""
    lang = language_of(request)

    def csrf(pre: str | None) -> str:
        return desk.csrf() if desk is not None else csrf_token(services, tenant, str(pre))

    return PAGES.page(
        request,
        template,
        base=base(tenant),
        signed_in=desk is not None,
        csrf=csrf,
        pre_cookie=PRE_COOKIE,
        lang_path="/console",
        status=status,
        tenant=tenant,
        desk=desk,
        pages_of=PAGES_OF,
        role_names={k: gettext(lang, v) for k, v in _ROLES.items()},
        outcome_names={k: gettext(lang, v) for k, v in _OUTCOMES.items()},
        request_kinds={k: gettext(lang, v) for k, v in _REQUEST_KINDS.items()},
        request_states={k: gettext(lang, v) for k, v in _REQUEST_STATES.items()},
        **context,
    )


def problem_page(
    request: Request,
    services: Services,
    tenant: str,
    desk: Desk | None,
    exc: TesseraError,
    *,
    template: str = "message.html",
    **context: Any,
) -> HTMLResponse:
    """What went wrong, in the reader's words, with the status the API would answer."""
    response = page(
        request,
        services,
        tenant,
        template,
        desk=desk,
        status=problem(exc)[0],
        error=message_for(language_of(request), exc),
        **context,
    )
    retry = getattr(exc, "retry_after", None)
    if isinstance(retry, int):
        response.headers["Retry-After"] = str(retry)
    return response


def guarded(
    request: Request,
    services: Services,
    tenant: str,
    desk: Desk,
    act: Callable[[], Response],
) -> Response:
    """Run a signed-in page's work; a refusal or bad input is a page, nothing changed."""
    try:
        return act()
    except TesseraError as exc:
        return problem_page(request, services, tenant, desk, exc)
