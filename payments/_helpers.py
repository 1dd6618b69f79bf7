"""Small helpers of the payment service: ids, bounded texts, what an authentication is bound
to, and a row with some values replaced."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from tessera.vault import InvalidValue

from ._tables import PaymentIntentRow

__all__ = ["_binding", "_locale", "_new_id", "_replaced", "_text"]

_TEXT_LIMITS = {"payee": 128, "reference": 140, "idempotency_key": 128}


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(16)}"


def _text(value: object, name: str, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidValue(f"{name} is required text")
    if len(value) > _TEXT_LIMITS.get(name, 128):
        raise InvalidValue(f"{name} is at most {_TEXT_LIMITS.get(name, 128)} characters")
    return value.strip()


def _locale(locale: str) -> str:
    return "fr" if isinstance(locale, str) and locale.lower().startswith("fr") else "en"


def _binding(row: PaymentIntentRow) -> bytes:
    """What an authentication is bound to: this payment, its amount, currency and payee, and
    the nonce of this attempt (so a code or an assertion serves once)."""
    return json.dumps(
        ["tessera/payment/1", row.id, row.amount, row.currency, row.payee, row.sca_nonce],
        ensure_ascii=False,
    ).encode()


def _replaced(row: PaymentIntentRow, values: Mapping[str, Any]) -> PaymentIntentRow:
    data = row.model_dump() | dict(values)
    return PaymentIntentRow(**data)
