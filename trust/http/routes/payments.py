"""`/v1/payments`: intents, card payment, SCA bound to amount and payee, capture, refunds.

Amounts travel as integers of minor units with their ISO 4217 currency (`{"amount": 1250,
"currency": "EUR"}` is €12.50): a JSON float never holds money. Responses show the card only
masked; the security code is accepted by the card step alone and never echoed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from tessera.auth import VoicePossession
from tessera.payments import PAYMENT_CHANNELS, CardDetails, Keypad, Money, PaymentIntent, Refund
from tessera.trust.gateway import refused
from tessera.trust.http._dependencies import CallerDep, ServicesDep, Strict
from tessera.trust.http._models import (
    ChallengeOut,
    FromDomain,
    ObservationIn,
    SubjectPath,
    one_of,
)
from tessera.trust.http._pages import CursorQuery, LimitQuery, Page, page_of
from tessera.trust.identity import Scope

__all__ = ["router"]

router = APIRouter(prefix="/v1/payments", tags=["payments"])


class AmountIn(Strict):
    amount: StrictInt = Field(description="minor units: 1250 is 12.50 EUR")
    currency: StrictStr = Field(max_length=8)

    def money(self) -> Money:
        return Money(self.amount, self.currency)


class IntentIn(AmountIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "amount": 4990,
                    "currency": "EUR",
                    "subject": "cust_12345",
                    "payee": "Acme Telecom",
                    "reference": "invoice 2026-11-0042",
                    "channel": "chat",
                }
            ]
        }
    )

    subject: StrictStr = Field(max_length=128)
    payee: StrictStr = Field(max_length=128)
    reference: StrictStr = Field(default="", max_length=140)
    channel: StrictStr = Field(
        default="chat", max_length=32, json_schema_extra=one_of(PAYMENT_CHANNELS)
    )


class CardIn(Strict):
    number: StrictStr = Field(max_length=32)
    expiry: StrictStr = Field(max_length=10, description="MM/YY")
    cvc: StrictStr | None = Field(default=None, max_length=4)
    observation: ObservationIn | None = None
    telephone_order: bool = False
    save_card: bool = Field(
        default=False,
        description="keep the card on file once authorized (needs consent for card_on_file)",
    )


class CardOnFileIn(Strict):
    card_id: StrictStr = Field(max_length=40)
    observation: ObservationIn | None = None


class AmendIn(Strict):
    amount: AmountIn | None = None
    payee: StrictStr | None = Field(default=None, max_length=128)


class VoicePossessionIn(Strict):
    """What the voice channel shows of possession: the registered line as the telephony layer
    saw it, or a linked voice assistant's device key (which then signs the approval)."""

    caller_number: StrictStr | None = Field(default=None, max_length=32)
    attestation: Literal["A", "B", "C"] | None = None
    sim_swapped: bool | None = Field(
        default=None, description="the operator's answer; only false stands for possession"
    )
    device_key_id: StrictStr | None = Field(default=None, max_length=40)


class BeginAuthIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"factor": "webauthn"},
                {
                    "factor": "voice_pin",
                    "locale": "fr",
                    "possession": {
                        "caller_number": "+33612345678",
                        "attestation": "A",
                        "sim_swapped": False,
                    },
                },
            ]
        }
    )

    factor: Literal["webauthn", "otp", "app", "voice_pin"] = Field(
        description="a passkey, a code stating the amount and payee, the app's approval, or a "
        "voice PIN with the possession the voice channel gives"
    )
    channel: StrictStr | None = Field(default=None, max_length=16)
    locale: StrictStr = Field(default="en", max_length=16)
    possession: VoicePossessionIn | None = None


class CompleteAuthIn(Strict):
    challenge_id: StrictStr = Field(max_length=40)
    code: StrictStr | None = Field(default=None, max_length=12)
    credential: dict[str, Any] | None = None


class CaptureIn(Strict):
    amount: AmountIn | None = None


class RefundIn(Strict):
    amount: AmountIn | None = None


class ScaOut(BaseModel):
    required: bool
    exemption: str | None
    article: str
    reason: str


class IntentOut(BaseModel):
    id: str
    subject: str
    amount: int
    currency: str
    display_amount: str
    payee: str
    reference: str
    channel: str
    state: str
    card: str | None
    sca: ScaOut | None
    authenticated: bool
    captured: int
    refunded: int
    failure_code: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    card_on_file: str | None = Field(default=None, description="the card on file paid with")


class KeysIn(Strict):
    keys: StrictStr = Field(max_length=64, description="DTMF: 0-9, * (clear field), # (end)")


class KeypadViewOut(FromDomain):
    field: str
    number_digits: int
    number_luhn_valid: bool | None
    brand: str | None
    expiry_digits: int
    cvc_digits: int
    rejected: int
    complete: bool


class KeypadOut(BaseModel):
    id: str
    state: str
    view: KeypadViewOut
    payment: IntentOut


class PaymentLinkOut(BaseModel):
    payment_id: str
    url: str = Field(description="for a message or an SMS: the card page, single use")
    embed_url: str = Field(description="the same page for a web chat's frame")
    expires_at: dt.datetime


class CardOnFileOut(FromDomain):
    id: str
    subject: str
    card: str = Field(description="masked: brand, BIN and last four")
    brand: str
    expiry: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class RefundOut(BaseModel):
    id: str
    payment_id: str
    amount: int
    currency: str
    state: str


def _out(intent: PaymentIntent) -> IntentOut:
    sca = intent.sca
    return IntentOut(
        id=intent.id,
        subject=intent.subject,
        amount=intent.amount.amount,
        currency=intent.amount.currency,
        display_amount=str(intent.amount),
        payee=intent.payee,
        reference=intent.reference,
        channel=intent.channel,
        state=intent.state.value,
        card=intent.card,
        sca=ScaOut(
            required=sca.required,
            exemption=sca.exemption.value if sca.exemption else None,
            article=sca.article,
            reason=sca.reason,
        )
        if sca
        else None,
        authenticated=intent.authenticated,
        captured=intent.captured,
        refunded=intent.refunded,
        failure_code=intent.failure_code,
        created_at=intent.created_at,
        expires_at=intent.expires_at,
        card_on_file=intent.card_on_file,
    )


def _refund_out(refund: Refund) -> RefundOut:
    return RefundOut(
        id=refund.id,
        payment_id=refund.intent_id,
        amount=refund.amount.amount,
        currency=refund.amount.currency,
        state=refund.state,
    )


IdempotencyKey = Header(max_length=128, alias="Idempotency-Key")


@router.post("", response_model=IntentOut, status_code=201)
def create_intent(
    body: IntentIn, who: CallerDep, services: ServicesDep, key: str = IdempotencyKey
) -> IntentOut:
    """Create a payment waiting for its card; the same Idempotency-Key returns the same payment."""
    who.require(Scope.PAYMENTS)
    return _out(
        services.payments.create_intent(
            who.tenant,
            body.subject,
            body.money(),
            payee=body.payee,
            reference=body.reference,
            channel=body.channel,
            idempotency_key=key,
        )
    )


@router.get("/{payment_id}", response_model=IntentOut)
def get_intent(payment_id: str, who: CallerDep, services: ServicesDep) -> IntentOut:
    """A payment's status and masked card: all an agent or a bot ever sees of a payment."""
    who.require(Scope.PAYMENTS)
    return _out(services.payments.get(who.tenant, payment_id))


@router.post("/{payment_id}/card", response_model=IntentOut)
def pay_with_card(
    payment_id: str, body: CardIn, who: CallerDep, services: ServicesDep
) -> IntentOut:
    """Give the card, straight into the vault; authorized at once when no SCA is needed."""
    who.require(Scope.PAYMENTS_CARD)
    card = CardDetails.keyed(body.number, body.expiry, body.cvc, today=services.clock().date())
    if body.telephone_order:
        intent = services.payments.get(who.tenant, payment_id)
        declared = services.gateway.declare_telephone_order(who, intent.subject, intent.channel)
        if not declared.allowed:
            raise refused(declared)
    return _out(
        services.payments.pay_with_card(
            who.tenant,
            payment_id,
            card,
            observation=body.observation.observed(services.clock()) if body.observation else None,
            telephone_order=body.telephone_order,
            save_card=body.save_card,
        )
    )


@router.post("/{payment_id}/card-on-file", response_model=IntentOut)
def pay_with_card_on_file(
    payment_id: str, body: CardOnFileIn, who: CallerDep, services: ServicesDep
) -> IntentOut:
    """Pay with a card on file: a card the customer kept, while their consent stands; the
    payment then waits for their passkey (`authentication/begin` with `webauthn`), bound to
    amount and payee."""
    who.require(Scope.PAYMENTS)
    return _out(
        services.payments.pay_with_card_on_file(
            who.tenant,
            payment_id,
            body.card_id,
            observation=body.observation.observed(services.clock()) if body.observation else None,
        )
    )


class CardPage(Page[CardOnFileOut]):
    pass


@router.get("/subjects/{subject_id}/cards", response_model=CardPage)
def cards_on_file(
    subject_id: SubjectPath,
    who: CallerDep,
    services: ServicesDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """The customer's cards on file, masked (none without their consent, none expired)."""
    who.require(Scope.PAYMENTS)
    cards = services.payments.cards.cards(who.tenant, subject_id)
    return page_of([CardOnFileOut.model_validate(c) for c in cards], limit, cursor)


@router.delete("/subjects/{subject_id}/cards/{card_id}", status_code=204)
def remove_card_on_file(
    subject_id: SubjectPath, card_id: str, who: CallerDep, services: ServicesDep
) -> None:
    """Remove one card on file, as the customer asked (withdrawing the consent removes them all)."""
    who.require(Scope.PAYMENTS)
    services.payments.cards.remove(who.tenant, subject_id, card_id)


@router.post("/{payment_id}/link", response_model=PaymentLinkOut, status_code=201)
def issue_link(payment_id: str, who: CallerDep, services: ServicesDep) -> PaymentLinkOut:
    """A signed single-use link to the card page; a new one replaces the last."""
    who.require(Scope.PAYMENTS)
    link = services.payments.issue_link(who.tenant, payment_id)
    url = f"{services.settings.public_url.rstrip('/')}/pay/{link.token}"
    return PaymentLinkOut(
        payment_id=link.payment_id, url=url, embed_url=f"{url}?embed=1", expires_at=link.expires_at
    )


def _keypad_out(pad: Keypad) -> KeypadOut:
    return KeypadOut(
        id=pad.id,
        state=pad.state,
        view=KeypadViewOut.model_validate(pad.view),
        payment=_out(pad.payment),
    )


@router.post("/{payment_id}/keypad", response_model=KeypadOut, status_code=201)
def begin_keypad(payment_id: str, who: CallerDep, services: ServicesDep) -> KeypadOut:
    """The agent hands the caller to the keypad; the telephony side sends the keys."""
    who.require(Scope.PAYMENTS)
    return _keypad_out(services.phone.begin(who.tenant, payment_id))


@router.post("/keypads/{keypad_id}/keys", response_model=KeypadOut)
def press_keys(keypad_id: str, body: KeysIn, who: CallerDep, services: ServicesDep) -> KeypadOut:
    """DTMF from the telephony side (scope payments:card): never echoed, only progress."""
    who.require(Scope.PAYMENTS_CARD)
    return _keypad_out(services.phone.press(who.tenant, keypad_id, body.keys))


@router.get("/keypads/{keypad_id}", response_model=KeypadOut)
def keypad(keypad_id: str, who: CallerDep, services: ServicesDep) -> KeypadOut:
    """The agent's keypad screen: how many digits, Luhn, brand; never a digit."""
    who.require(Scope.PAYMENTS)
    return _keypad_out(services.phone.get(who.tenant, keypad_id))


@router.post("/{payment_id}/amend", response_model=IntentOut)
def amend(payment_id: str, body: AmendIn, who: CallerDep, services: ServicesDep) -> IntentOut:
    """Change a payment's amount before the card is given; SCA is decided again."""
    who.require(Scope.PAYMENTS)
    return _out(
        services.payments.amend(
            who.tenant,
            payment_id,
            amount=body.amount.money() if body.amount else None,
            payee=body.payee,
        )
    )


@router.post("/{payment_id}/authentication/begin", response_model=ChallengeOut)
def begin_authentication(
    payment_id: str, body: BeginAuthIn, who: CallerDep, services: ServicesDep
) -> ChallengeOut:
    """SCA bound to the amount and payee: passkey options, or a code stating both."""
    who.require(Scope.PAYMENTS_CARD)
    return ChallengeOut.of(
        services.payments.begin_authentication(
            who.tenant,
            payment_id,
            body.factor,
            channel=body.channel,
            locale=body.locale,
            possession=VoicePossession(**body.possession.model_dump()) if body.possession else None,
        )
    )


@router.post("/{payment_id}/authentication/complete", response_model=IntentOut)
def complete_authentication(
    payment_id: str, body: CompleteAuthIn, who: CallerDep, services: ServicesDep
) -> IntentOut:
    """Answer the payment's SCA challenge; an authenticated payment can be authorised."""
    who.require(Scope.PAYMENTS_CARD)
    return _out(
        services.payments.complete_authentication(
            who.tenant,
            payment_id,
            body.challenge_id,
            code=body.code,
            credential=body.credential,
        )
    )


@router.post("/{payment_id}/capture", response_model=IntentOut)
def capture(payment_id: str, body: CaptureIn, who: CallerDep, services: ServicesDep) -> IntentOut:
    """Capture an authorised payment, in whole or in part."""
    who.require(Scope.PAYMENTS)
    amount = body.amount.money() if body.amount else None
    return _out(services.payments.capture(who.tenant, payment_id, amount))


@router.post("/{payment_id}/refunds", response_model=RefundOut, status_code=201)
def refund(
    payment_id: str,
    body: RefundIn,
    who: CallerDep,
    services: ServicesDep,
    key: str = IdempotencyKey,
) -> RefundOut:
    """Refund all or part of what was captured; the same Idempotency-Key never refunds twice."""
    who.require(Scope.PAYMENTS)
    amount = body.amount.money() if body.amount else None
    return _refund_out(
        services.payments.refund(who.tenant, payment_id, amount, idempotency_key=key)
    )


@router.post("/{payment_id}/fraud", response_model=IntentOut)
def report_fraud(payment_id: str, who: CallerDep, services: ServicesDep) -> IntentOut:
    """Report a payment found fraudulent later: it counts in the fraud rate (RTS Art. 19)."""
    who.require(Scope.PAYMENTS)
    return _out(services.payments.report_fraud(who.tenant, payment_id))
