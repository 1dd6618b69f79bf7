"""Signing and checking a delivery, with no database: what Tessera sends and what a receiving
component runs.

`Tessera-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The timestamp
is signed with the body, so a captured delivery cannot be replayed outside the receiver's window.
"""

from __future__ import annotations

import datetime as dt
import hmac as std_hmac
import json
import threading
from collections import OrderedDict
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac

from tessera.trust._errors import DuplicateWebhook, InvalidWebhookSignature

__all__ = ["SIGNATURE_HEADER", "TOLERANCE", "WebhookReceiver", "sign_webhook", "verify_webhook"]

SIGNATURE_HEADER = "Tessera-Signature"
TOLERANCE = dt.timedelta(minutes=5)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.HMAC(secret.encode(), hashes.SHA256())
    mac.update(f"{timestamp}.".encode() + body)
    return mac.finalize().hex()


def sign_webhook(secret: str, body: bytes, *, at: dt.datetime) -> str:
    """The `Tessera-Signature` header value for `body` sent at `at`."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_webhook(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    now: dt.datetime,
    tolerance: dt.timedelta = TOLERANCE,
) -> dict[str, Any]:
    """The event, if `header` signs `body` with `secret` within `tolerance` of `now`."""
    parts: dict[str, list[str]] = {}
    for item in (header or "")[:1024].split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise InvalidWebhookSignature("no timestamp in the signature") from None
    expected = _mac(secret, timestamp, body)
    if not any(std_hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise InvalidWebhookSignature("the signature does not match")
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise InvalidWebhookSignature("the delivery is outside the replay window")
    try:
        event = json.loads(body)
    except ValueError:
        raise InvalidWebhookSignature("the body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise InvalidWebhookSignature("the body is not an event")
    return event


class WebhookReceiver:
    """For a receiving component: verify, then drop what was already received (by event id,
    remembered for longer than the replay window)."""

    def __init__(self, secret: str, *, remember: int = 100_000) -> None:
        self.secret = secret
        self.remember = remember
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def receive(self, body: bytes, header: str | None, *, now: dt.datetime) -> dict[str, Any]:
        event = verify_webhook(self.secret, body, header, now=now)
        with self._lock:
            if event["id"] in self._seen:
                raise DuplicateWebhook(f"event {event['id']} was already received")
            self._seen[event["id"]] = None
            while len(self._seen) > self.remember:
                self._seen.popitem(last=False)
        return event
