"""Webhooks: signed with a timestamp, delivered from an outbox to a real HTTP receiver, retried
with backoff, leased so one delivery is never sent twice at once, and received once."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tessera.trust import (
    DuplicateWebhook,
    InvalidWebhookSignature,
    Scope,
    Services,
    UnknownWebhook,
    WebhookReceiver,
    Webhooks,
    sign_webhook,
    verify_webhook,
)
from tessera.trust.http import serve_in_thread as served
from tessera.trust.webhooks import SIGNATURE_HEADER
from tessera.vault import InvalidValue, Vault
from tests.conftest import Clock, Stores
from tests.trust.http.test_api import problem
from tests.trust.http.test_api_payments import FLOW, create_payment

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@dataclass
class Inbox:
    """The receiving component: records what arrived, answers 500 while `failing` > 0."""

    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    failing: int = 0

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]

    def clear(self) -> None:
        self.received.clear()
        self.failing = 0


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[str, Inbox]]:
    box = Inbox()

    async def hook(request: Request) -> Response:
        box.received.append((dict(request.headers), await request.body()))
        if box.failing > 0:
            box.failing -= 1
            return Response(status_code=500)
        return Response(status_code=204)

    with served(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as address:
        yield f"http://{address}/hook", box


@pytest.fixture
def hooks(shared_stores: Stores, vault: Vault, clock: Clock) -> Iterator[Webhooks]:
    built = Webhooks(shared_stores.data, vault, timeout=2, clock=clock)
    yield built
    built.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_signature_binds_body_and_time() -> None:
    body = b'{"id":"evt_1","type":"payment.authorized"}'
    header = sign_webhook("whsec_x", body, at=NOW)
    assert re.fullmatch(r"t=\d{10},v1=[0-9a-f]{64}", header)
    assert (
        verify_webhook("whsec_x", body, header, now=NOW + dt.timedelta(minutes=4))["id"] == "evt_1"
    )
    # A second v1 (a secret being rotated) is accepted when one of them matches.
    assert verify_webhook("whsec_x", body, "v1=00," + header, now=NOW)
    for secret, given, sig, now in [
        ("whsec_y", body, header, NOW),  # another secret
        ("whsec_x", body + b" ", header, NOW),  # an altered body
        ("whsec_x", body, header.replace("t=1", "t=2"), NOW),  # an altered time
        ("whsec_x", body, header, NOW + dt.timedelta(minutes=6)),  # replayed too late
        ("whsec_x", body, header, NOW - dt.timedelta(minutes=6)),  # from the future
        ("whsec_x", body, None, NOW),
        ("whsec_x", body, "garbage", NOW),
        ("whsec_x", b"not json", sign_webhook("whsec_x", b"not json", at=NOW), NOW),
    ]:
        with pytest.raises(InvalidWebhookSignature):
            verify_webhook(secret, given, sig, now=now)


def test_a_receiver_takes_each_event_once() -> None:
    receiver = WebhookReceiver("whsec_x", remember=2)
    bodies = [json.dumps({"id": f"evt_{i}"}).encode() for i in range(3)]
    for body in bodies:
        receiver.receive(body, sign_webhook("whsec_x", body, at=NOW), now=NOW)
    with pytest.raises(DuplicateWebhook):
        receiver.receive(bodies[2], sign_webhook("whsec_x", bodies[2], at=NOW), now=NOW)


def test_an_event_is_delivered_signed_to_the_endpoints_that_want_it(
    hooks: Webhooks, inbox, tenant: str, clock: Clock
) -> None:
    url, box = inbox
    box.clear()
    every = hooks.add_endpoint(tenant, url)
    only_failures = hooks.add_endpoint(tenant, url, ["payment.failed"])
    assert every.secret and every.secret.startswith("whsec_")
    assert every.secret == hooks.secret(tenant, every.id)  # derived, never stored
    assert every.secret != only_failures.secret
    event = hooks.publish(tenant, "payment.authorized", {"payment": "pay_1", "state": "authorized"})
    assert hooks.deliver_due() == 1
    assert hooks.deliver_due() == 0  # nothing left
    [(headers, body)] = box.received
    got = WebhookReceiver(every.secret).receive(
        body, headers[SIGNATURE_HEADER.lower()], now=clock()
    )
    assert got["id"] == event == headers["tessera-event-id"]
    assert got["type"] == "payment.authorized" and got["data"]["payment"] == "pay_1"
    [delivery] = [d for d in hooks.deliveries(tenant) if d.event_id == event]
    assert delivery.state == "delivered" and delivery.attempts == 1


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(
    hooks: Webhooks, inbox, tenant: str, clock: Clock
) -> None:
    url, box = inbox
    box.clear()
    box.failing = 2
    endpoint = hooks.add_endpoint(tenant, url)
    event = hooks.publish(tenant, "payment.captured", {"payment": "pay_2"})
    assert hooks.deliver_due() == 0
    [pending] = hooks.deliveries(tenant, state="pending")
    assert pending.attempts == 1 and pending.last_status == 500 and pending.last_error
    wait = pending.next_attempt_at - clock()
    assert dt.timedelta(seconds=5) <= wait <= dt.timedelta(seconds=10)
    assert hooks.deliver_due() == 0 and len(box.received) == 1  # not yet due
    clock.advance(seconds=10)
    assert hooks.deliver_due() == 0
    clock.advance(seconds=20)
    assert hooks.deliver_due() == 1
    assert [json.loads(b)["id"] for _, b in box.received] == [event] * 3  # one event id
    receiver = WebhookReceiver(str(endpoint.secret))
    _, body = box.received[-1]
    receiver.receive(body, box.received[-1][0][SIGNATURE_HEADER.lower()], now=clock())
    # The receiver, answering late, gets it again: recognised as a duplicate, dropped.
    [delivered] = hooks.deliveries(tenant, state="delivered")
    hooks.redeliver(tenant, delivered.id)
    assert hooks.deliver_due() == 1
    with pytest.raises(DuplicateWebhook):
        receiver.receive(
            box.received[-1][1], box.received[-1][0][SIGNATURE_HEADER.lower()], now=clock()
        )


def test_backoff_doubles_with_jitter_up_to_its_ceiling(hooks: Webhooks) -> None:
    for attempts, ceiling in [
        (1, 10),
        (2, 20),
        (3, 40),
        (12, 20_480),
        (13, 6 * 3600),
        (40, 6 * 3600),
    ]:
        waits = {hooks.backoff(attempts).total_seconds() for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits) and len(waits) > 1


def test_a_receiver_down_for_good_ends_failed_and_can_be_replayed(
    shared_stores: Stores, vault: Vault, clock: Clock, tenant: str
) -> None:
    hooks = Webhooks(shared_stores.data, vault, clock=clock, max_attempts=3)
    hooks.add_endpoint(tenant, "http://127.0.0.1:9/nobody-listens")
    hooks.publish(tenant, "payment.failed", {"payment": "pay_3"})
    for _ in range(3):
        hooks.deliver_due()
        clock.advance(hours=7)
    [failed] = hooks.deliveries(tenant, state="failed")
    assert failed.attempts == 3 and failed.last_error == "ConnectError"
    assert hooks.deliver_due() == 0
    assert hooks.redeliver(tenant, failed.id).state == "pending"
    with pytest.raises(UnknownWebhook):
        hooks.redeliver("other-tenant", failed.id)
    hooks.close()


def test_a_delivery_is_leased_once_and_a_removed_endpoint_gets_nothing(
    hooks: Webhooks, inbox, tenant: str
) -> None:
    url, box = inbox
    box.clear()
    endpoint = hooks.add_endpoint(tenant, url)
    hooks.publish(tenant, "payment.refunded", {"payment": "pay_4"})
    [row] = hooks.deliveries(tenant, state="pending")
    from tessera.trust.webhooks import WebhookDeliveryRow

    with hooks.db.read() as conn:
        from sqlalchemy import select

        raw = conn.execute(
            select(WebhookDeliveryRow.__table__).where(WebhookDeliveryRow.id == row.id)
        ).one()
    assert hooks._lease(raw, hooks.clock()) is True
    assert hooks._lease(raw, hooks.clock()) is False  # a second worker does not send it too
    with pytest.raises(UnknownWebhook):
        hooks.remove_endpoint("other-tenant", endpoint.id)
    hooks.remove_endpoint(tenant, endpoint.id)
    hooks.publish(tenant, "payment.refunded", {"payment": "pay_5"})
    assert hooks.endpoints(tenant) == []
    assert box.received == []


@pytest.mark.parametrize(
    ("url", "events"),
    [
        ("http://example.com/hook", ["*"]),  # clear text off this machine
        ("https://user:pw@example.com/hook", ["*"]),
        ("ftp://example.com/hook", ["*"]),
        ("https://example.com/hook#x", ["*"]),
        ("https:///nohost", ["*"]),
        ("https://example.com/" + "a" * 2100, ["*"]),
        ("https://example.com/hook", ["payment.teleported"]),
        ("https://example.com/hook", []),
    ],
)
def test_bad_endpoints_are_refused(hooks: Webhooks, tenant: str, url: str, events) -> None:
    with pytest.raises(InvalidValue):
        hooks.add_endpoint(tenant, url, events)
    assert hooks.endpoints(tenant) == []


def test_the_conversation_hears_of_a_payment_through_http(
    client: TestClient, issue, tenant: str, other_tenant: str, services: Services, inbox
) -> None:
    url, box = inbox
    box.clear()
    headers = issue(tenant, [*FLOW, Scope.WEBHOOKS])
    r = client.post("/v1/webhooks", json={"url": url, "events": ["payment.*"]}, headers=headers)
    assert r.status_code == 201, r.text
    endpoint = r.json()
    assert endpoint["secret"].startswith("whsec_")
    listed = client.get("/v1/webhooks", headers=headers).json()["data"]
    assert [e["id"] for e in listed] == [endpoint["id"]] and listed[0]["secret"] is None

    created = create_payment(client, headers, 990, "hooked")
    client.post(f"/v1/payments/{created['id']}/link", headers=headers)
    services.webhooks.deliver_due()
    receiver = WebhookReceiver(endpoint["secret"])
    events = [
        receiver.receive(body, h[SIGNATURE_HEADER.lower()], now=dt.datetime.now(dt.UTC))
        for h, body in box.received
    ]
    assert [e["type"] for e in events] == ["payment.link_issued"]
    assert events[0]["data"]["payment"] == created["id"] and events[0]["data"]["link_expires_at"]
    assert "/pay/" not in repr(events)  # the link itself goes to the customer alone

    deliveries = client.get("/v1/webhooks/deliveries?state=delivered", headers=headers).json()[
        "data"
    ]
    assert [d["type"] for d in deliveries] == ["payment.link_issued"]
    problem(
        client.get("/v1/webhooks/deliveries?state=lost", headers=headers), 422, "validation-error"
    )
    r = client.post(f"/v1/webhooks/deliveries/{deliveries[0]['id']}/redeliver", headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "pending"
    other = issue(other_tenant, [Scope.WEBHOOKS])
    problem(
        client.post(f"/v1/webhooks/deliveries/{deliveries[0]['id']}/redeliver", headers=other),
        404,
        "unknown-webhook",
    )
    problem(client.delete(f"/v1/webhooks/{endpoint['id']}", headers=other), 404, "unknown-webhook")
    problem(
        client.post("/v1/webhooks", json={"url": "http://example.com/x"}, headers=headers),
        422,
        "invalid-value",
    )
    problem(client.post("/v1/webhooks", json={"url": 5}, headers=headers), 422, "validation-error")
    problem(client.get("/v1/webhooks", headers=issue(tenant, FLOW)), 403, "permission-denied")
    assert client.delete(f"/v1/webhooks/{endpoint['id']}", headers=headers).status_code == 204
    assert client.get("/v1/webhooks", headers=headers).json()["data"] == []


def test_a_payment_that_expires_is_heard_of_and_audited(
    client: TestClient, issue, tenant: str, services: Services, inbox
) -> None:
    from sqlalchemy import update

    from tessera.payments._tables import PaymentIntentRow

    url, box = inbox
    box.clear()
    headers = issue(tenant, [*FLOW, Scope.WEBHOOKS])
    endpoint = client.post(
        "/v1/webhooks", json={"url": url, "events": ["payment.expired"]}, headers=headers
    ).json()
    created = create_payment(client, headers, 1250, "left-waiting")
    with services.data.begin() as conn:  # the customer never came: its 15 minutes are over
        conn.execute(
            update(PaymentIntentRow)
            .where(PaymentIntentRow.id == created["id"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    assert services.payments.expire_due() >= 1
    services.webhooks.deliver_due()
    receiver = WebhookReceiver(endpoint["secret"])
    events = [
        receiver.receive(body, h[SIGNATURE_HEADER.lower()], now=dt.datetime.now(dt.UTC))
        for h, body in box.received
    ]
    mine = [e for e in events if e["data"]["payment"] == created["id"]]
    assert [(e["type"], e["data"]["state"]) for e in mine] == [("payment.expired", "expired")]
    recorded = [
        e
        for e in services.audit.export(tenant)["entries"]
        if created["id"] in e["body"] and '"event":"expired"' in e["body"]
    ]
    assert len(recorded) == 1
    client.delete(f"/v1/webhooks/{endpoint['id']}", headers=headers)


def test_a_retried_endpoint_registration_is_the_same_endpoint(
    client: TestClient, issue, tenant: str
) -> None:
    from tessera.trust import Scope

    headers = {**issue(tenant, [Scope.WEBHOOKS]), "Idempotency-Key": "setup-1"}
    body = {"url": "https://crm.example.com/hooks", "events": ["payment.*"]}
    first = client.post("/v1/webhooks", json=body, headers=headers)
    again = client.post("/v1/webhooks", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["secret"] == again.json()["secret"]
    problem(
        client.post("/v1/webhooks", json={**body, "events": ["*"]}, headers=headers),
        409,
        "idempotency-conflict",
    )
    assert len(client.get("/v1/webhooks", headers=headers).json()["data"]) == 1
