"""The card page behind a payment link, through HTTP as a browser uses it: forms in, HTML out,
a strict Content-Security-Policy, single use, expiry, and SCA by code or passkey."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tessera.payments.simulator import DECLINED
from tessera.trust import Services
from tests.trust.http.test_api import problem
from tests.trust.http.test_api_auth import HOME, _code, _customer
from tests.trust.http.test_api_payments import FLOW, create_payment, with_passkey

CARD = {"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123"}
PAN = "4242424242424242"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def client(app) -> TestClient:
    """A customer's browser on a home connection (the page reads its address and agent)."""
    return TestClient(
        app,
        raise_server_exceptions=False,
        client=("86.200.12.34", 50000),
        headers={"user-agent": FIREFOX},
    )


def _link(client: TestClient, headers, payment: str) -> str:
    r = client.post(f"/v1/payments/{payment}/link", headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["url"].startswith("http://localhost:8700/pay/")
    assert body["embed_url"] == body["url"] + "?embed=1"
    return "/pay/" + body["url"].rsplit("/pay/", 1)[1]


def _step(html: str) -> str:
    found = re.search(r'name="step" value="([^"]+)"', html) or re.search(
        r'data-step="([^"]+)"', html
    )
    assert found, html
    return found[1]


def _pay_with_code(client: TestClient, services: Services, page: str) -> str:
    """A first payment from this browser: the risk analysis asks for SCA, done by a code."""
    assert client.get(page).status_code == 200  # the page, as a browser opens it first
    r = client.post(page, data=CARD)
    assert r.status_code == 200 and "Confirm it is you" in r.text, r.text
    step = _step(r.text)
    r = client.post(page + "/code/send", data={"step": step})
    challenge = re.search(r'name="challenge_id" value="([^"]+)"', r.text)[1]  # type: ignore[index]
    r = client.post(
        page + "/code", data={"step": step, "challenge_id": challenge, "code": _code(services)}
    )
    assert "Payment accepted" in r.text, r.text
    return step


def test_the_card_page_pays_once_under_a_strict_policy(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    headers = issue(tenant, FLOW)
    _returning(client, headers, services, "c-link")
    assert client.cookies.get("tessera_device")  # this browser is now known to the customer

    created = create_payment(client, headers, 1250, "link-1", subject="c-link")
    page = _link(client, headers, created["id"])
    r = client.get(page, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "12,50\xa0€" in r.text and "Boutique" in r.text and 'autocomplete="cc-number"' in r.text
    csp = r.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)[1]  # type: ignore[index]
    assert f'<style nonce="{nonce}">' in r.text
    for directive in (
        "default-src 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "*" not in csp
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert client.get(page).headers["content-security-policy"] != csp  # a nonce per response

    # A returning customer on a known browser: the low-value exemption, no authentication.
    r = client.post(page, data=CARD)
    assert r.status_code == 200, r.text
    assert "Payment accepted" in r.text and "visa" in r.text and PAN not in r.text
    paid = client.get(f"/v1/payments/{created['id']}", headers=headers).json()
    assert paid["state"] == "authorized" and paid["sca"]["exemption"] == "low_value"
    # The link served once: a second visit, or a second card, gets a clear page and no charge.
    again = client.get(page)
    assert again.status_code == 410 and "This payment link was already used." in again.text
    assert client.post(page, data=CARD).status_code == 410
    assert client.get(f"/v1/payments/{created['id']}", headers=headers).json() == paid


def test_a_bad_card_is_corrected_on_the_page_without_spending_the_link(
    client: TestClient, issue, tenant: str
) -> None:
    headers = issue(tenant, FLOW)
    page = _link(client, headers, create_payment(client, headers, 990, "link-bad")["id"])
    for card in (
        {**CARD, "number": "4242 4242 4242 4241"},
        {**CARD, "expiry": "01/20"},
        {**CARD, "expiry": "13/40"},
        {**CARD, "cvc": "12a"},
        {"number": "", "expiry": "", "cvc": ""},
    ):
        r = client.post(page, data=card)
        assert r.status_code == 422 and 'role="alert"' in r.text
        assert card["number"].replace(" ", "") not in r.text or not card["number"]
    oversized = client.post(
        page,
        content=b"number=" + b"4" * 5000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert oversized.status_code == 422
    assert client.get(page).status_code == 200  # the link still serves
    assert "Confirm it is you" in client.post(page, data=CARD).text


def _returning(client: TestClient, headers, services: Services, subject: str) -> None:
    """A customer who paid from this browser once, confirming it with a code."""
    _customer(client, headers, subject)
    first = create_payment(client, headers, 2000, f"first-{subject}", subject=subject)
    _pay_with_code(client, services, _link(client, headers, first["id"]))


def test_a_declined_card_says_so_and_spends_the_link(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    headers = issue(tenant, FLOW)
    _returning(client, headers, services, "c-declined")
    created = create_payment(client, headers, 990, "link-declined", subject="c-declined")
    page = _link(client, headers, created["id"])
    r = client.post(page, data={**CARD, "number": DECLINED})
    assert r.status_code == 200 and "Payment not accepted" in r.text, r.text
    assert client.get(page).status_code == 410


def test_forged_replaced_and_expired_links_get_clear_pages(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    headers = issue(tenant, FLOW)
    created = create_payment(client, headers, 990, "link-forged")
    first = _link(client, headers, created["id"])
    second = _link(client, headers, created["id"])
    r = client.get(first)
    assert r.status_code == 404 and "not valid" in r.text
    forged = second[:-2] + ("AA" if not second.endswith("AA") else "BB")
    assert client.get(forged).status_code == 404
    assert client.get("/pay/nonsense").status_code == 404
    assert client.post("/pay/nonsense", data=CARD).status_code == 404
    # Expired: issue with the clock far back, through the service's own link TTL.
    expired = services.payments.settings.link_ttl
    try:
        object.__setattr__(services.payments.settings, "link_ttl", -expired)
        old = services.payments.issue_link(tenant, created["id"])
    finally:
        object.__setattr__(services.payments.settings, "link_ttl", expired)
    r = client.get(f"/pay/{old.token}")
    assert r.status_code == 410 and "This payment link has expired" in r.text


def test_links_are_per_tenant(client: TestClient, issue, tenant: str, other_tenant: str):
    headers = issue(tenant, FLOW)
    created = create_payment(client, headers, 990, "link-tenant")
    r = client.post(f"/v1/payments/{created['id']}/link", headers=issue(other_tenant, FLOW))
    problem(r, 404, "unknown-payment")
    _link(client, headers, created["id"])
    problem(client.post("/v1/payments/pay_nope/link", headers=headers), 404, "unknown-payment")


def test_the_embedded_page_may_be_framed_only_by_the_configured_chat(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    headers = issue(tenant, FLOW)
    page = _link(client, headers, create_payment(client, headers, 990, "link-embed")["id"])
    assert (
        "frame-ancestors 'none'" in client.get(page + "?embed=1").headers["content-security-policy"]
    )
    services.settings.payment_frame_ancestors = ["https://chat.example.com"]
    try:
        embedded = client.get(page + "?embed=1")
        framed = client.get(page)
    finally:
        services.settings.payment_frame_ancestors = []
    assert "frame-ancestors https://chat.example.com" in embedded.headers["content-security-policy"]
    assert 'action="' + page + '?embed=1"' in embedded.text
    assert "frame-ancestors 'none'" in framed.headers["content-security-policy"]


def test_a_large_payment_is_confirmed_on_the_page_with_a_code_stating_amount_and_payee(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    headers = issue(tenant, FLOW)
    _customer(client, headers, "c-link-otp")
    created = create_payment(client, headers, 45_000, "link-otp", subject="c-link-otp")
    page = _link(client, headers, created["id"])
    r = client.post(page, data=CARD)
    assert r.status_code == 200 and "Confirm it is you" in r.text and "Send me a code" in r.text
    assert "Confirm with my passkey" not in r.text  # none enrolled
    step = _step(r.text)
    assert step not in page
    # Without the step key, nobody else can drive the authentication.
    assert client.post(page + "/code/send", data={"step": "guess"}).status_code == 404
    r = client.post(page + "/code/send", data={"step": step})
    assert r.status_code == 200 and "Enter your code" in r.text
    sms = services.authenticator.notifier.last().message
    assert "450.00" in sms and "Boutique" in sms
    challenge = re.search(r'name="challenge_id" value="([^"]+)"', r.text)[1]  # type: ignore[index]
    wrong = client.post(
        page + "/code", data={"step": step, "challenge_id": challenge, "code": "000000"}
    )
    assert wrong.status_code == 403 and 'role="alert"' in wrong.text
    r = client.post(page + "/code/send", data={"step": step})
    challenge = re.search(r'name="challenge_id" value="([^"]+)"', r.text)[1]  # type: ignore[index]
    r = client.post(
        page + "/code", data={"step": step, "challenge_id": challenge, "code": _code(services)}
    )
    assert r.status_code == 200 and "Payment accepted" in r.text
    paid = client.get(f"/v1/payments/{created['id']}", headers=headers).json()
    assert paid["state"] == "authorized" and paid["authenticated"]


def test_a_large_payment_is_confirmed_on_the_page_with_a_passkey(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    headers = issue(tenant, FLOW)
    key = with_passkey(client, services, headers, "c-link-key")
    created = create_payment(client, headers, 30_000, "link-key", subject="c-link-key")
    page = _link(client, headers, created["id"])
    r = client.post(page, data=CARD)
    assert "Confirm with my passkey" in r.text and 'script nonce="' in r.text
    step = _step(r.text)
    problem(client.post(page + "/passkey/begin", json={"step": "x"}), 404, "invalid-payment-link")
    begun = client.post(page + "/passkey/begin", json={"step": step}).json()
    body = {
        "step": step,
        "challenge_id": begun["challenge_id"],
        "credential": key.assert_(begun["options"]),
    }
    r = client.post(page + "/passkey/complete", json=body)
    assert r.status_code == 200 and r.json() == {"state": "authorized"}
    replay = client.post(page + "/passkey/complete", json=body)
    assert replay.status_code == 409
    r = client.post(page + "/status", data={"step": step})
    assert "Payment accepted" in r.text
    assert HOME  # the sign-in above came from the customer's usual device


def test_a_card_kept_on_the_page_pays_the_next_time_in_one_tap(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    headers = issue(tenant, FLOW)
    key = with_passkey(client, services, headers, "c-keep")
    first = _link(
        client, headers, create_payment(client, headers, 30_000, "keep-1", "c-keep")["id"]
    )
    r = client.get(first)
    assert 'name="save_card"' in r.text and "Pay in one tap" not in r.text
    assert "security code" in r.text  # the box says the code is never kept
    r = client.post(first, data={**CARD, "save_card": "1"})
    step = _step(r.text)
    begun = client.post(first + "/passkey/begin", json={"step": step}).json()
    body = {"step": step, "challenge_id": begun["challenge_id"]}
    body["credential"] = key.assert_(begun["options"])
    assert client.post(first + "/passkey/complete", json=body).json() == {"state": "authorized"}
    (kept,) = services.payments.cards.cards(tenant, "c-keep")
    (given,) = services.consents.history(tenant, "c-keep")[-1:]
    assert given.purpose == "card_on_file" and given.evidence["form_id"] == "pay-page"

    # Next time: one tap on the kept card, then the passkey (no card typed, no code).
    second = create_payment(client, headers, 4_500, "keep-2", "c-keep")
    page = _link(client, headers, second["id"])
    r = client.get(page)
    assert "Pay in one tap" in r.text and "visa •••• 4242" in r.text and kept.id in r.text
    problem(client.post(page + "/card-on-file", json={"card_id": "nope"}), 404, "unknown-card")
    assert client.get(page).status_code == 200  # the link was given back
    begun = client.post(page + "/card-on-file", json={"card_id": kept.id}).json()
    assertion = key.assert_(begun["options"])
    body = {"step": begun["step"], "challenge_id": begun["challenge_id"], "credential": assertion}
    assert client.post(page + "/passkey/complete", json=body).json() == {"state": "authorized"}
    r = client.post(page + "/status", data={"step": begun["step"]})
    assert "Payment accepted" in r.text and PAN not in r.text
    assert client.get(page).status_code == 410
    paid = client.get(f"/v1/payments/{second['id']}", headers=headers).json()
    assert paid["card_on_file"] == kept.id and paid["sca"]["article"] == "RTS Art. 4, 5"


def test_a_customer_without_a_passkey_is_offered_no_one_tap(
    client: TestClient, issue, tenant: str, services: Services
) -> None:
    headers = issue(tenant, FLOW)
    _customer(client, headers, "c-nokey")
    page = _link(client, headers, create_payment(client, headers, 900, "nokey-1", "c-nokey")["id"])
    r = client.post(page, data={**CARD, "save_card": "1"})
    step = _step(r.text)
    r = client.post(page + "/code/send", data={"step": step})
    challenge = re.search(r'name="challenge_id" value="([^"]+)"', r.text)[1]  # type: ignore[index]
    r = client.post(
        page + "/code", data={"step": step, "challenge_id": challenge, "code": _code(services)}
    )
    assert "Payment accepted" in r.text
    assert len(services.payments.cards.cards(tenant, "c-nokey")) == 1
    page = _link(client, headers, create_payment(client, headers, 900, "nokey-2", "c-nokey")["id"])
    assert "Pay in one tap" not in client.get(page).text
