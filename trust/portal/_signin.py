"""Signing in: the customer names an e-mail or a phone number (matched through the vault's blind
index, never by its clear value), the risk engine decides, and a step-up raises the session when
it asks for one. A link sent in a conversation names the customer instead; the step-up still
follows. An unknown identifier gets the very same pages as a known one (no account enumeration),
and every attempt is rate-limited by network address.

Sensitive actions come back here too (`/confirm`): a session proven strongly more than the RTS
inactivity limit ago is raised again before anything is released, changed or destroyed.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tessera import Assurance, TesseraError
from tessera.auth import (
    AuthError,
    Challenge,
    FactorNotEnrolled,
    RiskDecision,
    StepUpFailed,
    UnknownChallenge,
    UnknownDecision,
)
from tessera.trust._errors import RateLimited
from tessera.trust.identity import RateLimiter
from tessera.trust.web import passkey_answer, unanswerable_passkey_options
from tessera.vault import DataCategory, InvalidValue, VaultError, check_tenant, mask

from ._forms import Posted, posted
from ._guard import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    ServicesDep,
    Visit,
    base,
    check_csrf,
    device_of,
    observation,
    pre_session,
    read_form,
    safe_next,
    set_cookie,
    visit_of,
)
from ._i18n import N_, language_of
from ._render import gettext, message_for, page, redirect, status_of

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = ["router"]

router = APIRouter(prefix="/portal/{tenant}", include_in_schema=False)

# Sign-in attempts per network address and tenant: a person types a few; a script, many.
_ATTEMPTS = RateLimiter(per_second=0.5, burst=20)
_FACTORS = ("otp", "totp", "webauthn")  # what a step-up may use, beside the risk engine
_CODE_TEXT = N_("Your code to sign in to your privacy space")
_CONFIRM_TEXT = N_("Your code to confirm it is you")


def _limit(request: Request, tenant: str) -> None:
    client = request.client.host if request.client else "-"
    _ATTEMPTS.take(f"portal:{tenant}:{client}")


def _channel_of(identifier: str) -> tuple[DataCategory, str]:
    return (DataCategory.EMAIL, "email") if "@" in identifier else (DataCategory.PHONE, "sms")


def _pre_check(request: Request, services: Services, tenant: str, form: dict[str, str]) -> None:
    pre, _ = pre_session(request)
    check_csrf(services, tenant, pre, form.get("csrf"))


def _fake_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


@router.get("/sign-in")
def sign_in_page(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    if visit_of(request, services, tenant) is not None:
        return redirect(safe_next(tenant, request.query_params.get("next")))
    expired = request.query_params.get("expired") == "1"
    return page(
        request,
        services,
        tenant,
        "sign_in.html",
        next=safe_next(tenant, request.query_params.get("next")),
        notice=gettext(language_of(request), N_("Your session ended: please sign in again."))
        if expired
        else None,
    )


@router.post("/sign-in")
async def sign_in(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    form = await read_form(request)
    lang = language_of(request)
    next_url = safe_next(tenant, form.get("next"))
    try:
        _pre_check(request, services, tenant, form)
        _limit(request, tenant)
        identifier = form.get("identifier", "").strip()[:200]
        category, channel = _channel_of(identifier)
        try:
            found = services.vault.find(tenant, identifier, category=category)
        except (InvalidValue, VaultError):
            return page(
                request,
                services,
                tenant,
                "sign_in.html",
                status=422,
                next=next_url,
                error=gettext(lang, N_("Enter an e-mail address or a phone number.")),
                identifier=identifier,
            )
        subjects = {r.subject for r in found if r.subject}
        shown = mask(category, identifier)
        if len(subjects) != 1:
            return _code_page(
                request, services, tenant, _fake_id("dec"), _fake_id("chl"), "otp", shown, next_url
            )
        return _assess(request, services, tenant, subjects.pop(), channel, shown, next_url)
    except TesseraError as exc:
        return _sign_in_problem(request, services, tenant, exc, next_url)


def _assess(
    request: Request,
    services: Services,
    tenant: str,
    subject: str,
    channel: str,
    shown: str,
    next_url: str,
) -> Response:
    lang = language_of(request)
    assessed = services.authenticator.assess(tenant, subject, observation(request))
    if assessed.decision is RiskDecision.ALLOW and assessed.session is not None:
        return _signed_in(request, tenant, assessed.session.id, next_url)
    if assessed.decision is RiskDecision.DENY:
        # Said like an unknown customer's: nothing is sent, no code will do.
        return _code_page(
            request, services, tenant, _fake_id("dec"), _fake_id("chl"), "otp", shown, next_url
        )
    challenge_id = _fake_id("chl")
    try:
        challenge = services.authenticator.begin_step_up(
            tenant,
            "otp",
            decision_id=assessed.decision_id,
            channel=channel,
            message=gettext(lang, _CODE_TEXT),
        )
        challenge_id = challenge.id
    except FactorNotEnrolled:
        pass  # no destination on that channel: the customer may use their authenticator app
    return _code_page(
        request, services, tenant, assessed.decision_id, challenge_id, "otp", shown, next_url
    )


def _code_page(
    request: Request,
    services: Services,
    tenant: str,
    decision_id: str,
    challenge_id: str,
    factor: str,
    shown: str,
    next_url: str,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    return page(
        request,
        services,
        tenant,
        "code.html",
        status=status,
        mode="sign-in",
        action=f"{base(tenant)}/sign-in/code",
        switch=f"{base(tenant)}/sign-in/factor",
        decision=decision_id,
        challenge=challenge_id,
        factor=factor,
        shown=shown,
        next=next_url,
        error=error,
    )


@router.post("/sign-in/factor")
async def sign_in_factor(request: Request, tenant: str, services: ServicesDep) -> Response:
    """Another way to confirm (the authenticator app), or a new code by message."""
    check_tenant(tenant)
    form = await read_form(request)
    next_url = safe_next(tenant, form.get("next"))
    lang = language_of(request)
    decision_id = form.get("decision", "")[:40]
    factor = form.get("factor", "")
    shown = form.get("shown", "")[:80]
    try:
        _pre_check(request, services, tenant, form)
        _limit(request, tenant)
        if factor not in _FACTORS:
            raise InvalidValue("unknown factor")
        challenge_id = _fake_id("chl")
        options: dict[str, Any] = unanswerable_passkey_options(
            services.authenticator.settings.rp_id
        )
        try:
            challenge = services.authenticator.begin_step_up(
                tenant,
                factor,
                decision_id=decision_id,
                channel="email" if "@" in shown else "sms",
                message=gettext(lang, _CODE_TEXT),
            )
            challenge_id, options = challenge.id, challenge.options or options
        except (FactorNotEnrolled, UnknownDecision):
            pass  # the same page as for a customer who has it: nothing says who exists
        if factor == "webauthn":
            return _passkey_page(
                request,
                services,
                tenant,
                action=f"{base(tenant)}/sign-in/passkey",
                decision=decision_id,
                challenge=challenge_id,
                options=options,
                shown=shown,
                next_url=next_url,
            )
        return _code_page(
            request, services, tenant, decision_id, challenge_id, factor, shown, next_url
        )
    except TesseraError as exc:
        return _sign_in_problem(request, services, tenant, exc, next_url)


@router.post("/sign-in/code")
async def sign_in_code(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    form = await read_form(request)
    next_url = safe_next(tenant, form.get("next"))
    decision_id = form.get("decision", "")[:40]
    challenge_id = form.get("challenge", "")[:40]
    factor = form.get("factor", "otp")
    shown = form.get("shown", "")[:80]
    try:
        _pre_check(request, services, tenant, form)
        _limit(request, tenant)
        code = form.get("code", "").strip().replace(" ", "")[:12]
        try:
            issued, _ = services.authenticator.complete_step_up(tenant, challenge_id, code=code)
        except (StepUpFailed, UnknownChallenge) as exc:
            return _code_page(
                request,
                services,
                tenant,
                decision_id,
                challenge_id,
                factor if factor in _FACTORS else "otp",
                shown,
                next_url,
                status=403,
                error=message_for(language_of(request), exc),
            )
        if issued is None:  # a session's challenge: not one of sign-in's
            raise UnknownChallenge("no such challenge")
        return _signed_in(request, tenant, issued.id, next_url)
    except TesseraError as exc:
        return _sign_in_problem(request, services, tenant, exc, next_url)


def _passkey_page(
    request: Request,
    services: Services,
    tenant: str,
    *,
    action: str,
    decision: str,
    challenge: str,
    options: dict[str, Any],
    shown: str,
    next_url: str,
    visit: Visit | None = None,
    ceremony: str = "get",
) -> HTMLResponse:
    return page(
        request,
        services,
        tenant,
        "passkey.html",
        visit=visit,
        ceremony=ceremony,
        action=action,
        decision=decision,
        challenge=challenge,
        options=options,
        shown=shown,
        next=next_url,
    )


@router.post("/sign-in/passkey")
async def sign_in_passkey(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    form = await read_form(request)
    next_url = safe_next(tenant, form.get("next"))
    decision_id = form.get("decision", "")[:40]
    shown = form.get("shown", "")[:80]
    try:
        _pre_check(request, services, tenant, form)
        _limit(request, tenant)
        try:
            issued, _ = services.authenticator.complete_step_up(
                tenant, form.get("challenge", "")[:40], credential=passkey_answer(form)
            )
        except (StepUpFailed, UnknownChallenge) as exc:
            return _code_page(
                request,
                services,
                tenant,
                decision_id,
                _fake_id("chl"),
                "totp",
                shown,
                next_url,
                status=403,
                error=message_for(language_of(request), exc),
            )
        if issued is None:
            raise UnknownChallenge("no such challenge")
        return _signed_in(request, tenant, issued.id, next_url)
    except TesseraError as exc:
        return _sign_in_problem(request, services, tenant, exc, next_url)


def _signed_in(request: Request, tenant: str, session_id: str, next_url: str) -> Response:
    response = redirect(next_url)
    set_cookie(response, request, SESSION_COOKIE, session_id, base(tenant))
    if device_of(request) is None:
        # A first-party device id: this browser is recognised next time (nothing personal).
        set_cookie(
            response,
            request,
            DEVICE_COOKIE,
            secrets.token_urlsafe(16),
            "/portal",
            max_age=400 * 86400,
        )
    response.delete_cookie("tessera_portal_pre", path=base(tenant))
    return response


def _sign_in_problem(
    request: Request, services: Services, tenant: str, exc: TesseraError, next_url: str
) -> HTMLResponse:
    status = status_of(exc)
    response = page(
        request,
        services,
        tenant,
        "sign_in.html",
        status=status,
        next=next_url,
        error=message_for(language_of(request), exc),
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


# ---------------------------------------------------------------------- links from a conversation
@router.get("/link/{token}")
def link_page(request: Request, tenant: str, token: str, services: ServicesDep) -> Response:
    """The page a link opens: it spends nothing (a message app's preview must not use it up)."""
    check_tenant(tenant)
    try:
        services.portal_links.peek(tenant, token)
    except TesseraError as exc:
        return _sign_in_problem(request, services, tenant, exc, safe_next(tenant, None))
    return page(request, services, tenant, "link.html", token=token)


@router.post("/link/{token}")
async def link_open(request: Request, tenant: str, token: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    form = await read_form(request)
    next_url = safe_next(tenant, None)
    try:
        _pre_check(request, services, tenant, form)
        _limit(request, tenant)
        opened = services.portal_links.open(tenant, token)
        return _assess(request, services, tenant, opened.subject, opened.channel, "", next_url)
    except TesseraError as exc:
        return _sign_in_problem(request, services, tenant, exc, next_url)


# ---------------------------------------------------------------------- sign-out
@router.post("/sign-out")
async def sign_out(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    form = await read_form(request)
    visit = visit_of(request, services, tenant)
    if visit is not None:
        visit.check(form)
        services.authenticator.end_session(tenant, visit.session_id)
    response = redirect(f"{base(tenant)}/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=base(tenant))
    return response


# ---------------------------------------------------------------------- confirm (raise a session)
def confirm_page(
    request: Request,
    services: Services,
    tenant: str,
    visit: object,
    next_url: str,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """Before a sensitive action: the ways this customer can confirm it is them."""
    from ._guard import Visit

    assert isinstance(visit, Visit)
    kinds = {
        f.kind
        for f in services.authenticator.factors(tenant, visit.subject)
        if f.status == "active"
    }
    return page(
        request,
        services,
        tenant,
        "confirm.html",
        visit=visit,
        status=status,
        next=next_url,
        otp="otp" in kinds,
        totp="totp" in kinds,
        passkey="webauthn" in kinds,
        error=error,
    )


@router.get("/confirm")
def confirm(request: Request, tenant: str, services: ServicesDep) -> Response:
    from ._guard import sign_in_redirect

    visit = visit_of(request, services, tenant)
    if visit is None:
        return sign_in_redirect(tenant, request, expired=True)
    return confirm_page(
        request, services, tenant, visit, safe_next(tenant, request.query_params.get("next"))
    )


@router.post("/confirm/factor")
async def confirm_factor(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    visit, form, lang = done.visit, done.form, done.lang
    next_url = safe_next(tenant, form.get("next"))
    try:
        factor = form.get("factor", "")
        if factor not in _FACTORS:
            raise InvalidValue("unknown factor")
        channels = [
            f.channel
            for f in services.authenticator.factors(tenant, visit.subject)
            if f.kind == "otp" and f.status == "active" and f.channel
        ]
        challenge: Challenge = services.authenticator.begin_step_up(
            tenant,
            factor,
            session_id=visit.session_id,
            target=Assurance.HIGH if factor == "webauthn" else Assurance.SUBSTANTIAL,
            channel=channels[0] if factor == "otp" and channels else None,
            message=gettext(lang, _CONFIRM_TEXT),
        )
    except (AuthError, InvalidValue) as exc:
        return confirm_page(
            request, services, tenant, visit, next_url, error=message_for(lang, exc), status=422
        )
    if factor == "webauthn":
        return _passkey_page(
            request,
            services,
            tenant,
            visit=visit,
            action=f"{base(tenant)}/confirm/passkey",
            decision="",
            challenge=challenge.id,
            options=challenge.options or {},
            shown="",
            next_url=next_url,
        )
    return page(
        request,
        services,
        tenant,
        "code.html",
        visit=visit,
        mode="confirm",
        action=f"{base(tenant)}/confirm/code",
        switch=None,
        decision="",
        challenge=challenge.id,
        factor=factor,
        shown=challenge.sent_to or "",
        next=next_url,
        error=None,
    )


@router.post("/confirm/code")
async def confirm_code(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    visit, form, lang = done.visit, done.form, done.lang
    next_url = safe_next(tenant, form.get("next"))
    challenge_id = form.get("challenge", "")[:40]
    factor = form.get("factor", "otp")
    try:
        code = form.get("code", "").strip().replace(" ", "")[:12]
        services.authenticator.complete_step_up(tenant, challenge_id, code=code)
    except (StepUpFailed, UnknownChallenge) as exc:
        return page(
            request,
            services,
            tenant,
            "code.html",
            visit=visit,
            status=403,
            mode="confirm",
            action=f"{base(tenant)}/confirm/code",
            switch=None,
            decision="",
            challenge=challenge_id,
            factor=factor if factor in _FACTORS else "otp",
            shown=form.get("shown", "")[:80],
            next=next_url,
            error=message_for(lang, exc),
        )
    except TesseraError as exc:
        return confirm_page(
            request, services, tenant, visit, next_url, error=message_for(lang, exc), status=403
        )
    return redirect(next_url)


@router.post("/confirm/passkey")
async def confirm_passkey(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    visit, form, lang = done.visit, done.form, done.lang
    next_url = safe_next(tenant, form.get("next"))
    try:
        services.authenticator.complete_step_up(
            tenant, form.get("challenge", "")[:40], credential=passkey_answer(form)
        )
    except TesseraError as exc:
        return confirm_page(
            request, services, tenant, visit, next_url, error=message_for(lang, exc), status=403
        )
    return redirect(next_url)
