"""Webhooks: payment status to the other components (the conversation, the CRM), signed.

An event is written to an outbox table when it happens and delivered from there, so a
receiver that is down gets it later (retries with exponential backoff and jitter, then the
delivery is marked failed and can be replayed). Every delivery of one event carries the same
event id; receivers drop duplicates with `WebhookReceiver`.

Signature: `Tessera-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
The timestamp is signed with the body, so a captured delivery cannot be replayed outside the
receiver's window (5 minutes by default). Each endpoint's secret is derived from the tenant's
webhook key and the endpoint id: it is shown once and never stored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
from cryptography.hazmat.primitives import hashes, hmac
from sqlalchemy import insert, select, update

from tessera import b64url_encode
from tessera.storage import Database, as_utc, table_of, utcnow
from tessera.trust._errors import IdempotencyConflict, UnknownWebhook
from tessera.trust._events import SecurityEvents
from tessera.vault import DataCategory, InvalidValue, Vault, check_tenant, mask

from ._signing import SIGNATURE_HEADER, sign_webhook
from ._tables import WebhookDeliveryRow, WebhookEndpointRow

__all__ = ["WebhookDelivery", "WebhookEndpoint", "WebhookPaymentRecorder", "Webhooks"]

_EVENTS = {
    # payment recorder event → webhook type: what the conversation is told
    "link_issued": "payment.link_issued",
    "sca_decided": "payment.sca_decided",
    "authenticated": "payment.authenticated",
    "authorized": "payment.authorized",
    "declined": "payment.failed",
    "captured": "payment.captured",
    "refunded": "payment.refunded",
    "expired": "payment.expired",
}


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    url: str
    events: tuple[str, ...]
    created_at: dt.datetime
    secret: str | None = None  # only when created


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: str
    event_id: str
    endpoint_id: str
    type: str
    state: str
    attempts: int
    next_attempt_at: dt.datetime
    last_status: int | None
    last_error: str | None


def _check_url(url: object) -> str:
    if not isinstance(url, str) or len(url) > 2048:
        raise InvalidValue("a webhook url is at most 2048 characters")
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise InvalidValue("a webhook url is https (http only to this machine)")
    if not host or parts.username or parts.password or parts.fragment:
        raise InvalidValue("a webhook url has a host, and no credentials or fragment")
    return url


def _check_events(events: object) -> tuple[str, ...]:
    known = set(_EVENTS.values()) | {"payment.*", "*"}
    if not isinstance(events, list | tuple) or not events:
        raise InvalidValue("events: a list of event types, or ['*']")
    for event in events:
        if event not in known:
            raise InvalidValue(f"unknown event type; expected some of: {', '.join(sorted(known))}")
    return tuple(events)


def _wanted(events: tuple[str, ...], kind: str) -> bool:
    return "*" in events or kind in events or f"{kind.split('.')[0]}.*" in events


class Webhooks:
    """Endpoints per tenant, the outbox of deliveries, and the delivery loop's single step."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        *,
        timeout: float = 5.0,
        max_attempts: int = 8,
        first_retry: dt.timedelta = dt.timedelta(seconds=10),
        last_retry: dt.timedelta = dt.timedelta(hours=6),
        clock: Callable[[], dt.datetime] = utcnow,
        events: SecurityEvents | None = None,
    ) -> None:
        self.events = events
        self.db = db
        self.vault = vault
        self.max_attempts = max_attempts
        self.first_retry = first_retry
        self.last_retry = last_retry
        self.clock = clock
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)

    # ------------------------------------------------------------------ endpoints
    def _tell(self, tenant: str, event: str, actor: str, **facts: Any) -> None:
        if self.events is not None:
            self.events.security_event(tenant, event, facts, actor=actor)

    def add_endpoint(
        self,
        tenant: str,
        url: str,
        events: list[str] | None = None,
        *,
        actor: str = "operator",
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        """A retry with the same `idempotency_key`, URL and events answers the same endpoint
        (its secret is derived again); another endpoint under the key is a conflict."""
        check_tenant(tenant)
        url = _check_url(url)
        chosen = _check_events(["*"] if events is None else events)
        digest = hashlib.sha256(json.dumps([url, list(chosen)]).encode()).hexdigest()
        if idempotency_key is not None:
            t = table_of(WebhookEndpointRow)
            with self.db.read() as conn:
                seen = conn.execute(
                    select(t).where(t.c.tenant_id == tenant, t.c.idempotency_key == idempotency_key)
                ).first()
            if seen is not None:
                if seen.request_sha256 != digest:
                    raise IdempotencyConflict("this idempotency key was used for another endpoint")
                return WebhookEndpoint(
                    seen.id,
                    seen.url,
                    tuple(seen.events.split(",")),
                    seen.created_at,
                    self.secret(tenant, seen.id),
                )
        endpoint_id = f"whe_{secrets.token_urlsafe(12)}"
        # The host only: a path or query may carry the receiver's own secrets.
        self._tell(
            tenant,
            "webhook_endpoint_added",
            actor,
            endpoint=endpoint_id,
            host=urlsplit(url).hostname,
            events=list(chosen),
        )
        row = WebhookEndpointRow(
            id=endpoint_id,
            tenant_id=tenant,
            url=url,
            events=",".join(chosen),
            created_at=self.clock(),
            idempotency_key=idempotency_key,
            request_sha256=digest if idempotency_key is not None else None,
        )
        with self.db.session() as session:
            session.add(row)
            session.commit()
        return WebhookEndpoint(row.id, url, chosen, row.created_at, self.secret(tenant, row.id))

    def secret(self, tenant: str, endpoint_id: str) -> str:
        """The endpoint's signing secret, derived again each time (never stored)."""
        mac = hmac.HMAC(self.vault.tenant_secret(tenant, "webhooks"), hashes.SHA256())
        mac.update(f"tessera/webhook/1\x1f{endpoint_id}".encode())
        return "whsec_" + b64url_encode(mac.finalize())

    def endpoints(self, tenant: str) -> list[WebhookEndpoint]:
        check_tenant(tenant)
        t = table_of(WebhookEndpointRow)
        with self.db.read() as conn:
            rows = conn.execute(
                select(t)
                .where(t.c.tenant_id == tenant, t.c.disabled_at.is_(None))
                .order_by(t.c.created_at)
            ).all()
        return [
            WebhookEndpoint(r.id, r.url, tuple(r.events.split(",")), as_utc(r.created_at))
            for r in rows
        ]

    def remove_endpoint(self, tenant: str, endpoint_id: str, *, actor: str = "operator") -> None:
        check_tenant(tenant)
        t = table_of(WebhookEndpointRow)
        live = (t.c.tenant_id == tenant) & (t.c.id == str(endpoint_id)[:40])
        with self.db.read() as conn:
            found = conn.execute(select(t.c.id).where(live, t.c.disabled_at.is_(None))).first()
        if found is None:
            raise UnknownWebhook("no such webhook endpoint")
        self._tell(tenant, "webhook_endpoint_removed", actor, endpoint=found.id)
        with self.db.begin() as conn:
            done = conn.execute(
                update(t)
                .where(
                    t.c.tenant_id == tenant,
                    t.c.id == str(endpoint_id)[:40],
                    t.c.disabled_at.is_(None),
                )
                .values(disabled_at=self.clock())
            ).rowcount
        if not done:
            raise UnknownWebhook("no such webhook endpoint")

    # ------------------------------------------------------------------ outbox
    def publish(self, tenant: str, kind: str, data: Mapping[str, Any]) -> str:
        """Queue one event for every endpoint of the tenant that wants it; returns its id."""
        event_id = f"evt_{secrets.token_urlsafe(16)}"
        now = self.clock()
        body = json.dumps(
            {"id": event_id, "type": kind, "created": now.isoformat(), "data": dict(data)},
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        )
        wanted = [e for e in self.endpoints(tenant) if _wanted(e.events, kind)]
        if wanted:
            with self.db.begin() as conn:
                conn.execute(
                    insert(table_of(WebhookDeliveryRow)),
                    [
                        {
                            "id": f"whd_{secrets.token_urlsafe(16)}",
                            "event_id": event_id,
                            "tenant_id": tenant,
                            "endpoint_id": endpoint.id,
                            "type": kind,
                            "payload": body,
                            "state": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                        for endpoint in wanted
                    ],
                )
        return event_id

    def deliveries(self, tenant: str, *, state: str | None = None) -> list[WebhookDelivery]:
        check_tenant(tenant)
        t = table_of(WebhookDeliveryRow)
        query = select(t).where(t.c.tenant_id == tenant)
        if state is not None:
            query = query.where(t.c.state == state)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(t.c.created_at).limit(1000)).all()
        return [_delivery(r) for r in rows]

    def redeliver(self, tenant: str, delivery_id: str) -> WebhookDelivery:
        """Send a failed (or delivered) event again, with the same event id."""
        check_tenant(tenant)
        t = table_of(WebhookDeliveryRow)
        with self.db.begin() as conn:
            row = conn.execute(
                update(t)
                .where(t.c.tenant_id == tenant, t.c.id == str(delivery_id)[:40])
                .values(state="pending", next_attempt_at=self.clock(), attempts=0)
                .returning(*t.c)
            ).first()
        if row is None:
            raise UnknownWebhook("no such webhook delivery")
        return _delivery(row)

    def deliver_due(self, *, limit: int = 100) -> int:
        """Try every delivery that is due, once; returns how many were delivered. Safe to run
        from several processes: each delivery is leased before it is sent."""
        now = self.clock()
        t, et = table_of(WebhookDeliveryRow), table_of(WebhookEndpointRow)
        with self.db.read() as conn:
            due = conn.execute(
                select(t, et.c.url, et.c.disabled_at)
                .join(et, et.c.id == t.c.endpoint_id)
                .where(t.c.state == "pending", t.c.next_attempt_at <= now)
                .order_by(t.c.next_attempt_at, t.c.created_at)
                .limit(limit)
            ).all()
        delivered = 0
        for row in due:
            if not self._lease(row, now):
                continue  # another process took it
            if row.disabled_at is not None:
                self._finish(row.id, state="failed", status=None, error="endpoint removed")
                continue
            delivered += self._attempt(row)
        return delivered

    # ------------------------------------------------------------------ internals
    def _lease(self, row: Any, now: dt.datetime) -> bool:
        t = table_of(WebhookDeliveryRow)
        with self.db.begin() as conn:
            return bool(
                conn.execute(
                    update(t)
                    .where(
                        t.c.id == row.id,
                        t.c.state == "pending",
                        t.c.attempts == row.attempts,
                    )
                    .values(
                        attempts=row.attempts + 1, next_attempt_at=now + dt.timedelta(minutes=1)
                    )
                ).rowcount
            )

    def _attempt(self, row: Any) -> int:
        body = row.payload.encode()
        sent_at = self.clock()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_webhook(
                self.secret(row.tenant_id, row.endpoint_id), body, at=sent_at
            ),
            "Tessera-Event-Id": row.event_id,
            "User-Agent": "Tessera-Webhooks/1",
        }
        status, error = None, None
        try:
            response = self._http.post(row.url, content=body, headers=headers)
            status = response.status_code
            if 200 <= status < 300:
                self._finish(row.id, state="delivered", status=status, error=None)
                return 1
            error = f"answered {status}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__  # never the message: it may carry the url's query
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            self._finish(row.id, state="failed", status=status, error=error)
        else:
            self._retry_later(row.id, attempts, status, error)
        return 0

    def backoff(self, attempts: int) -> dt.timedelta:
        """Exponential with full jitter: 10 s, 20 s, 40 s … up to 6 h, each drawn in [½, 1]."""
        ceiling = min(self.first_retry * 2 ** max(attempts - 1, 0), self.last_retry)
        return ceiling * (0.5 + secrets.randbelow(1000) / 2000)

    def _retry_later(self, delivery_id: str, attempts: int, status: int | None, error: str | None):
        t = table_of(WebhookDeliveryRow)
        with self.db.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == delivery_id)
                .values(
                    next_attempt_at=self.clock() + self.backoff(attempts),
                    last_status=status,
                    last_error=error,
                )
            )

    def _finish(self, delivery_id: str, *, state: str, status: int | None, error: str | None):
        t = table_of(WebhookDeliveryRow)
        now = self.clock()
        with self.db.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == delivery_id)
                .values(
                    state=state,
                    last_status=status,
                    last_error=error,
                    delivered_at=now if state == "delivered" else None,
                )
            )

    def close(self) -> None:
        self._http.close()


class WebhookPaymentRecorder:
    """Tells the conversation what became of a payment: its status, amount and masked card."""

    def __init__(self, webhooks: Webhooks) -> None:
        self.webhooks = webhooks

    def payment_recorded(self, tenant: str, subject: str, facts: dict[str, Any]) -> None:
        kind = _EVENTS.get(str(facts.get("event")))
        if kind is None:
            return
        card = facts.get("card")
        data = {
            "payment": facts.get("payment"),
            "subject": subject,
            "state": facts.get("state"),
            "amount": facts.get("amount"),
            "currency": facts.get("currency"),
            "payee": facts.get("payee"),
            "channel": facts.get("channel"),
            "card": mask(DataCategory.CARD_PAN, card) if card else None,
            "sca_required": facts.get("sca_required"),
            "exemption": facts.get("exemption"),
        }
        for extra in ("code", "link_expires_at"):
            if extra in facts:
                data[extra] = facts[extra]
        self.webhooks.publish(tenant, kind, data)


def _delivery(r: Any) -> WebhookDelivery:
    return WebhookDelivery(
        r.id,
        r.event_id,
        r.endpoint_id,
        r.type,
        r.state,
        r.attempts,
        as_utc(r.next_attempt_at),
        r.last_status,
        r.last_error,
    )
