"""The customer's card page behind a payment link: `/pay/{link}`, server-rendered.

It is the one page where a card is typed, so it is locked down: a Content-Security-Policy with
a per-response nonce and nothing else allowed (no third-party script, style, frame or form
target), no caching, no referrer, framing only by the operator's chat origins (`?embed=1`).
The card goes from the form straight to `Payments.pay_by_link`, which vaults it; the page then
runs the authentication the RTS asks for (a passkey bound to amount and payee, or a code that
states them), carried by a step key that only this page holds.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tessera import TesseraError
from tessera.auth import Challenge, Observation
from tessera.consent import Channel, ConsentRequest, EventKind, UnknownPurpose
from tessera.payments import (
    CARD_ON_FILE,
    CardDetails,
    LinkedPayment,
    PaymentDeclined,
    PaymentIntent,
    PaymentState,
    ProcessorUnavailable,
)
from tessera.payments import InvalidCard as _InvalidCard
from tessera.trust._services import Services

from ._problems import problem_for, problem_response

__all__ = ["router"]


async def _services_of_link(token: str, request: Request) -> Services:
    """This deployment's services; with regions, the region that holds the link's payment (a
    payment link carries no tenant: the customer only has the link)."""
    regions = request.app.state.regions
    if regions is None:
        services: Services = request.app.state.services
        return services
    for each in regions:
        if await run_in_threadpool(each.payments.holds_link, token):
            return each  # type: ignore[no-any-return]
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(_services_of_link)]

router = APIRouter(prefix="/pay", include_in_schema=False)

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_FORM_LIMIT = 2048  # a card form is a few dozen bytes
# A first-party device id for the risk analysis: a browser that confirmed a payment strongly
# is recognised the next time (and may then use an exemption). Random, nothing personal.
_DEVICE_COOKIE = "tessera_device"
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{22}")

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Secure payment",
        "number": "Card number",
        "expiry": "Expiry date",
        "expiry_hint": "MM/YY",
        "cvc": "Security code",
        "pay": "Pay",
        "confirm": "Confirm it is you",
        "confirm_why": "Your bank asks you to confirm this payment (amount and payee as shown).",
        "use_passkey": "Confirm with my passkey",
        "send_code": "Send me a code",
        "no_factor": "No way to confirm is set up for you: please ask your adviser.",
        "enter_code": "Enter your code",
        "code_sent": "We sent a code stating the amount and the payee to",
        "code": "Code",
        "confirm_button": "Confirm the payment",
        "paid": "Payment accepted",
        "paid_why": "You can close this page and return to the conversation.",
        "failed": "Payment not accepted",
        "failed_why": "Nothing was charged. Ask your adviser for a new link to try another card.",
        "pending": "Payment awaiting confirmation",
        "pending_why": "Your payment is waiting for confirmation.",
        "unavailable": "We could not reach the bank. Nothing was charged twice: please try again.",
        "safe": "Your card details go straight to our secure vault: "
        "the adviser, the chat and the recording never see them.",
        "one_tap": "Pay in one tap",
        "pay_with": "Pay with",
        "one_tap_why": "You confirm with your passkey; the amount and the payee are signed.",
        "other_card": "Or pay with another card",
        "save_card": "Keep this card for my next payments",
    },
    "fr": {
        "title": "Paiement sécurisé",
        "number": "Numéro de carte",
        "expiry": "Date d'expiration",
        "expiry_hint": "MM/AA",
        "cvc": "Cryptogramme",
        "pay": "Payer",
        "confirm": "Confirmez que c'est bien vous",
        "confirm_why": "Votre banque vous demande de confirmer ce paiement (montant et "
        "bénéficiaire ci-dessus).",
        "use_passkey": "Confirmer avec ma clé d'accès",
        "send_code": "M'envoyer un code",
        "no_factor": "Aucun moyen de confirmation n'est configuré : demandez à votre conseiller.",
        "enter_code": "Saisissez votre code",
        "code_sent": "Nous avons envoyé un code indiquant le montant et le bénéficiaire au",
        "code": "Code",
        "confirm_button": "Confirmer le paiement",
        "paid": "Paiement accepté",
        "paid_why": "Vous pouvez fermer cette page et revenir à la conversation.",
        "failed": "Paiement refusé",
        "failed_why": "Rien n'a été débité. Demandez un nouveau lien à votre conseiller pour "
        "essayer une autre carte.",
        "pending": "Paiement en attente de confirmation",
        "pending_why": "Votre paiement attend sa confirmation.",
        "unavailable": "La banque n'a pas répondu. Rien n'a été débité deux fois : réessayez.",
        "safe": "Vos données de carte vont directement dans notre coffre sécurisé : "
        "ni le conseiller, ni la conversation, ni l'enregistrement ne les voient.",
        "one_tap": "Payer en un geste",
        "pay_with": "Payer avec",
        "one_tap_why": "Vous confirmez avec votre clé d'accès ; le montant et le bénéficiaire "
        "sont signés.",
        "other_card": "Ou payez avec une autre carte",
        "save_card": "Garder cette carte pour mes prochains paiements",
    },
}


# What a customer reads for each problem (the API's detail is for developers, in English).
_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "invalid-payment-link": "This payment link is not valid. Ask your adviser for a new one.",
        "payment-link-expired": "This payment link has expired. Ask your adviser for a new one.",
        "payment-link-used": "This payment link was already used.",
        "payment-expired": "This payment has expired. Ask your adviser for a new link.",
        "invalid-card": "Check the card number, the expiry date and the security code.",
        "step-up-failed": "That did not work. Check the code and try again.",
        "challenge-expired": "The code has expired. Ask for a new one.",
        "replayed": "This code was already used. Ask for a new one.",
        "account-locked": "Too many attempts. Please try again later.",
        "invalid-transition": "This payment can no longer be changed here.",
        "no-card-on-file-consent": "This saved card can no longer be used: enter a card.",
        "unknown-card": "This saved card can no longer be used: enter a card.",
    },
    "fr": {
        "invalid-payment-link": "Ce lien de paiement n'est pas valide. Demandez-en un nouveau à "
        "votre conseiller.",
        "payment-link-expired": "Ce lien de paiement a expiré. Demandez-en un nouveau à votre "
        "conseiller.",
        "payment-link-used": "Ce lien de paiement a déjà été utilisé.",
        "payment-expired": "Ce paiement a expiré. Demandez un nouveau lien à votre conseiller.",
        "invalid-card": "Vérifiez le numéro de carte, la date d'expiration et le cryptogramme.",
        "step-up-failed": "Cela n'a pas fonctionné. Vérifiez le code et réessayez.",
        "challenge-expired": "Le code a expiré. Demandez-en un nouveau.",
        "replayed": "Ce code a déjà été utilisé. Demandez-en un nouveau.",
        "account-locked": "Trop de tentatives. Réessayez plus tard.",
        "invalid-transition": "Ce paiement ne peut plus être modifié ici.",
        "no-card-on-file-consent": "Cette carte enregistrée n'est plus utilisable : saisissez "
        "une carte.",
        "unknown-card": "Cette carte enregistrée n'est plus utilisable : saisissez une carte.",
    },
}


def _message(request: Request, exc: TesseraError) -> str:
    return _MESSAGES[_lang(request)].get(problem_for(exc).slug, exc.detail)


def _lang(request: Request) -> str:
    accepted = request.headers.get("accept-language", "")[:200].lower()
    return "fr" if accepted.startswith("fr") else "en"


def _headers(request: Request, services: Services, nonce: str) -> dict[str, str]:
    embed = request.query_params.get("embed") == "1"
    ancestors = " ".join(services.settings.payment_frame_ancestors) if embed else ""
    ancestors = ancestors or "'none'"
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'",
            f"style-src 'nonce-{nonce}'",
            "connect-src 'self'",
            "img-src 'self' data:",
            "form-action 'self'",
            "base-uri 'none'",
            f"frame-ancestors {ancestors}",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def _page(
    request: Request,
    services: Services,
    token: str,
    intent: PaymentIntent | None,
    *,
    view: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = _lang(request)
    nonce = secrets.token_urlsafe(16)
    embed = request.query_params.get("embed") == "1"
    device = _device(request)
    html = _TEMPLATES.get_template("pay.html").render(
        lang=lang,
        t=_TEXT[lang],
        nonce=nonce,
        embed=embed,
        query="?embed=1" if embed else "",
        base=f"/pay/{token}",
        view=view,
        payee=intent.payee if intent else "",
        amount=intent.amount.format(lang) if intent else "",
        reference=intent.reference if intent else "",
        card=intent.card if intent else None,
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=_headers(request, services, nonce))
    if device != request.cookies.get(_DEVICE_COOKIE):
        response.set_cookie(
            _DEVICE_COOKIE,
            device,
            max_age=400 * 86400,
            path="/pay",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )
    return response


def _known_device(request: Request) -> str | None:
    given = request.cookies.get(_DEVICE_COOKIE, "")
    return given if _DEVICE_ID.fullmatch(given) else None


def _device(request: Request) -> str:
    return _known_device(request) or secrets.token_urlsafe(16)


def _error_page(
    request: Request,
    services: Services,
    exc: TesseraError,
    token: str | None = None,
    intent: PaymentIntent | None = None,
) -> HTMLResponse:
    """A problem, for a person: the same status as the API's problem, in a page."""
    return _page(
        request,
        services,
        token or "-",
        intent,
        view="error",
        status=problem_for(exc).status,
        error=_message(request, exc),
    )


def _outcome(
    request: Request, services: Services, token: str, linked: LinkedPayment, step: str
) -> HTMLResponse:
    """What the customer sees once the card is in: done, failed, or the authentication."""
    intent = linked.intent
    t = _TEXT[_lang(request)]
    if intent.state is PaymentState.AUTHENTICATING:
        kinds = _factor_kinds(services, linked.tenant, intent.subject)
        if intent.card_on_file:
            kinds.discard("otp")  # a card on file is confirmed with the passkey only
        return _page(
            request,
            services,
            token,
            intent,
            view="authenticate",
            step=step,
            passkey="webauthn" in kinds,
            otp="otp" in kinds,
        )
    tone, headline, why = _OUTCOMES.get(intent.state, ("", "pending", "pending_why"))
    return _page(
        request,
        services,
        token,
        intent,
        view="done",
        tone=tone,
        headline=t[headline],
        explanation=t[why],
    )


_OUTCOMES = {
    PaymentState.AUTHORIZED: ("ok", "paid", "paid_why"),
    PaymentState.CAPTURED: ("ok", "paid", "paid_why"),
    PaymentState.FAILED: ("bad", "failed", "failed_why"),
    PaymentState.EXPIRED: ("bad", "failed", "failed_why"),
}


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > _FORM_LIMIT:
        return {}
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in fields.items() if v}


def _observation(request: Request) -> Observation:
    return Observation(
        channel="web",
        at=request.app.state.services.clock(),
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent", "")[:512] or None,
        device_id=_known_device(request),
    )


def _factor_kinds(services: Services, tenant: str, subject: str) -> set[str]:
    return {f.kind for f in services.authenticator.factors(tenant, subject) if f.status == "active"}


def _card_form(
    request: Request,
    services: Services,
    token: str,
    linked: LinkedPayment,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    """The card form; above it, the customer's cards on file (one tap, when they hold a
    passkey); in it, the box to keep the card, when the tenant offers cards on file."""
    tenant, subject = linked.tenant, linked.intent.subject
    try:
        purpose = services.catalogue.get(tenant, CARD_ON_FILE)
    except UnknownPurpose:
        purpose = None
    cards = (
        services.payments.cards.cards(tenant, subject)
        if purpose is not None and "webauthn" in _factor_kinds(services, tenant, subject)
        else []
    )
    lang = _lang(request)
    return _page(
        request,
        services,
        token,
        linked.intent,
        view="card",
        status=status,
        error=error,
        cards_on_file=cards,
        offer_save=purpose is not None,
        save_hint=purpose.descriptions.get(lang, "") if purpose else "",
    )


def _keep_card_consent(services: Services, linked: LinkedPayment) -> None:
    """The box was ticked: that is the customer's consent, recorded with its evidence."""
    services.consents.record(
        linked.tenant,
        ConsentRequest(
            linked.intent.subject,
            CARD_ON_FILE,
            EventKind.GIVEN,
            Channel.WEB,  # where the choice was made: the card page, whatever led to it
            {"form_id": "pay-page", "session_id": linked.intent.id},
        ),
    )


@router.get("/{token}")
def card_page(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """The card form, while the link is genuine, unexpired and unused."""
    try:
        linked = services.payments.open_link(token)
    except TesseraError as exc:
        return _error_page(request, services, exc)
    return _card_form(request, services, token, linked)


@router.post("/{token}")
async def submit_card(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    form = await _form(request)
    try:
        linked = services.payments.open_link(token)
    except TesseraError as exc:
        return _error_page(request, services, exc)
    try:
        card = CardDetails.keyed(
            form.get("number", ""),
            form.get("expiry", ""),
            form.get("cvc"),
            today=services.clock().date(),
        )
    except _InvalidCard as exc:  # the link is not spent: the customer corrects the card
        return _card_form(
            request, services, token, linked, status=422, error=_message(request, exc)
        )
    save = form.get("save_card") == "1"
    try:
        if save:
            _keep_card_consent(services, linked)
        paid, step = services.payments.pay_by_link(
            token, card, observation=_observation(request), save_card=save
        )
    except ProcessorUnavailable:
        t = _TEXT[_lang(request)]
        return _card_form(request, services, token, linked, status=503, error=t["unavailable"])
    except PaymentDeclined:
        intent = services.payments.get(linked.tenant, linked.intent.id)
        return _outcome(request, services, token, LinkedPayment(linked.tenant, intent), "")
    except TesseraError as exc:
        return _error_page(request, services, exc, token, linked.intent)
    return _outcome(request, services, token, paid, step)


@router.post("/{token}/status")
async def status_page(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    form = await _form(request)
    try:
        linked = services.payments.link_session(token, form.get("step", ""))
    except TesseraError as exc:
        return _error_page(request, services, exc)
    return _outcome(request, services, token, linked, form.get("step", ""))


@router.post("/{token}/code/send")
async def send_code(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    form = await _form(request)
    step = form.get("step", "")
    try:
        linked = services.payments.link_session(token, step)
        challenge = services.payments.begin_authentication(
            linked.tenant, linked.intent.id, "otp", locale=_lang(request)
        )
    except TesseraError as exc:
        return _error_page(request, services, exc)
    return _page(
        request,
        services,
        token,
        linked.intent,
        view="code",
        step=step,
        challenge_id=challenge.id,
        sent_to=challenge.sent_to or "",
    )


@router.post("/{token}/code")
async def enter_code(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    form = await _form(request)
    step = form.get("step", "")
    try:
        linked = services.payments.link_session(token, step)
    except TesseraError as exc:
        return _error_page(request, services, exc)
    try:
        services.payments.complete_authentication(
            linked.tenant, linked.intent.id, form.get("challenge_id", ""), code=form.get("code")
        )
    except (PaymentDeclined, ProcessorUnavailable):
        pass  # the outcome page says what became of the payment
    except TesseraError as exc:
        return _page(
            request,
            services,
            token,
            linked.intent,
            view="code",
            status=problem_for(exc).status,
            step=step,
            error=_message(request, exc),
            challenge_id=form.get("challenge_id", ""),
            sent_to="",
        )
    intent = services.payments.get(linked.tenant, linked.intent.id)
    return _outcome(request, services, token, LinkedPayment(linked.tenant, intent), step)


@router.post("/{token}/card-on-file")
async def card_on_file(token: str, request: Request, services: ServicesDep) -> JSONResponse:
    """One tap: use the link with a card on file and start the passkey in the same trip."""
    body = await _json_body(request)
    try:
        linked, step = services.payments.pay_by_link_on_file(
            token, str(body.get("card_id", ""))[:64], observation=_observation(request)
        )
        challenge = _passkey_challenge(request, services, linked)
    except TesseraError as exc:
        return _problem(request, exc)
    return _no_store({"step": step, "challenge_id": challenge.id, "options": challenge.options})


@router.post("/{token}/passkey/begin")
async def passkey_begin(token: str, request: Request, services: ServicesDep) -> JSONResponse:
    body = await _json_body(request)
    try:
        linked = services.payments.link_session(token, str(body.get("step", "")))
        challenge = _passkey_challenge(request, services, linked)
    except TesseraError as exc:
        return _problem(request, exc)
    return _no_store({"challenge_id": challenge.id, "options": challenge.options})


@router.post("/{token}/passkey/complete")
async def passkey_complete(token: str, request: Request, services: ServicesDep) -> JSONResponse:
    body = await _json_body(request)
    try:
        linked = services.payments.link_session(token, str(body.get("step", "")))
        intent = services.payments.complete_authentication(
            linked.tenant,
            linked.intent.id,
            str(body.get("challenge_id", "")),
            credential=body.get("credential") if isinstance(body.get("credential"), dict) else None,
        )
    except TesseraError as exc:
        return _problem(request, exc)
    return _no_store({"state": intent.state.value})


def _passkey_challenge(request: Request, services: Services, linked: LinkedPayment) -> Challenge:
    """The passkey challenge for this payment, bound to its amount and payee."""
    return services.payments.begin_authentication(
        linked.tenant, linked.intent.id, "webauthn", locale=_lang(request)
    )


def _no_store(payload: dict[str, Any]) -> JSONResponse:
    return JSONResponse(payload, headers={"Cache-Control": "no-store"})


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > 16 * 1024:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _problem(request: Request, exc: TesseraError) -> JSONResponse:
    return problem_response(problem_for(exc), exc.detail, request)
