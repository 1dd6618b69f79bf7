from __future__ import annotations

from tessera import TesseraError

__all__ = [
    "IdempotencyConflict",
    "IllegalTransition",
    "InvalidAmount",
    "InvalidCard",
    "InvalidLink",
    "LinkExpired",
    "LinkUsed",
    "NoCardOnFileConsent",
    "PaymentDeclined",
    "PaymentError",
    "PaymentExpired",
    "ProcessorUnavailable",
    "RefundTooLarge",
    "UnknownCard",
    "UnknownCurrency",
    "UnknownPayment",
]


class PaymentError(TesseraError):
    """Base of the payments package's errors."""


class InvalidAmount(PaymentError):
    """Zero, negative, fractional, over-precise for the currency, or absurdly large."""


class UnknownCurrency(PaymentError):
    """Not an ISO 4217 currency with a minor unit (funds and metals are not paid in here)."""


class InvalidCard(PaymentError):
    """A card number failing the Luhn check, an expired or malformed expiry, a bad code."""


class UnknownPayment(PaymentError):
    """No payment with this id for this tenant."""


class IdempotencyConflict(PaymentError):
    """The idempotency key was already used for a different request."""


class PaymentExpired(PaymentError):
    """The payment intent is past its expiry: create a new one."""


class PaymentDeclined(PaymentError):
    """The processor declined the card; the intent is failed, nothing was charged."""

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail)
        self.code = code


class ProcessorUnavailable(PaymentError):
    """The processor timed out or failed: nothing changed here, retrying is safe (the same
    idempotency key reaches the processor, so a charge it did make is never made twice)."""


class RefundTooLarge(PaymentError):
    """A refund above what was captured and not yet refunded."""


class IllegalTransition(PaymentError):
    """The payment is not in a state that allows this step (capture before authorization,
    a second capture, a refund of a failed payment)."""

    def __init__(self, detail: str, *, state: str) -> None:
        super().__init__(detail)
        self.state = state


class InvalidLink(PaymentError):
    """A payment link that is malformed, forged, for no known payment, or replaced by a newer
    link (one answer for all: a prober learns nothing)."""


class LinkExpired(PaymentError):
    """A genuine payment link past its expiry: ask for a new one."""


class LinkUsed(PaymentError):
    """A genuine payment link whose card was already submitted: links serve once."""


class NoCardOnFileConsent(PaymentError):
    """Keeping or using a card on file needs the customer's consent for that purpose (GDPR
    Art. 6(1)(a)); there is none in force (never given, withdrawn, expired, or the tenant has
    no such purpose)."""


class UnknownCard(PaymentError):
    """No card on file with this id for this customer (or it was removed or erased)."""
