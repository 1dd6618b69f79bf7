"""Payment links: `{payment}.{expiry}.{nonce}.{mac}`, signed with the tenant's link secret.

The link is a capability to pay one payment, once, for a short time, so it holds nothing
secret and nothing personal: the payment id, the expiry (Unix seconds), a nonce naming this
link (a newer link for the same payment replaces it) and an HMAC-SHA256 over all of them and
the tenant. Pure functions; the service checks the nonce and the single use against its row.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

from tessera import b64url_decode, b64url_encode

from ._errors import InvalidLink, LinkExpired

__all__ = ["LinkClaims", "PaymentLink", "link_payment", "new_nonce", "read_link", "sign_link"]

_FORMAT = re.compile(
    r"(?P<payment>pay_[A-Za-z0-9_-]{16,36})\.(?P<exp>[0-9]{10})\."
    r"(?P<nonce>[A-Za-z0-9_-]{16})\.(?P<mac>[A-Za-z0-9_-]{43})"
)


@dataclass(frozen=True, slots=True)
class PaymentLink:
    """What to send to the customer: `token` goes in the URL path (`/pay/{token}`)."""

    payment_id: str
    token: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class LinkClaims:
    payment_id: str
    expires_at: dt.datetime
    nonce: str


def _mac(secret: bytes, tenant: str, payment: str, exp: int, nonce: str) -> hmac.HMAC:
    mac = hmac.HMAC(secret, hashes.SHA256())
    mac.update(f"tessera/payment-link/1\x1f{tenant}\x1f{payment}\x1f{exp}\x1f{nonce}".encode())
    return mac


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


def sign_link(
    secret: bytes, tenant: str, payment_id: str, expires_at: dt.datetime, nonce: str
) -> PaymentLink:
    """A link named by `nonce` for the payment, valid until `expires_at` (to the second)."""
    exp = int(expires_at.timestamp())
    mac = b64url_encode(_mac(secret, tenant, payment_id, exp, nonce).finalize())
    return PaymentLink(
        payment_id,
        f"{payment_id}.{exp}.{nonce}.{mac}",
        dt.datetime.fromtimestamp(exp, dt.UTC),
    )


def link_payment(token: object) -> str:
    """The payment a well-formed link names (not yet verified: the tenant's secret is needed)."""
    match = _FORMAT.fullmatch(token) if isinstance(token, str) and len(token) < 160 else None
    if match is None:
        raise InvalidLink("this payment link is not valid")
    return match["payment"]


def read_link(secret: bytes, tenant: str, token: str, *, now: dt.datetime) -> LinkClaims:
    """The link's claims if its MAC is right and it has not expired (in that order, so an
    altered expiry reads as invalid, not as expired)."""
    link_payment(token)
    payment, exp, nonce, mac = token.split(".")
    try:
        given = b64url_decode(mac)
        if b64url_encode(given) != mac:
            # base64 lets the last character's spare bits vary: one MAC, one spelling
            raise ValueError("not the canonical encoding")
        _mac(secret, tenant, payment, int(exp), nonce).verify(given)
    except (InvalidSignature, ValueError):
        raise InvalidLink("this payment link is not valid") from None
    expires_at = dt.datetime.fromtimestamp(int(exp), dt.UTC)
    if expires_at <= now:
        raise LinkExpired("this payment link has expired: ask for a new one")
    return LinkClaims(payment, expires_at, nonce)
