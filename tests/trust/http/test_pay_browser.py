"""The card page as a customer sees it: Debian's Chromium, headless, driven by Playwright,
against uvicorn on localhost. A returning customer pays a small amount in one go; a large
payment is confirmed with a passkey held by Chromium's virtual authenticator, the challenge
bound to amount and payee, and its card, kept on file, pays the next one in one tap.
Screenshots are kept (`TESSERA_SCREENSHOTS=dir` to keep them)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx2 as httpx
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from tessera.trust import Services, create_app
from tessera.trust.http import serve_in_thread as served
from tessera.vault import LocalKeyring
from tests.conftest import Stores
from tests.trust.conftest import _issue, settings_for
from tests.trust.http.test_api_auth import _customer
from tests.trust.http.test_api_payments import FLOW, create_payment, with_passkey

pytestmark = pytest.mark.slow

HOME_IP = "86.200.12.34"  # the customer's home connection, as the reverse proxy reports it


@pytest.fixture(scope="module")
def site(
    shared_stores: Stores,
    shared_keyring: LocalKeyring,
    tmp_path_factory: pytest.TempPathFactory,
    processor_url: str,
) -> Iterator[tuple[str, Services]]:
    """Tessera served by uvicorn on localhost, with passkeys for that origin."""
    services = Services.from_settings(
        settings_for(
            shared_stores,
            tmp_path_factory.mktemp("browser"),
            processor_url=processor_url,
            checkpoint_interval_seconds=0,
            webhook_poll_seconds=0,
        ),
        key_provider=shared_keyring,
    )
    app = create_app(services)
    with served(app) as address:
        origin = f"http://localhost:{address.rsplit(':', 1)[1]}"
        # The origin is known once the port is: passkeys and links are made for it.
        services.settings.public_url = origin
        services.authenticator.settings = replace(
            services.authenticator.settings, origins=(origin,)
        )
        yield origin, services
    services.close()


def _link(origin: str, headers: dict[str, str], payment: str) -> str:
    r = httpx.post(f"{origin}/v1/payments/{payment}/link", headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["url"]


def _code(services: Services) -> str:
    return services.authenticator.notifier.last().message.split(": ")[1][:6]


def test_a_customer_pays_in_chromium_by_code_then_in_one_go(
    site, chromium, shots: Path, tenant: str
) -> None:
    origin, services = site
    headers = _issue(services, tenant, FLOW)
    api = TestClient(create_app(services))
    _customer(api, headers, "c-browser")
    context = chromium.new_context(locale="fr-FR", extra_http_headers={"X-Forwarded-For": HOME_IP})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # First payment from this browser: the risk analysis asks to confirm, by a code.
    first = create_payment(api, headers, 2490, "browser-1", subject="c-browser")
    page.goto(_link(origin, headers, first["id"]))
    page.fill("#number", "4242 4242 4242 4242")
    page.fill("#expiry", "12/34")
    page.fill("#cvc", "123")
    page.screenshot(path=shots / "pay-1-card.png", full_page=True)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Confirmez que c'est bien vous")
    page.click("text=M'envoyer un code")
    page.wait_for_selector("#code")
    assert "24,90" in services.authenticator.notifier.last().message
    page.fill("#code", _code(services))
    page.screenshot(path=shots / "pay-2-code.png", full_page=True)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Paiement accepté")

    # The next small payment from the same browser: the low-value exemption, no code.
    second = create_payment(api, headers, 1250, "browser-2", subject="c-browser")
    link = _link(origin, headers, second["id"])
    page.goto(link)
    assert page.locator(".amount").inner_text() == "12,50\xa0€"
    page.fill("#number", "4242424242424242")
    page.fill("#expiry", "12/34")
    page.fill("#cvc", "123")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Paiement accepté")
    page.screenshot(path=shots / "pay-3-done.png", full_page=True)
    assert "4242424242424242" not in page.content()
    paid = api.get(f"/v1/payments/{second['id']}", headers=headers).json()
    assert paid["sca"]["exemption"] == "low_value" and paid["state"] == "authorized"
    # Reopening the spent link: a clear page, nothing to type.
    response = page.goto(link)
    assert response is not None and response.status == 410
    assert page.locator("[role=alert]").inner_text() == "Ce lien de paiement a déjà été utilisé."
    assert page.locator("#number").count() == 0
    page.screenshot(path=shots / "pay-6-used.png", full_page=True)
    assert errors == ["Failed to load resource: the server responded with a status of 410 (Gone)"]
    context.close()


def test_a_large_payment_is_confirmed_in_chromium_with_a_passkey(
    site, chromium, shots: Path, tenant: str
) -> None:
    origin, services = site
    headers = _issue(services, tenant, FLOW)
    api = TestClient(create_app(services))
    key = with_passkey(api, services, headers, "c-passkey", origin)

    context = chromium.new_context(locale="en-GB", extra_http_headers={"X-Forwarded-For": HOME_IP})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]
    pkcs8 = key.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cdp.send(
        "WebAuthn.addCredential",
        {
            "authenticatorId": authenticator,
            "credential": {
                "credentialId": base64.b64encode(key.credential_id).decode(),
                "isResidentCredential": False,
                "rpId": "localhost",
                "privateKey": base64.b64encode(pkcs8).decode(),
                "signCount": 1,
            },
        },
    )

    created = create_payment(api, headers, 45_000, "browser-big", subject="c-passkey")
    page.goto(_link(origin, headers, created["id"]))
    page.fill("#number", "4242 4242 4242 4242")
    page.fill("#expiry", "12/34")
    page.fill("#cvc", "123")
    page.check("input[name=save_card]")  # keep it: the next payment is one tap
    page.click("button[type=submit]")
    page.wait_for_selector("text=Confirm with my passkey")
    page.screenshot(path=shots / "pay-4-passkey.png", full_page=True)
    page.click("text=Confirm with my passkey")
    page.wait_for_selector("text=Payment accepted", timeout=15_000)
    page.screenshot(path=shots / "pay-5-passkey-done.png", full_page=True)
    paid = api.get(f"/v1/payments/{created['id']}", headers=headers).json()
    assert paid["state"] == "authorized" and paid["authenticated"]

    # The next payment: the kept card, one tap, the passkey; nothing typed.
    again = create_payment(api, headers, 4_500, "browser-tap", subject="c-passkey")
    page.goto(_link(origin, headers, again["id"]))
    page.wait_for_selector("text=Pay in one tap")
    page.screenshot(path=shots / "pay-7-one-tap.png", full_page=True)
    page.click("button.one-tap")
    page.wait_for_selector("text=Payment accepted", timeout=15_000)
    page.screenshot(path=shots / "pay-8-one-tap-done.png", full_page=True)
    paid = api.get(f"/v1/payments/{again['id']}", headers=headers).json()
    assert paid["state"] == "authorized" and paid["card_on_file"] is not None
    context.close()
