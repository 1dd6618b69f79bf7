"""The card processor behind an interface, and its HTTP implementation.

Every call carries an idempotency key that Tessera derives from the payment (never random at
call time), so a timeout followed by a retry reaches the processor as the same request and a
charge is never made twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx2 as httpx

from ._card import CardDetails
from ._errors import ProcessorUnavailable
from ._money import Money

__all__ = ["HttpProcessor", "PaymentProcessor", "ProcessorResult"]


@dataclass(frozen=True, slots=True)
class ProcessorResult:
    approved: bool
    reference: str | None  # the processor's id of the charge or refund
    code: str  # approved, card_declined, insufficient_funds, …


@dataclass(frozen=True, slots=True)
class ProcessorCharge:
    """What the processor holds of a charge: the truth a restart reconciles against."""

    captured: int  # minor units


class PaymentProcessor(Protocol):
    def authorize(
        self, card: CardDetails, amount: Money, *, payee: str, reference: str, key: str
    ) -> ProcessorResult: ...

    def capture(self, charge: str, amount: Money, *, key: str) -> ProcessorResult: ...

    def refund(self, charge: str, amount: Money, *, key: str) -> ProcessorResult: ...

    def charge(self, charge: str) -> ProcessorCharge:
        """The processor's own view of a charge (raises `ProcessorUnavailable`)."""
        ...


class HttpProcessor:
    """A processor reached over HTTP (the simulated one in tests and the demo)."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, api_key: str | None = None):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url, timeout=timeout, headers=headers)

    def close(self) -> None:
        self._client.close()

    def _post(self, path: str, body: dict[str, object], key: str) -> ProcessorResult:
        try:
            response = self._client.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.HTTPError as exc:
            # The exception may quote the request: never pass it on (it holds the card).
            raise ProcessorUnavailable(
                f"the processor did not answer ({type(exc).__name__}); retry"
            ) from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise ProcessorUnavailable(f"the processor failed ({response.status_code}); retry")
        if response.status_code >= 400:
            raise ProcessorUnavailable(
                f"the processor refused the request ({response.status_code})"
            )
        data = response.json()
        return ProcessorResult(bool(data.get("approved")), data.get("id"), str(data.get("code")))

    def authorize(
        self, card: CardDetails, amount: Money, *, payee: str, reference: str, key: str
    ) -> ProcessorResult:
        body: dict[str, object] = {
            "pan": card.pan,
            "expiry": card.expiry,
            "cvc": card.cvc,
            "amount": amount.amount,
            "currency": amount.currency,
            "payee": payee,
            "reference": reference,
        }
        return self._post("/v1/authorizations", body, key)

    def capture(self, charge: str, amount: Money, *, key: str) -> ProcessorResult:
        body = {"amount": amount.amount, "currency": amount.currency}
        return self._post(f"/v1/charges/{charge}/capture", body, key)

    def refund(self, charge: str, amount: Money, *, key: str) -> ProcessorResult:
        body = {"amount": amount.amount, "currency": amount.currency}
        return self._post(f"/v1/charges/{charge}/refunds", body, key)

    def charge(self, charge: str) -> ProcessorCharge:
        try:
            response = self._client.get(f"/v1/charges/{charge}")
        except httpx.HTTPError as exc:
            raise ProcessorUnavailable(
                f"the processor did not answer ({type(exc).__name__}); retry"
            ) from None
        if response.status_code != 200:
            raise ProcessorUnavailable(f"the processor failed ({response.status_code}); retry")
        data = response.json()
        return ProcessorCharge(captured=int(data.get("captured", 0)))
