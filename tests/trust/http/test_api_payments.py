"""`/v1/payments` through HTTP: an exempt chat payment end to end, SCA with a passkey bound to
amount and payee, and problems for bad, replayed, declined and cross-tenant input."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient

from tessera.auth.softkey import SoftPasskey
from tessera.payments.simulator import DECLINED
from tessera.trust import Scope, Services
from tests.leaks import assert_not_shown
from tests.trust.http.test_api import problem
from tests.trust.http.test_api_auth import HOME, _customer, _sign_in

FLOW = [Scope.PAYMENTS, Scope.PAYMENTS_CARD, Scope.AUTH, Scope.AUTH_MANAGE, Scope.TOKENIZE]
CARD = {"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123"}


def create_payment(
    client: TestClient,
    headers,
    amount: int,
    key: str,
    subject: str = "c-pay",
    channel: str = "chat",
) -> dict:
    body = {"subject": subject, "amount": amount, "currency": "EUR", "payee": "Boutique"}
    r = client.post(
        "/v1/payments",
        json={**body, "channel": channel},
        headers={**headers, "Idempotency-Key": key},
    )
    assert r.status_code == 201, r.text
    return r.json()


def with_passkey(
    client: TestClient,
    services: Services,
    headers,
    subject: str,
    origin: str = "http://localhost:8700",
) -> SoftPasskey:
    """A customer with a phone for codes, signed in strongly once, holding a passkey."""
    _customer(client, headers, subject)
    session = _sign_in(client, services, headers, subject)["session_id"]
    key = SoftPasskey(rp_id="localhost", origin=origin)
    r = client.post(
        "/v1/auth/factors/passkey/begin",
        json={"session_id": session, "label": "phone"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    begun = r.json()
    r = client.post(
        "/v1/auth/factors/passkey/complete",
        json={"challenge_id": begun["challenge_id"], "credential": key.register(begun["options"])},
        headers=headers,
    )
    assert r.status_code in (200, 201), r.text
    return key


def test_an_exempt_chat_payment_end_to_end(client: TestClient, issue, tenant: str, services):
    headers = issue(tenant, FLOW)
    created = create_payment(client, headers, 1250, "order-1")
    assert created["state"] == "created" and created["display_amount"] == "12.50 EUR"
    assert create_payment(client, headers, 1250, "order-1")["id"] == created["id"]  # idempotent
    r = client.post(f"/v1/payments/{created['id']}/card", json=CARD, headers=headers)
    assert r.status_code == 200, r.text
    paid = r.json()
    assert paid["state"] == "authorized" and paid["sca"]["exemption"] == "low_value"
    assert paid["card"].startswith("visa") and "4242424242424242" not in r.text
    assert_not_shown("123", r.text)  # the security code is never echoed
    r = client.post(f"/v1/payments/{created['id']}/capture", json={}, headers=headers)
    assert r.json()["state"] == "captured"
    refund = {"amount": {"amount": 250, "currency": "EUR"}}
    r = client.post(
        f"/v1/payments/{created['id']}/refunds",
        json=refund,
        headers={**headers, "Idempotency-Key": "refund-1"},
    )
    assert r.status_code == 201 and r.json()["amount"] == 250
    again = client.post(
        f"/v1/payments/{created['id']}/refunds",
        json=refund,
        headers={**headers, "Idempotency-Key": "refund-1"},
    )
    assert again.json()["id"] == r.json()["id"]
    assert client.get(f"/v1/payments/{created['id']}", headers=headers).json()["refunded"] == 250
    # The SCA decision and every money movement are in the audit trail, without the card.
    bodies = [json.loads(e["body"]) for e in services.audit.export(tenant)["entries"]]
    events = [b for b in bodies if b.get("payment") == created["id"]]
    assert [e["event"] for e in events] == [
        "created", "sca_decided", "authorized", "captured", "refunded",
    ]  # fmt: skip
    assert events[1]["exemption"] == "low_value" and events[1]["article"].startswith("RTS Art. 16")
    assert "4242424242424242" not in repr(bodies)


def test_a_large_payment_with_a_passkey_bound_to_amount_and_payee(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    headers = issue(tenant, FLOW)
    key = with_passkey(client, services, headers, "c-big")

    created = create_payment(client, headers, 15_000, "order-big", subject="c-big")
    card = {**CARD, "observation": HOME}
    pending = client.post(f"/v1/payments/{created['id']}/card", json=card, headers=headers).json()
    assert pending["state"] == "authenticating" and pending["sca"]["required"]
    base = f"/v1/payments/{created['id']}/authentication"
    challenge = client.post(f"{base}/begin", json={"factor": "webauthn"}, headers=headers).json()
    assertion = key.assert_(challenge["options"])
    # The amount changes after the payer signed: refused, nothing charged.
    r = client.post(
        f"/v1/payments/{created['id']}/amend",
        json={"amount": {"amount": 150_000, "currency": "EUR"}},
        headers=headers,
    )
    assert r.status_code == 200
    body = {"challenge_id": challenge["challenge_id"], "credential": assertion}
    refused = client.post(f"{base}/complete", json=body, headers=headers)
    assert problem(refused, 403, "step-up-failed")["detail"].startswith("the transaction changed")
    challenge = client.post(f"{base}/begin", json={"factor": "webauthn"}, headers=headers).json()
    body = {
        "challenge_id": challenge["challenge_id"],
        "credential": key.assert_(challenge["options"]),
    }
    r = client.post(f"{base}/complete", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "authorized" and r.json()["authenticated"]


def test_bad_payment_input_gets_clear_problems(
    client: TestClient, issue, tenant: str, other_tenant: str
) -> None:
    headers = issue(tenant, FLOW)
    created = create_payment(client, headers, 1250, "order-bad")
    url = f"/v1/payments/{created['id']}"
    for amount, currency, slug in [
        (0, "EUR", "invalid-amount"),
        (-5, "EUR", "invalid-amount"),
        (10**16, "EUR", "invalid-amount"),
        (100, "EUX", "unknown-currency"),
        (100, "XAU", "unknown-currency"),
    ]:
        r = client.post(
            "/v1/payments",
            json={"subject": "c", "amount": amount, "currency": currency, "payee": "B"},
            headers={**headers, "Idempotency-Key": f"k-{amount}-{currency}"},
        )
        problem(r, 422, slug)
    for amount in (12.5, "1250", True):
        r = client.post(
            "/v1/payments",
            json={"subject": "c", "amount": amount, "currency": "EUR", "payee": "B"},
            headers={**headers, "Idempotency-Key": "k-float"},
        )
        problem(r, 422, "validation-error")
    no_key = client.post(
        "/v1/payments",
        json={"subject": "c", "amount": 100, "currency": "EUR", "payee": "B"},
        headers=headers,
    )
    problem(no_key, 422, "validation-error")
    reused = client.post(
        "/v1/payments",
        json={"subject": "c-pay", "amount": 9999, "currency": "EUR", "payee": "Boutique"},
        headers={**headers, "Idempotency-Key": "order-bad"},
    )
    problem(reused, 409, "idempotency-conflict")
    for card, slug in [
        ({**CARD, "number": "4242 4242 4242 4241"}, "invalid-card"),
        ({**CARD, "expiry": "01/20"}, "invalid-card"),
        ({**CARD, "cvc": "12"}, "invalid-card"),
    ]:
        r = client.post(f"{url}/card", json=card, headers=headers)
        body = problem(r, 422, slug)
        assert "4242" not in r.text and "detail" in body
    problem(client.post(f"{url}/capture", json={}, headers=headers), 409, "invalid-transition")
    problem(client.get(url, headers=issue(other_tenant, FLOW)), 404, "unknown-payment")
    agent = issue(tenant, [Scope.PAYMENTS])  # an agent desktop: never the card step
    problem(client.post(f"{url}/card", json=CARD, headers=agent), 403, "permission-denied")

    declined = create_payment(client, headers, 1250, "order-declined")
    r = client.post(
        f"/v1/payments/{declined['id']}/card", json={**CARD, "number": DECLINED}, headers=headers
    )
    body = problem(r, 402, "payment-declined")
    assert body["code"] == "card_declined"
    assert client.get(f"/v1/payments/{declined['id']}", headers=headers).json()["state"] == "failed"
    # What was stored is intact after all that bad input.
    assert client.get(url, headers=headers).json()["state"] == "created"


def test_an_agent_assisted_phone_payment_never_shows_the_card(
    client: TestClient, issue, tenant: str, other_tenant: str, services: Services
) -> None:
    agent = issue(tenant, [Scope.PAYMENTS], "agent")
    telephony = issue(tenant, [Scope.PAYMENTS_CARD], "service")
    payment = create_payment(client, agent, 45_000, "phone-1", "c-phone", "voice_agent")["id"]
    r = client.post(f"/v1/payments/{payment}/keypad", headers=agent)
    assert r.status_code == 201, r.text
    pad = r.json()["id"]
    seen = []
    for keys in ("4242424242", "424242#", "1234", "12"):
        r = client.post(f"/v1/payments/keypads/{pad}/keys", json={"keys": keys}, headers=telephony)
        assert r.status_code == 200, r.text
        seen.append(client.get(f"/v1/payments/keypads/{pad}", headers=agent))
    shown = seen[-1].json()["view"]
    assert shown == {
        "field": "cvc",
        "number_digits": 16,
        "number_luhn_valid": True,
        "brand": "visa",
        "expiry_digits": 4,
        "cvc_digits": 2,
        "rejected": 0,
        "complete": False,
    }
    for s in seen:
        assert "4242424242" not in s.text
        assert_not_shown("1234", s.text)
    # The agent's key cannot key digits; another tenant cannot see the keypad.
    problem(
        client.post(f"/v1/payments/keypads/{pad}/keys", json={"keys": "3"}, headers=agent),
        403,
        "permission-denied",
    )
    problem(
        client.get(f"/v1/payments/keypads/{pad}", headers=issue(other_tenant, [Scope.PAYMENTS])),
        404,
        "unknown-payment",
    )
    for bad in ({"keys": "12x"}, {"keys": "1" * 65}, {"keys": 12}, {}):
        r = client.post(f"/v1/payments/keypads/{pad}/keys", json=bad, headers=telephony)
        assert r.status_code == 422, r.text
    r = client.post(f"/v1/payments/keypads/{pad}/keys", json={"keys": "3"}, headers=telephony)
    done = r.json()
    assert done["state"] == "submitted" and done["payment"]["state"] == "authorized"
    assert done["payment"]["sca"]["exemption"] == "moto"
    assert done["payment"]["card"] == "visa •••• 4242"
    bodies = [json.loads(e["body"]) for e in services.audit.export(tenant)["entries"]]
    events = [b for b in bodies if b.get("payment") == payment]
    assert [e["event"] for e in events] == [
        "created", "keypad_started", "sca_decided", "authorized",
    ]  # fmt: skip
    assert "4242424242424242" not in repr(bodies)


def test_a_card_on_file_pays_in_one_tap_with_a_passkey_and_goes_with_the_consent(
    client: TestClient, issue, tenant: str, services: Services, other_tenant: str
) -> None:
    headers = issue(tenant, [*FLOW, Scope.CONSENT_WRITE])
    key = with_passkey(client, services, headers, "c-tap")
    first = create_payment(client, headers, 900, "tap-1", subject="c-tap")
    saving = {**CARD, "save_card": True}
    r = client.post(f"/v1/payments/{first['id']}/card", json=saving, headers=headers)
    problem(r, 403, "no-card-on-file-consent")
    assert client.get(f"/v1/payments/{first['id']}", headers=headers).json()["card"] is None
    given = {
        "subject": "c-tap",
        "purpose": "card_on_file",
        "kind": "given",
        "channel": "chat",
        "evidence": {"message_id": "msg-9"},
    }
    assert client.post("/v1/consents", json=given, headers=headers).status_code == 201
    r = client.post(f"/v1/payments/{first['id']}/card", json=saving, headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "authorized", r.text

    r = client.get("/v1/payments/subjects/c-tap/cards", headers=headers)
    (kept,) = r.json()["data"]
    assert kept["card"] == "visa •••• 4242" and "4242424242424242" not in r.text

    second = create_payment(client, headers, 1200, "tap-2", subject="c-tap")
    url = f"/v1/payments/{second['id']}"
    for bad, status, slug in [
        ({"card_id": "card_nope"}, 404, "unknown-card"),
        ({"card_id": 42}, 422, "validation-error"),
        ({}, 422, "validation-error"),
    ]:
        problem(client.post(f"{url}/card-on-file", json=bad, headers=headers), status, slug)
    r = client.post(f"{url}/card-on-file", json={"card_id": kept["id"]}, headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "authenticating", r.text
    otp = client.post(f"{url}/authentication/begin", json={"factor": "otp"}, headers=headers)
    problem(otp, 422, "invalid-value")
    begun = client.post(
        f"{url}/authentication/begin", json={"factor": "webauthn"}, headers=headers
    ).json()
    body = {"challenge_id": begun["challenge_id"], "credential": key.assert_(begun["options"])}
    r = client.post(f"{url}/authentication/complete", json=body, headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "authorized", r.text
    assert r.json()["sca"]["article"] == "RTS Art. 4, 5"

    # Another tenant sees none of it.
    elsewhere = issue(other_tenant, FLOW)
    assert client.get("/v1/payments/subjects/c-tap/cards", headers=elsewhere).json()["data"] == []
    gone = client.delete(f"/v1/payments/subjects/c-tap/cards/{kept['id']}", headers=elsewhere)
    problem(gone, 404, "unknown-card")

    # The customer withdraws the consent: the card goes with it.
    withdrawn = {**given, "kind": "withdrawn"}
    assert client.post("/v1/consents", json=withdrawn, headers=headers).status_code == 201
    assert client.get("/v1/payments/subjects/c-tap/cards", headers=headers).json()["data"] == []
    third = create_payment(client, headers, 1200, "tap-3", subject="c-tap")
    r = client.post(
        f"/v1/payments/{third['id']}/card-on-file", json={"card_id": kept["id"]}, headers=headers
    )
    problem(r, 403, "no-card-on-file-consent")
    r = client.delete(f"/v1/payments/subjects/c-tap/cards/{kept['id']}", headers=headers)
    problem(r, 404, "unknown-card")


def test_a_telephone_order_is_declared_only_on_a_call_by_whom_a_policy_allows(
    client: TestClient, issue, tenant: str, services
) -> None:
    """MOTO skips SCA: a `web` payment of 950 EUR flagged as a telephone order is refused, and
    so is a caller kind no policy lets declare one; each refusal is recorded."""
    web = issue(tenant, FLOW)  # an expert's key
    agent = issue(tenant, FLOW, "agent")
    online = create_payment(client, agent, 95_000, "moto-web", channel="web")
    denied = problem(
        client.post(
            f"/v1/payments/{online['id']}/card",
            json={**CARD, "telephone_order": True},
            headers=agent,
        ),
        403,
        "access-denied",
    )
    assert denied["policy_ids"] == ["default-deny"] and denied["audit_seq"] is not None
    call = create_payment(client, web, 95_000, "moto-call", channel="voice_agent")
    problem(
        client.post(
            f"/v1/payments/{call['id']}/card", json={**CARD, "telephone_order": True}, headers=web
        ),
        403,
        "access-denied",
    )
    for created in (online, call):  # nothing was vaulted or charged
        assert client.get(f"/v1/payments/{created['id']}", headers=agent).json()["card"] is None
    paid = client.post(
        f"/v1/payments/{call['id']}/card", json={**CARD, "telephone_order": True}, headers=agent
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["sca"]["exemption"] == "moto"
    declared = [
        e["outcome"]
        for e in services.audit.for_subject(tenant, "c-pay")
        if e["action"] == "declare_telephone_order"
    ]
    assert declared == ["deny", "deny", "allow"]


def test_the_payments_package_refuses_a_telephone_order_off_a_call(
    client: TestClient, issue, tenant: str, services
) -> None:
    from tessera.payments import CardDetails
    from tessera.vault import InvalidValue

    created = create_payment(client, issue(tenant, FLOW), 95_000, "moto-lib", channel="app")
    card = CardDetails("4242424242424242", "12/34", "123")
    with pytest.raises(InvalidValue, match="taken on a call"):
        services.payments.pay_with_card(tenant, created["id"], card, telephone_order=True)
    assert services.payments.get(tenant, created["id"]).card is None


def test_a_voice_payment_with_a_card_on_file_and_the_voice_pin(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    """A callbot: "pay €45.00 to Boutique Lumière?" → the voice PIN → authorized, with the
    possession of the registered line; bad PINs and weak lines get clear problems."""
    headers = issue(tenant, [*FLOW, Scope.CONSENT_WRITE])
    _customer(client, headers, "c-voice")
    session = _sign_in(client, services, headers, "c-voice")["session_id"]
    for pin, slug in [
        ("12345", "invalid-value"),
        ("111111", "invalid-value"),
        (123456, "validation-error"),
    ]:
        r = client.post(
            "/v1/auth/factors/voice-pin", json={"session_id": session, "pin": pin}, headers=headers
        )
        problem(r, 422, slug)
    r = client.post(
        "/v1/auth/factors/voice-pin", json={"session_id": session, "pin": "275913"}, headers=headers
    )
    assert r.status_code == 201 and r.json()["kind"] == "voice_pin" and "275913" not in r.text
    given = {
        "subject": "c-voice",
        "purpose": "card_on_file",
        "kind": "given",
        "channel": "chat",
        "evidence": {"message_id": "msg-7"},
    }
    assert client.post("/v1/consents", json=given, headers=headers).status_code == 201
    first = create_payment(client, headers, 900, "voice-1", subject="c-voice")
    saving = {**CARD, "save_card": True}
    assert (
        client.post(f"/v1/payments/{first['id']}/card", json=saving, headers=headers).status_code
        == 200
    )
    (kept,) = client.get("/v1/payments/subjects/c-voice/cards", headers=headers).json()["data"]

    body = {"subject": "c-voice", "amount": 4500, "currency": "EUR", "payee": "Boutique Lumière"}
    r = client.post(
        "/v1/payments",
        json={**body, "channel": "voice_assistant"},
        headers={**headers, "Idempotency-Key": "voice-2"},
    )
    assert r.status_code == 201, r.text
    url = f"/v1/payments/{r.json()['id']}"
    r = client.post(f"{url}/card-on-file", json={"card_id": kept["id"]}, headers=headers)
    assert r.json()["state"] == "authenticating", r.text
    line = {"caller_number": "+33612345678", "attestation": "A", "sim_swapped": False}
    swapped = {**line, "sim_swapped": True}
    begin = {"factor": "voice_pin", "locale": "fr"}
    r = client.post(
        f"{url}/authentication/begin", json={**begin, "possession": swapped}, headers=headers
    )
    problem(r, 409, "factor-withheld")
    r = client.post(
        f"{url}/authentication/begin",
        json={**begin, "possession": {**line, "attestation": "Z"}},
        headers=headers,
    )
    problem(r, 422, "validation-error")
    r = client.post(
        f"{url}/authentication/begin", json={**begin, "possession": line}, headers=headers
    )
    assert r.status_code == 200, r.text
    challenge = r.json()
    assert (
        "45,00" in challenge["options"]["read_back"]
        and "Boutique Lumière" in challenge["options"]["read_back"]
    )
    wrong = {"challenge_id": challenge["challenge_id"], "code": "999999"}
    problem(
        client.post(f"{url}/authentication/complete", json=wrong, headers=headers),
        403,
        "step-up-failed",
    )
    right = {"challenge_id": challenge["challenge_id"], "code": "275913"}
    r = client.post(f"{url}/authentication/complete", json=right, headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "authorized", r.text
    # The transcript: what the caller said while the PIN was asked is masked, digits and words.
    (window,) = services.phone.windows(tenant, r.json()["id"])
    said = (window.opened_at + dt.timedelta(seconds=2)).isoformat()
    later = (window.opened_at - dt.timedelta(seconds=30)).isoformat()
    turns = [
        {"speaker": "bot", "text": "Paiement de 45 euros à Boutique Lumière ?", "at": later},
        {"speaker": "client", "text": "deux sept cinq neuf un trois", "at": said},
    ]
    redactor = issue(tenant, [Scope.REDACT])
    r = client.post(
        "/v1/redact/conversation",
        json={"turns": turns, "payments": [r.json()["id"]]},
        headers=redactor,
    )
    assert r.status_code == 200, r.text
    spoken = [t["text"] for t in r.json()["turns"]]
    assert spoken[0].startswith("Paiement de 45 euros") and "sept" not in spoken[1], spoken
    problem(
        client.post(f"{url}/authentication/complete", json=right, headers=headers),
        409,
        "invalid-transition",
    )


def test_a_callbot_waits_for_the_apps_approval_bound_to_the_payment(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    """The alternative to the voice PIN: the app's device key signs the payment's binding."""
    import base64

    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    headers = issue(tenant, FLOW)
    _customer(client, headers, "c-app")
    session = _sign_in(client, services, headers, "c-app")["session_id"]
    device = ed25519.Ed25519PrivateKey.generate()
    der = device.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    r = client.post(
        "/v1/auth/factors/device",
        json={"session_id": session, "public_key": base64.b64encode(der).decode()},
        headers=headers,
    )
    key_id = r.json()["id"]
    created = create_payment(client, headers, 15_000, "app-1", subject="c-app", channel="voice_ivr")
    pending = client.post(
        f"/v1/payments/{created['id']}/card", json={**CARD, "observation": HOME}, headers=headers
    ).json()
    assert pending["state"] == "authenticating", pending
    base = f"/v1/payments/{created['id']}/authentication"
    challenge = client.post(f"{base}/begin", json={"factor": "app"}, headers=headers).json()
    approval = challenge["options"]["approval"]

    def signed(message: str) -> dict:
        raw = device.sign(message.encode())
        return {"key_id": key_id, "signature": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}

    forged = {"challenge_id": challenge["challenge_id"], "credential": signed(approval + "x")}
    problem(client.post(f"{base}/complete", json=forged, headers=headers), 403, "step-up-failed")
    body = {"challenge_id": challenge["challenge_id"], "credential": signed(approval)}
    r = client.post(f"{base}/complete", json=body, headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "authorized", r.text
