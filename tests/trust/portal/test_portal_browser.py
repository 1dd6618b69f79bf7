"""The portal as a customer uses it: Debian's Chromium, headless, driven by Playwright, against
uvicorn on localhost; the five journeys of the issue, in French and English, with axe-core
checking every page (no serious or critical violation) and screenshots of each page, at a
desktop's width and a phone's (`TESSERA_SCREENSHOTS=dir` keeps them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tessera.consent import verify_receipt
from tessera.trust import Services, create_app
from tessera.trust.http import serve_in_thread as served
from tessera.trust.identity import Scope
from tessera.vault import LocalKeyring
from tests.conftest import Stores
from tests.trust.conftest import _issue, settings_for
from tests.trust.portal.conftest import CHROME, EMAIL, HOME_IP, SCOPES, customer

pytestmark = pytest.mark.slow

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
PHONE_SIZE = {"width": 390, "height": 844}
IVR = {
    "purpose": "marketing_sms",
    "kind": "given",
    "channel": "voice_ivr",
    "evidence": {"recording_ref": "rec-1", "utterance_ref": "utt-1"},
}


@pytest.fixture(scope="module")
def site(
    shared_stores: Stores,
    shared_keyring: LocalKeyring,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Services]]:
    services = Services.from_settings(
        settings_for(
            shared_stores,
            tmp_path_factory.mktemp("portal"),
            checkpoint_interval_seconds=0,
            webhook_poll_seconds=0,
        ),
        key_provider=shared_keyring,
    )
    with served(create_app(services)) as address:
        origin = f"http://localhost:{address.rsplit(':', 1)[1]}"
        # The origin is known once the port is: passkeys are made for it.
        services.authenticator.settings = replace(
            services.authenticator.settings, origins=(origin,)
        )
        yield origin, services
    services.close()


class Person:
    """A customer at their browser: a Playwright context (one device), pages checked by axe."""

    def __init__(
        self,
        chromium,
        origin: str,
        services: Services,
        tenant: str,
        shots: Path,
        lang: str,
        *,
        user_agent: str = CHROME,
        ip: str = HOME_IP,
    ) -> None:
        self.context = chromium.new_context(
            locale="fr-FR" if lang == "fr" else "en-GB",
            user_agent=user_agent,
            extra_http_headers={"X-Forwarded-For": ip},
            accept_downloads=True,
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.origin, self.services, self.tenant, self.shots, self.lang = (
            origin,
            services,
            tenant,
            shots,
            lang,
        )

    room = "portal"

    @property
    def base(self) -> str:
        return f"{self.origin}/{self.room}/{self.tenant}"

    def check(self, name: str) -> None:
        """axe finds no serious or critical violation; a screenshot, wide and narrow."""
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page)
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"{name}: {bad}"
        self.page.screenshot(
            path=self.shots / f"{self.room}-{name}-{self.lang}.png", full_page=True
        )
        wide = self.page.viewport_size
        self.page.set_viewport_size(PHONE_SIZE)
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_SIZE["width"], f"{name}: {width}px wide on a phone"
        self.page.screenshot(
            path=self.shots / f"{self.room}-{name}-{self.lang}-phone.png", full_page=True
        )
        if wide:
            self.page.set_viewport_size(wide)

    def code(self) -> str:
        return re.search(r"\b(\d{6})\b", self.services.authenticator.notifier.last().message).group(
            1
        )

    def sign_in(self, *, expect_code: bool = True, keyboard: bool = False) -> None:
        self.page.goto(f"{self.base}/sign-in")
        if keyboard:  # the identifier has the focus; everything else by keys
            self._focused("identifier")  # autofocus lands a moment after the page shows
            self.page.keyboard.type(EMAIL)
            self.page.keyboard.press("Enter")
        else:
            self.page.fill("#identifier", EMAIL)
            self.page.click("form.card button[type=submit]")
        self.page.wait_for_selector("#code, nav.menu")
        has_code = self.page.locator("#code").count() == 1
        assert has_code == expect_code
        if has_code:
            if keyboard:
                self._focused("code")
                self.page.keyboard.type(self.code())
                self.page.keyboard.press("Enter")
            else:
                self.page.fill("#code", self.code())
                self.page.click("form.card button[type=submit]")
        self.page.wait_for_selector("nav.menu")

    def _focused(self, element_id: str) -> None:
        self.page.wait_for_function(
            "id => document.activeElement && document.activeElement.id === id", arg=element_id
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def people(chromium, site, shots, tenant):
    origin, services = site
    made: list[Person] = []

    def person(lang: str = "en", **device: str) -> Person:
        made.append(Person(chromium, origin, services, tenant, shots, lang, **device))
        return made[-1]

    yield person
    for p in made:
        p.close()


@pytest.fixture
def api(site, tenant):
    _, services = site
    client = TestClient(create_app(services))
    headers = _issue(services, tenant, SCOPES, "agent")
    return client, headers


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_journey_1_a_consent_given_by_ivr_is_withdrawn_in_the_portal(
    people, api, lang, site
) -> None:
    client, headers = api
    customer(client, headers, "c-j1")
    given = client.post("/v1/consents", json={"subject": "c-j1", **IVR}, headers=headers).json()
    me = people(lang)
    me.sign_in()
    me.check("home")
    me.page.click("nav.menu >> text=" + ("My consents" if lang == "en" else "Mes consentements"))
    me.page.wait_for_selector("#purpose-marketing_sms")
    card = me.page.locator("#purpose-marketing_sms")
    assert ("the automated phone line" if lang == "en" else "le serveur vocal") in card.inner_text()
    me.check("consents")
    card.locator("button", has_text="Withdraw" if lang == "en" else "Retirer").click()
    me.page.wait_for_selector("[role=status]")
    me.check("receipt")
    decision = client.get(
        "/v1/consents/c-j1/decision", params={"purpose": "marketing_sms"}, headers=headers
    ).json()
    assert decision["allowed"] is False
    with me.page.expect_download() as download:
        me.page.click("a.button[download]")
    withdrawn = Path(download.value.path()).read_text()
    key = client.get("/v1/consents/receipt-key", headers=headers).json()
    assert verify_receipt(withdrawn, key)["event"]["type"] == "withdrawn"
    assert verify_receipt(given["event"]["receipt"], key)["event"]["channel"] == "voice_ivr"
    me.page.goto(f"{me.base}/receipts")
    me.check("receipts")
    me.page.goto(f"{me.base}/receipts/verify")
    me.page.set_input_files(
        "#file",
        files=[{"name": "r.jws", "mimeType": "application/jose", "buffer": withdrawn.encode()}],
    )
    me.page.click("form.card button[type=submit]")
    me.page.wait_for_selector(".notice.ok")
    me.check("verify")
    assert me.errors == []


def test_journey_2_a_new_device_asks_a_step_up_the_usual_one_does_not(people, api) -> None:
    client, headers = api
    customer(client, headers, "c-j2")
    usual = people("fr")
    usual.page.goto(f"{usual.base}/sign-in")
    usual.check("sign-in")
    usual.sign_in(expect_code=True, keyboard=True)  # the first time: a code, keyboard only
    focused = usual.page.evaluate(
        "() => { const a = document.querySelector('nav.menu a'); a.focus();"
        " return getComputedStyle(a).outlineStyle; }"
    )
    assert focused != "none"  # a visible focus
    usual.page.click("button.link")  # sign out
    usual.page.wait_for_selector("#identifier")
    usual.sign_in(expect_code=False)  # the usual browser: in, without a code
    other = people("en", user_agent=ANDROID, ip="203.0.113.50")  # a phone, elsewhere
    other.page.goto(f"{other.base}/sign-in")
    other.page.fill("#identifier", EMAIL)
    other.page.click("form.card button[type=submit]")
    other.page.wait_for_selector("#code")
    other.check("code")
    other.page.fill("#code", "000000")
    other.page.click("form.card button[type=submit]")
    other.page.wait_for_selector("[role=alert]")
    other.check("code-wrong")


def test_journey_3_an_access_export_is_downloaded(people, api, site) -> None:
    client, headers = api
    customer(client, headers, "c-j3")
    client.post("/v1/consents", json={"subject": "c-j3", **IVR}, headers=headers)
    me = people("en")
    me.sign_in()
    me.page.goto(f"{me.base}/requests")
    me.check("requests")
    me.page.click("text=A copy of my data")
    me.page.wait_for_selector("form.card")
    me.check("request-access")
    me.page.click("form.card button[type=submit]")
    me.page.wait_for_selector("text=Completed")
    with me.page.expect_download() as download:
        me.page.click("text=Download (JSON)")
    import json

    export = json.loads(Path(download.value.path()).read_text())
    assert EMAIL in {d["value"] for d in export["personal_data"]}
    assert [e["kind"] for e in export["consents"]["history"]] == ["given"]
    me.page.goto(f"{me.base}/requests")
    assert me.page.locator('td >> text="Downloaded"').count() == 1


def test_journey_4_an_erasure_after_a_step_up_leaves_nothing_to_sign_in_to(
    people, api, site
) -> None:
    client, headers = api
    _, services = site
    customer(client, headers, "c-j4")
    me = people("fr")
    me.sign_in()
    me.page.goto(f"{me.base}/requests/new/erasure")
    me.check("request-erasure")
    me.page.check("#understood")
    me.page.click("form.card button[type=submit]")
    me.page.wait_for_selector("text=Vos données ont été effacées")
    me.check("erased")
    sent = services.authenticator.notifier.last()
    me.page.goto(f"{me.base}/sign-in")
    me.page.fill("#identifier", EMAIL)
    me.page.click("form.card button[type=submit]")
    me.page.wait_for_selector("#code")
    assert services.authenticator.notifier.last() == sent  # nobody left to send a code to
    me.page.fill("#code", "123456")
    me.page.click("form.card button[type=submit]")
    me.page.wait_for_selector("[role=alert]")


def test_journey_5_who_used_my_data_lists_the_agents_read_and_the_bots_refusal(
    people, api, site, tenant
) -> None:
    client, headers = api
    _, services = site
    customer(client, headers, "c-j5")
    me = people("en")
    me.sign_in()
    session = next(c["value"] for c in me.context.cookies() if c["name"] == "tessera_portal")
    bot = _issue(services, tenant, [Scope.ACCESS], "bot")
    read = {
        "purpose": "customer_service",
        "channel": "chat",
        "subject": "c-j5",
        "categories": ["email"],
    }
    assert (
        client.post(
            "/v1/access", json={"action": "read_masked", **read}, headers=headers
        ).status_code
        == 200
    )
    refused = client.post(
        "/v1/access",
        json={"action": "detokenize", **read, "auth_context": {"session_id": session}},
        headers=bot,
    )
    assert refused.status_code == 403
    me.page.goto(f"{me.base}/activity")
    entries = me.page.locator("ol.activity li")
    text = entries.all_inner_texts()
    assert any("An adviser" in t and "saw a masked view" in t and "Allowed" in t for t in text)
    assert any(
        "An automated assistant" in t and "Refused" in t and "never see anything in clear" in t
        for t in text
    )
    assert "tok_" not in me.page.content()
    me.check("activity")
    me.page.goto(f"{me.base}/activity?lang=fr")
    assert "Un assistant automatique" in me.page.content()
    me.lang = "fr"
    me.check("activity")


def _virtual_authenticator(person: Person) -> tuple[object, str]:
    cdp = person.context.new_cdp_session(person.page)
    cdp.send("WebAuthn.enable")
    found = cdp.send(
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
    )
    return cdp, found["authenticatorId"]


def test_a_passkey_added_in_the_portal_signs_in_from_a_new_device(people, api, site) -> None:
    client, headers = api
    _, services = site
    customer(client, headers, "c-pk")
    me = people("en")
    cdp, authenticator = _virtual_authenticator(me)
    me.sign_in()
    me.page.goto(f"{me.base}/devices")
    me.check("devices")
    # The voice PIN, typed as a person would, in French too.
    me.page.fill("#voice-pin", "275913")
    me.page.click("text=Save the PIN")
    me.page.wait_for_selector("text=Voice PIN (payments by phone)")
    me.page.goto(f"{me.base}/devices?lang=fr")
    me.page.wait_for_selector("text=Code vocal (paiements par téléphone)")
    me.lang = "fr"
    me.check("devices")
    me.lang = "en"
    me.page.goto(f"{me.base}/devices?lang=en")
    me.page.click("text=Add a passkey")
    me.page.wait_for_selector("#use-passkey")
    me.check("passkey-create")
    me.page.click("#use-passkey")
    me.page.wait_for_selector("text=Passkey", timeout=15_000)
    # The page's script posts the browser's answer, then the server stores the passkey: wait
    # for it there ("Passkey" is on the page before the answer is in).
    for _ in range(150):
        if any(f.kind == "webauthn" for f in services.authenticator.factors(me.tenant, "c-pk")):
            break
        me.page.wait_for_timeout(100)
    assert any(f.kind == "webauthn" for f in services.authenticator.factors(me.tenant, "c-pk"))
    keys = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(keys) == 1
    # The customer's phone, elsewhere: the same passkey (synced), no device history.
    phone = people("fr", user_agent=ANDROID, ip="203.0.113.77")
    cdp2, authenticator2 = _virtual_authenticator(phone)
    cdp2.send("WebAuthn.addCredential", {"authenticatorId": authenticator2, "credential": keys[0]})
    phone.page.goto(f"{phone.base}/sign-in")
    phone.page.fill("#identifier", EMAIL)
    phone.page.click("form.card button[type=submit]")
    phone.page.wait_for_selector("#code")
    phone.page.click("text=Utiliser plutôt ma clé d'accès")
    phone.page.wait_for_selector("#use-passkey")
    phone.check("passkey-get")
    phone.page.click("#use-passkey")
    phone.page.wait_for_selector("nav.menu", timeout=15_000)
    assert phone.errors == [] and me.errors == []
