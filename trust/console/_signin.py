"""Staff sign-in: a login, then always a factor (the authenticator app, or a passkey for high
assurance); the risk engine may add nothing, never take the factor away. An unknown, disabled
or forged login gets the very same pages as a real one, and attempts are rate-limited by
network address. Once in, a member of staff may add a passkey, and confirms with it before
anything that needs high assurance (an export)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tessera import Assurance, TesseraError
from tessera.auth import (
    FactorNotEnrolled,
    RiskDecision,
    StepUpFailed,
    UnknownChallenge,
    UnknownDecision,
)
from tessera.trust._errors import RateLimited
from tessera.trust.identity import RateLimiter
from tessera.trust.web import (
    N_,
    ServicesDep,
    language_of,
    passkey_answer,
    read_form,
    redirect,
    set_cookie,
    status_of,
    unanswerable_passkey_options,
)
from tessera.vault import check_tenant

from ._guard import (
    PRE_COOKIE,
    SESSION_COOKIE,
    Desk,
    base,
    check_csrf,
    desk_of,
    observation,
    pre_session,
    safe_next,
    session_of,
)
from ._render import gettext, guarded, message_for, page, problem_page

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = ["Posted", "posted", "router", "signed_in"]

router = APIRouter(prefix="/console/{tenant}", include_in_schema=False)

_ATTEMPTS = RateLimiter(per_second=0.5, burst=20)
_FACTORS = ("totp", "webauthn")


def _limit(request: Request, tenant: str) -> None:
    client = request.client.host if request.client else "-"
    _ATTEMPTS.take(f"console:{tenant}:{client}")


def _fake_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


def signed_in(request: Request, services: Services, tenant: str) -> Desk | Response:
    """The member of staff, or the way back to sign-in (nothing stored is changed)."""
    from ._guard import sign_in_redirect

    desk = desk_of(request, services, tenant)
    if desk is None:
        return sign_in_redirect(tenant, request, expired=SESSION_COOKIE in request.cookies)
    return desk


@router.get("/sign-in")
def sign_in_page(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    next_url = safe_next(tenant, request.query_params.get("next"))
    if desk_of(request, services, tenant) is not None:
        return redirect(next_url)
    notice = None
    if request.query_params.get("expired") == "1":
        notice = gettext(language_of(request), N_("Your session ended: please sign in again."))
    return page(request, services, tenant, "sign_in.html", next=next_url, notice=notice)


@router.post("/sign-in")
async def sign_in(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    form = await read_form(request)
    next_url = safe_next(tenant, form.get("next"))
    try:
        pre, _ = pre_session(request)
        check_csrf(services, tenant, pre, form.get("csrf"))
        _limit(request, tenant)
        login = form.get("login", "").strip()[:64]
        member = services.staff.find(tenant, login)
        if member is None:
            return _code_page(request, services, tenant, "", _fake_id("chl"), "totp", next_url)
        assessed = services.authenticator.assess(tenant, member.subject, observation(request))
        if assessed.decision is RiskDecision.DENY:
            return _code_page(request, services, tenant, "", _fake_id("chl"), "totp", next_url)
        if assessed.decision is RiskDecision.ALLOW and assessed.session is not None:
            # A familiar browser still gives a factor: the session waits at low assurance,
            # which opens nothing at the console, until the code raises it.
            session_id = assessed.session.id
            challenge = services.authenticator.begin_step_up(
                tenant, "totp", session_id=session_id, target=Assurance.SUBSTANTIAL
            )
            response = _code_page(request, services, tenant, "", challenge.id, "totp", next_url)
            set_cookie(response, request, SESSION_COOKIE, session_id, base(tenant))
            return response
        challenge = services.authenticator.begin_step_up(
            tenant, "totp", decision_id=assessed.decision_id
        )
        return _code_page(
            request, services, tenant, assessed.decision_id, challenge.id, "totp", next_url
        )
    except TesseraError as exc:
        return _problem(request, services, tenant, exc, next_url)


def _code_page(
    request: Request,
    services: Services,
    tenant: str,
    decision: str,
    challenge: str,
    factor: str,
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
        decision=decision,
        challenge=challenge,
        factor=factor,
        next=next_url,
        error=error,
    )


@router.post("/sign-in/code")
async def sign_in_code(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    form = await read_form(request)
    next_url = safe_next(tenant, form.get("next"))
    decision = form.get("decision", "")[:40]
    challenge_id = form.get("challenge", "")[:40]
    try:
        pre, _ = pre_session(request)
        check_csrf(services, tenant, pre, form.get("csrf"))
        _limit(request, tenant)
        code = form.get("code", "").strip().replace(" ", "")[:12]
        try:
            issued, _ = services.authenticator.complete_step_up(tenant, challenge_id, code=code)
        except (StepUpFailed, UnknownChallenge) as exc:
            return _code_page(
                request,
                services,
                tenant,
                decision,
                challenge_id,
                "totp",
                next_url,
                status=403,
                error=message_for(language_of(request), exc),
            )
        return _entered(request, services, tenant, issued.id if issued else None, next_url)
    except TesseraError as exc:
        return _problem(request, services, tenant, exc, next_url)


@router.post("/sign-in/passkey")
async def sign_in_passkey_begin(request: Request, tenant: str, services: ServicesDep) -> Response:
    """The passkey instead of the code: a challenge for the same decision (or session)."""
    check_tenant(tenant)
    form = await read_form(request)
    next_url = safe_next(tenant, form.get("next"))
    decision = form.get("decision", "")[:40]
    try:
        pre, _ = pre_session(request)
        check_csrf(services, tenant, pre, form.get("csrf"))
        _limit(request, tenant)
        challenge_id, options = (
            _fake_id("chl"),
            unanswerable_passkey_options(services.authenticator.settings.rp_id, "required"),
        )
        waiting = session_of(request, services, tenant)
        try:
            if decision:
                challenge = services.authenticator.begin_step_up(
                    tenant, "webauthn", decision_id=decision
                )
            elif waiting is not None:
                challenge = services.authenticator.begin_step_up(
                    tenant, "webauthn", session_id=waiting[0], target=Assurance.HIGH
                )
            else:
                raise UnknownDecision("no sign-in under way")
            challenge_id, options = challenge.id, challenge.options or options
        except (FactorNotEnrolled, UnknownDecision):
            pass  # the same page as for a member of staff who has one: nothing says who exists
        return page(
            request,
            services,
            tenant,
            "passkey.html",
            ceremony="get",
            action=f"{base(tenant)}/sign-in/passkey/complete",
            decision=decision,
            challenge=challenge_id,
            options=options,
            next=next_url,
        )
    except TesseraError as exc:
        return _problem(request, services, tenant, exc, next_url)


@router.post("/sign-in/passkey/complete")
async def sign_in_passkey(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    form = await read_form(request)
    next_url = safe_next(tenant, form.get("next"))
    try:
        pre, _ = pre_session(request)
        check_csrf(services, tenant, pre, form.get("csrf"))
        _limit(request, tenant)
        issued, _ = services.authenticator.complete_step_up(
            tenant, form.get("challenge", "")[:40], credential=passkey_answer(form)
        )
        return _entered(request, services, tenant, issued.id if issued else None, next_url)
    except TesseraError as exc:
        return _problem(request, services, tenant, exc, next_url)


def _entered(
    request: Request, services: Services, tenant: str, issued: str | None, next_url: str
) -> Response:
    """Signed in: a new session from a decision, or the waiting one now raised. Either must
    belong to a member of staff at substantial or above, else nothing is opened."""
    session_id = issued
    if session_id is None:
        waiting = session_of(request, services, tenant)
        if waiting is None:
            raise UnknownChallenge("no such challenge")
        session_id = waiting[0]
    info = services.authenticator.session(tenant, session_id)
    if (
        info.assurance < Assurance.SUBSTANTIAL
        or services.staff.of_subject(tenant, info.subject) is None
    ):
        services.authenticator.end_session(tenant, session_id)
        raise UnknownChallenge("no such challenge")
    response = redirect(next_url)
    set_cookie(response, request, SESSION_COOKIE, session_id, base(tenant))
    response.delete_cookie(PRE_COOKIE, path=base(tenant))
    return response


def _problem(
    request: Request, services: Services, tenant: str, exc: TesseraError, next_url: str
) -> HTMLResponse:
    response = page(
        request,
        services,
        tenant,
        "sign_in.html",
        status=status_of(exc),
        next=next_url,
        error=message_for(language_of(request), exc),
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    form = await read_form(request)
    desk = desk_of(request, services, tenant)
    if desk is not None:
        desk.check(form)
        services.authenticator.end_session(tenant, desk.session_id)
    response = redirect(f"{base(tenant)}/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=base(tenant))
    return response


# ---------------------------------------------------------------------- passkeys and high assurance
@router.post("/passkey")
async def add_passkey(request: Request, tenant: str, services: ServicesDep) -> Response:
    """A passkey for this member of staff: the browser creates it, the authenticator checks."""
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    desk = done.desk

    def act() -> Response:
        challenge = services.authenticator.begin_passkey(
            tenant, desk.session_id, label=f"Tessera console ({desk.member.login})"
        )
        return page(
            request,
            services,
            tenant,
            "passkey.html",
            desk=desk,
            ceremony="create",
            action=f"{base(tenant)}/passkey/complete",
            decision="",
            challenge=challenge.id,
            options=challenge.options or {},
            next=f"{base(tenant)}/",
        )

    return guarded(request, services, tenant, desk, act)


@router.post("/passkey/complete")
async def passkey_added(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done

    def act() -> Response:
        services.authenticator.complete_passkey(
            tenant, done.form.get("challenge", "")[:40], passkey_answer(done.form)
        )
        return redirect(f"{base(tenant)}/?passkey=1")

    return guarded(request, services, tenant, done.desk, act)


@router.get("/confirm")
def confirm(request: Request, tenant: str, services: ServicesDep) -> Response:
    """Before what needs high assurance: the passkey (a code never reaches high)."""
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    passkeys = [
        f
        for f in services.authenticator.factors(tenant, desk.member.subject)
        if f.kind == "webauthn"
    ]
    return page(
        request,
        services,
        tenant,
        "confirm.html",
        desk=desk,
        next=safe_next(tenant, request.query_params.get("next")),
        passkey=any(f.status == "active" for f in passkeys),
    )


@router.post("/confirm")
async def confirm_begin(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done

    def act() -> Response:
        challenge = services.authenticator.begin_step_up(
            tenant, "webauthn", session_id=done.desk.session_id, target=Assurance.HIGH
        )
        return page(
            request,
            services,
            tenant,
            "passkey.html",
            desk=done.desk,
            ceremony="get",
            action=f"{base(tenant)}/confirm/complete",
            decision="",
            challenge=challenge.id,
            options=challenge.options or {},
            next=safe_next(tenant, done.form.get("next")),
        )

    return guarded(request, services, tenant, done.desk, act)


@router.post("/confirm/complete")
async def confirm_complete(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done

    def act() -> Response:
        services.authenticator.complete_step_up(
            tenant, done.form.get("challenge", "")[:40], credential=passkey_answer(done.form)
        )
        return redirect(safe_next(tenant, done.form.get("next")))

    return guarded(request, services, tenant, done.desk, act)


@dataclass(frozen=True, slots=True)
class Posted:
    desk: Desk
    form: dict[str, str]


async def posted(request: Request, services: Services, tenant: str) -> Posted | Response:
    """A signed-in member of staff's form, its token checked; or the page that answers."""
    check_tenant(tenant)
    form = await read_form(request)
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    try:
        desk.check(form)
    except TesseraError as exc:
        return problem_page(request, services, tenant, desk, exc)
    return Posted(desk, form)
