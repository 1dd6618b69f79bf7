"""The payments package's value types and settings: what callers get back, what they configure,
and the recorder it answers to."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from ._money import Money
from ._sca import ScaDecision
from ._states import PaymentState

__all__ = [
    "LinkedPayment",
    "PaymentIntent",
    "PaymentRecorder",
    "PaymentsSettings",
    "Refund",
    "sha256_hex",
]


class PaymentRecorder(Protocol):
    """Where SCA decisions and money movements are answered for (the audit trail, via trust).
    Called before the processor: when it fails, nothing is charged (fail closed)."""

    def payment_recorded(self, tenant: str, subject: str, facts: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class PaymentsSettings:
    intent_ttl: dt.timedelta = dt.timedelta(minutes=15)  # a link or call waiting for a card
    link_ttl: dt.timedelta = dt.timedelta(minutes=15)  # never beyond the payment's own expiry
    capture_window: dt.timedelta = dt.timedelta(days=7)  # an authorization not captured lapses
    fraud_window: dt.timedelta = dt.timedelta(days=90)  # RTS Art. 19(1)
    # Euros per unit of each currency, for the RTS's euro limits; a currency without a rate
    # gets no value-based exemption. Set by the operator (no call leaves the machine).
    eur_rates: Mapping[str, Decimal] = field(default_factory=lambda: {"EUR": Decimal(1)})


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    id: str
    subject: str
    amount: Money
    payee: str
    reference: str
    channel: str
    state: PaymentState
    card: str | None  # masked, e.g. "visa •••• 4242"
    sca: ScaDecision | None
    authenticated: bool
    captured: int
    refunded: int
    failure_code: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    card_on_file: str | None = None  # the id of the card on file it is paid with


@dataclass(frozen=True, slots=True)
class LinkedPayment:
    """The payment a link opens, with its tenant (the customer's page has no API key)."""

    tenant: str
    intent: PaymentIntent


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    intent_id: str
    amount: Money
    state: str


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
