"""The life of a payment intent as a table: which step may follow which.

created → awaiting_customer (a link, a form or a call is waiting for the card) → authenticating
(SCA asked for) → authorized → captured → refunded; failed and expired end it early. A partial
refund keeps it `captured` with its refunded amount; only the last cent makes it `refunded`.
"""

from __future__ import annotations

import enum

from ._errors import IllegalTransition

__all__ = ["PaymentState", "advance", "illegal"]


class PaymentState(enum.StrEnum):
    CREATED = "created"
    AWAITING_CUSTOMER = "awaiting_customer"
    AUTHENTICATING = "authenticating"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"

    @property
    def final(self) -> bool:
        return self in (PaymentState.FAILED, PaymentState.EXPIRED, PaymentState.REFUNDED)


_S = PaymentState
_NEXT: dict[PaymentState, frozenset[PaymentState]] = {
    _S.CREATED: frozenset(
        {_S.AWAITING_CUSTOMER, _S.AUTHENTICATING, _S.AUTHORIZED, _S.FAILED, _S.EXPIRED}
    ),
    _S.AWAITING_CUSTOMER: frozenset({_S.AUTHENTICATING, _S.AUTHORIZED, _S.FAILED, _S.EXPIRED}),
    # A failed challenge can be retried (a new code) until the intent expires.
    _S.AUTHENTICATING: frozenset({_S.AWAITING_CUSTOMER, _S.AUTHORIZED, _S.FAILED, _S.EXPIRED}),
    # An authorization not captured in time lapses (the processor releases the hold).
    _S.AUTHORIZED: frozenset({_S.CAPTURED, _S.FAILED, _S.EXPIRED}),
    _S.CAPTURED: frozenset({_S.CAPTURED, _S.REFUNDED}),  # captured → captured: a partial refund
    _S.FAILED: frozenset(),
    _S.EXPIRED: frozenset(),
    _S.REFUNDED: frozenset(),
}


def advance(current: PaymentState, to: PaymentState) -> PaymentState:
    """`to`, if the table allows it; otherwise a clear error naming both states."""
    if to not in _NEXT[current]:
        raise illegal(current, to)
    return to


def illegal(current: PaymentState | str, to: PaymentState | str) -> IllegalTransition:
    """The error for a step the payment's state does not allow, naming both states."""
    return IllegalTransition(f"a payment that is {current} cannot become {to}", state=str(current))
