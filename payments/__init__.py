"""Payments inside the conversation with PSD2 strong customer authentication.

Public face: `Payments` (intents, card payment, capture, refund, expiry, fraud reports, and
its `CardsOnFile`: cards kept for one-tap payments with the customer's consent),
`Money` (integer minor units, ISO 4217), `CardDetails`, the pure SCA decision (`decide_sca` over
a `ScaRequest`, with its `ScaExemption`s and their articles), the `PaymentState` table, the
`PaymentProcessor` interface with its `HttpProcessor`, and one error hierarchy under
`PaymentError`. `tessera.payments.simulator` is a processor to test and demo against.
"""

from __future__ import annotations

from ._card import CardDetails, card_brand
from ._cards_on_file import CARD_ON_FILE, CardOnFile, CardsOnFile
from ._dtmf import KeypadView
from ._errors import (
    IdempotencyConflict,
    IllegalTransition,
    InvalidAmount,
    InvalidCard,
    InvalidLink,
    LinkExpired,
    LinkUsed,
    NoCardOnFileConsent,
    PaymentDeclined,
    PaymentError,
    PaymentExpired,
    ProcessorUnavailable,
    RefundTooLarge,
    UnknownCard,
    UnknownCurrency,
    UnknownPayment,
)
from ._links import PaymentLink
from ._money import MAX_MINOR, Money, minor_unit
from ._phone import Keypad, KeypadWindow, PhonePayments
from ._processor import HttpProcessor, PaymentProcessor, ProcessorCharge, ProcessorResult
from ._sca import (
    LOW_VALUE_CUMULATIVE_EUR,
    LOW_VALUE_MAX_COUNT,
    LOW_VALUE_MAX_EUR,
    TRA_BANDS,
    LowValueLimit,
    RecurringSeries,
    ScaDecision,
    ScaExemption,
    ScaHistory,
    ScaRequest,
    decide_sca,
    fraud_rate,
)
from ._service import PAYMENT_CHANNELS, Payments
from ._states import PaymentState, advance
from ._types import LinkedPayment, PaymentIntent, PaymentRecorder, PaymentsSettings, Refund

__all__ = [
    "CARD_ON_FILE",
    "LOW_VALUE_CUMULATIVE_EUR",
    "LOW_VALUE_MAX_COUNT",
    "LOW_VALUE_MAX_EUR",
    "MAX_MINOR",
    "PAYMENT_CHANNELS",
    "TRA_BANDS",
    "CardDetails",
    "CardOnFile",
    "CardsOnFile",
    "HttpProcessor",
    "IdempotencyConflict",
    "IllegalTransition",
    "InvalidAmount",
    "InvalidCard",
    "InvalidLink",
    "Keypad",
    "KeypadView",
    "KeypadWindow",
    "LinkExpired",
    "LinkUsed",
    "LinkedPayment",
    "LowValueLimit",
    "Money",
    "NoCardOnFileConsent",
    "PaymentDeclined",
    "PaymentError",
    "PaymentExpired",
    "PaymentIntent",
    "PaymentLink",
    "PaymentProcessor",
    "PaymentRecorder",
    "PaymentState",
    "Payments",
    "PaymentsSettings",
    "PhonePayments",
    "ProcessorCharge",
    "ProcessorResult",
    "ProcessorUnavailable",
    "RecurringSeries",
    "Refund",
    "RefundTooLarge",
    "ScaDecision",
    "ScaExemption",
    "ScaHistory",
    "ScaRequest",
    "UnknownCard",
    "UnknownCurrency",
    "UnknownPayment",
    "advance",
    "card_brand",
    "decide_sca",
    "fraud_rate",
    "minor_unit",
]
