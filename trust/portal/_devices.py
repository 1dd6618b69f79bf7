"""My devices and factors, and my saved cards: what proves it is the customer (passkeys, an
authenticator app, the numbers and addresses codes go to, the voice PIN for payments by phone)
and the cards kept for one-tap payments, shown masked; enrolment and removal. Removing anything,
or adding a factor, needs a session proven strongly within the limit: an intruder at low
assurance can neither lock the customer out nor slip in a factor of their own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tessera import Channel, TesseraError
from tessera.auth import check_voice_pin
from tessera.consent import ConsentRequest, EventKind
from tessera.payments import CARD_ON_FILE
from tessera.trust.web import passkey_answer
from tessera.vault import InvalidValue

from ._forms import Posted, confirm_first, posted, problem_page, signed_in
from ._guard import ServicesDep, Visit, base, session_ref
from ._i18n import N_, language_of
from ._render import gettext, page, redirect

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = ["router"]

router = APIRouter(prefix="/portal/{tenant}", include_in_schema=False)

_KINDS = {
    "webauthn": N_("Passkey"),
    "totp": N_("Authenticator app"),
    "otp": N_("Codes by message"),
    "device": N_("Mobile app"),
    "caller": N_("Registered phone number (calls)"),
    "sender": N_("Registered messaging account"),
    "voice_pin": N_("Voice PIN (payments by phone)"),
}
_STEP_UP = frozenset({"webauthn", "totp", "otp"})
_ADD_TEXT = N_("Your code to add this number or address to your privacy space")
_PIN_RULE = N_("A voice PIN is six digits, neither a run like 123456 nor one digit repeated.")
_LAST = N_("Keep at least one way to confirm it is you: add another before removing this one.")


def _factors(services: Services, visit: Visit, lang: str) -> list[dict[str, object]]:
    rows = []
    for f in services.authenticator.factors(visit.tenant, visit.subject):
        if f.status != "active":
            continue
        label = f.label
        if f.kind == "otp":
            label = {"sms": "SMS", "email": "e-mail", "messaging": "messaging"}.get(
                f.channel or "", f.label
            )
        elif f.kind == "voice_pin":
            label = gettext(lang, N_("six digits"))
        rows.append(
            {
                "id": f.id,
                "kind": gettext(lang, _KINDS.get(f.kind, N_("Other"))),
                "label": label,
                "created": f.created_at,
                "used": f.last_used_at,
            }
        )
    return rows


@router.get("/devices")
def devices(request: Request, tenant: str, services: ServicesDep) -> Response:
    visit = signed_in(request, services, tenant)
    if not isinstance(visit, Visit):
        return visit
    return _devices_page(request, services, visit)


def _devices_page(
    request: Request,
    services: Services,
    visit: Visit,
    *,
    exc: TesseraError | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "factors": _factors(services, visit, language_of(request)),
        "has_pin": any(
            f.kind == "voice_pin" and f.status == "active"
            for f in services.authenticator.factors(visit.tenant, visit.subject)
        ),
        "cards": services.payments.cards.cards(visit.tenant, visit.subject),
    }
    if exc is not None:
        return problem_page(request, services, visit, exc, template="devices.html", **context)
    return page(
        request,
        services,
        visit.tenant,
        "devices.html",
        visit=visit,
        status=status,
        error=error,
        **context,
    )


async def _strong_form(request: Request, services: Services, tenant: str) -> Posted | Response:
    """A devices form from a session proven strongly within the limit (else confirm first)."""
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    return confirm_first(services, done.visit, f"{base(tenant)}/devices") or done


@router.post("/devices/{factor_id}/remove")
async def remove_factor(
    request: Request, tenant: str, factor_id: str, services: ServicesDep
) -> Response:
    done = await _strong_form(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    visit = done.visit
    try:
        mine = {
            f.id: f
            for f in services.authenticator.factors(tenant, visit.subject)
            if f.status == "active"
        }
        factor = mine.get(factor_id[:40])
        if factor is None:
            raise InvalidValue("no such factor")  # another customer's, or none
        if factor.kind in _STEP_UP and not any(
            f.kind in _STEP_UP for f in mine.values() if f.id != factor.id
        ):
            return _devices_page(
                request, services, visit, status=409, error=gettext(done.lang, _LAST)
            )
        services.authenticator.revoke_factor(tenant, visit.subject, factor.id)
    except TesseraError as exc:
        return _devices_page(request, services, visit, exc=exc)
    return redirect(f"{base(tenant)}/devices?removed=1")


@router.post("/cards/{card_id}/remove")
async def remove_card(
    request: Request, tenant: str, card_id: str, services: ServicesDep
) -> Response:
    """Remove a saved card; the last one goes with the consent to keep cards (withdrawn on
    channel web, with its receipt), so that no card can be kept again without asking."""
    done = await _strong_form(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    visit = done.visit
    try:
        services.payments.cards.remove(tenant, visit.subject, card_id[:40])
        if services.payments.cards.cards(tenant, visit.subject):
            return redirect(f"{base(tenant)}/devices?removed=1")
        event = services.consents.record(
            tenant,
            ConsentRequest(
                subject=visit.subject,
                purpose=CARD_ON_FILE,
                kind=EventKind.WITHDRAWN,
                channel=Channel.WEB,
                evidence={"form_id": "portal/cards", "session_id": session_ref(visit.session_id)},
            ),
        )
    except TesseraError as exc:
        return _devices_page(request, services, visit, exc=exc)
    return redirect(f"{base(tenant)}/receipts/{event.id}?new=1")


@router.post("/devices/totp")
async def enrol_totp(request: Request, tenant: str, services: ServicesDep) -> Response:
    """An authenticator app: a QR code to scan, then a first code to confirm it."""
    done = await _strong_form(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    try:
        enrolment = services.authenticator.enrol_totp(
            tenant, done.visit.session_id, label=gettext(done.lang, N_("Authenticator app"))
        )
    except TesseraError as exc:
        return _devices_page(request, services, done.visit, exc=exc)
    return page(
        request,
        services,
        tenant,
        "totp.html",
        visit=done.visit,
        factor=enrolment.factor_id,
        qr=enrolment.qr_svg,
        secret=enrolment.secret,
    )


@router.post("/devices/voice-pin")
async def set_voice_pin(request: Request, tenant: str, services: ServicesDep) -> Response:
    """The PIN said to a voice assistant or a callbot to confirm a payment: six digits, kept as
    an argon2id hash only; setting it (or a new one) needs a strong session, as adding any
    factor does."""
    done = await _strong_form(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    pin = done.form.get("pin", "").strip()[:12]
    try:
        check_voice_pin(pin)
    except InvalidValue:  # said in the customer's words, not the API's
        return _devices_page(
            request, services, done.visit, error=gettext(done.lang, _PIN_RULE), status=422
        )
    try:
        services.authenticator.set_voice_pin(tenant, done.visit.session_id, pin)
    except TesseraError as exc:
        return _devices_page(request, services, done.visit, exc=exc)
    return redirect(f"{base(tenant)}/devices?added=1")


@router.post("/devices/totp/confirm")
async def confirm_totp(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    factor = done.form.get("factor", "")[:40]
    try:
        code = done.form.get("code", "").strip().replace(" ", "")[:12]
        services.authenticator.confirm_totp(tenant, done.visit.session_id, factor, code)
    except TesseraError as exc:
        return problem_page(
            request,
            services,
            done.visit,
            exc,
            template="totp.html",
            factor=factor,
            qr=None,
            secret=None,
        )
    return redirect(f"{base(tenant)}/devices?added=1")


@router.post("/devices/passkey")
async def enrol_passkey(request: Request, tenant: str, services: ServicesDep) -> Response:
    """A passkey on this device: the browser creates it, the authenticator checks it."""
    from ._signin import _passkey_page

    done = await _strong_form(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    try:
        challenge = services.authenticator.begin_passkey(
            tenant, done.visit.session_id, label=gettext(done.lang, N_("Passkey"))
        )
    except TesseraError as exc:
        return _devices_page(request, services, done.visit, exc=exc)
    return _passkey_page(
        request,
        services,
        tenant,
        visit=done.visit,
        ceremony="create",
        action=f"{base(tenant)}/devices/passkey/complete",
        decision="",
        challenge=challenge.id,
        options=challenge.options or {},
        shown="",
        next_url=f"{base(tenant)}/devices",
    )


@router.post("/devices/passkey/complete")
async def complete_passkey(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    try:
        services.authenticator.complete_passkey(
            tenant, done.form.get("challenge", "")[:40], passkey_answer(done.form)
        )
    except TesseraError as exc:
        return _devices_page(request, services, done.visit, exc=exc)
    return redirect(f"{base(tenant)}/devices?added=1")


@router.post("/devices/number")
async def add_number(request: Request, tenant: str, services: ServicesDep) -> Response:
    """A phone number or an e-mail address for codes: vaulted, then proven by a first code."""
    done = await _strong_form(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    visit = done.visit
    try:
        value = done.form.get("value", "").strip()[:200]
        category, channel = ("email", "email") if "@" in value else ("phone", "sms")
        held = [
            r
            for r in services.vault.find(tenant, value, category=category)
            if r.subject == visit.subject
        ]
        token = (
            held[0].token
            if held
            else services.vault.tokenize(
                tenant, value, category=category, subject=visit.subject
            ).token
        )
        challenge = services.authenticator.begin_destination(
            tenant, visit.session_id, channel, token, message=gettext(done.lang, _ADD_TEXT)
        )
    except TesseraError as exc:
        return _devices_page(request, services, visit, exc=exc)
    return page(
        request,
        services,
        tenant,
        "code.html",
        visit=visit,
        mode="confirm",
        action=f"{base(tenant)}/devices/number/confirm",
        switch=None,
        decision="",
        challenge=challenge.id,
        factor="otp",
        shown=challenge.sent_to or "",
        next=f"{base(tenant)}/devices",
        error=None,
    )


@router.post("/devices/number/confirm")
async def confirm_number(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    try:
        code = done.form.get("code", "").strip().replace(" ", "")[:12]
        services.authenticator.confirm_destination(
            tenant, done.visit.session_id, done.form.get("challenge", "")[:40], code
        )
    except TesseraError as exc:
        return _devices_page(request, services, done.visit, exc=exc)
    return redirect(f"{base(tenant)}/devices?added=1")
