"""The console as its staff use it: Debian's Chromium, headless, driven by Playwright, against
uvicorn on localhost; the DPO's journey in French (a passkey added, then used for an export),
the analyst's and the auditor's in English, axe-core checking every page (no serious or
critical violation) and screenshots of each, wide and narrow (`TESSERA_SCREENSHOTS=dir`)."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
from pathlib import Path

import pyotp
import pytest

from tests.trust.conftest import _issue
from tests.trust.console.conftest import SCOPES
from tests.trust.portal.test_portal_browser import Person, _virtual_authenticator, site

__all__ = ["site"]

pytestmark = pytest.mark.slow

EMAIL = "louise.bernard@example.fr"


class StaffAtTheConsole(Person):
    room = "console"

    def sign_in(self, login: str, seed: str) -> None:  # type: ignore[override]
        self.page.goto(f"{self.base}/sign-in")
        self.page.fill("#login", login)
        self.page.click("form.card button[type=submit]")
        self.page.wait_for_selector("#code")
        self.page.fill("#code", pyotp.TOTP(seed).now())
        self.page.click("form.card button[type=submit]")
        self.page.wait_for_selector("nav.menu")


@pytest.fixture
def console(chromium, site, shots, tenant):
    origin, services = site
    made: list[StaffAtTheConsole] = []
    headers = _issue(services, tenant, SCOPES, "agent")

    def person(lang: str, role: str, login: str) -> tuple[StaffAtTheConsole, str]:
        _, enrolment = services.staff.create(tenant, login, role, name=login.title(), actor="t")
        seed = urllib.parse.parse_qs(urllib.parse.urlparse(enrolment.uri).query)["secret"][0]
        made.append(StaffAtTheConsole(chromium, origin, services, tenant, shots, lang))
        return made[-1], seed

    yield person, services, headers
    for p in made:
        p.close()


def _history(services, tenant: str, headers: dict[str, str]) -> None:
    from fastapi.testclient import TestClient

    from tessera.trust import create_app

    api = TestClient(create_app(services))
    api.post(
        "/v1/tokens", json={"value": EMAIL, "category": "email", "subject": "c-lb"}, headers=headers
    )
    for kind in ("given", "withdrawn", "given"):
        r = api.post(
            "/v1/consents",
            json={
                "subject": "c-lb",
                "purpose": "marketing_sms",
                "kind": kind,
                "channel": "voice_ivr",
                "evidence": {"recording_ref": "rec-4", "utterance_ref": "utt-4"},
            },
            headers=headers,
        )
        assert r.status_code == 201, r.text
    r = api.post(
        "/v1/dsr",
        json={"subject": "c-lb", "kind": "access", "channel": "voice_agent"},
        headers=headers,
    )
    assert r.status_code == 201, r.text


def test_the_dpo_signs_in_adds_a_passkey_and_exports_with_it(console, tenant) -> None:
    person, services, headers = console
    _history(services, tenant, headers)
    dpo, seed = person("fr", "dpo", "dana")
    cdp, authenticator = _virtual_authenticator(dpo)
    dpo.page.goto(f"{dpo.base}/sign-in")
    dpo.check("sign-in")
    dpo.page.fill("#login", "dana")
    dpo.page.click("form.card button[type=submit]")
    dpo.page.wait_for_selector("#code")
    dpo.check("code")
    dpo.page.fill("#code", pyotp.TOTP(seed).now())
    dpo.page.click("form.card button[type=submit]")
    dpo.page.wait_for_selector("nav.menu")
    dpo.check("home")
    dpo.page.click("text=Ajouter une clé d’accès")
    dpo.page.wait_for_selector("#use-passkey")
    dpo.check("passkey-create")
    dpo.page.click("#use-passkey")
    dpo.page.wait_for_selector("text=Votre clé d’accès est ajoutée", timeout=15_000)
    assert (
        len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"])
        == 1
    )
    dpo.page.goto(f"{dpo.base}/consents")
    dpo.page.fill("#who", EMAIL)
    dpo.page.click("form.filters button[type=submit]")
    dpo.page.wait_for_selector("td.mono")
    assert dpo.page.locator("td.mono", has_text="c-lb").count() == 3
    dpo.check("consents")
    dpo.page.click("text=Exporter en CSV")
    dpo.page.wait_for_selector("text=Confirmez avec votre clé d’accès")
    dpo.check("confirm")
    dpo.page.click("form.card button[type=submit]")
    dpo.page.wait_for_selector("#use-passkey")
    with dpo.page.expect_download() as download:
        dpo.page.click("#use-passkey")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r["kind"] for r in rows] == ["given", "withdrawn", "given"]
    # Signed out, then in again with the passkey alone: high assurance from the start.
    dpo.page.click("button.link")
    dpo.page.wait_for_selector("#login")
    dpo.page.fill("#login", "dana")
    dpo.page.click("form.card button[type=submit]")
    dpo.page.wait_for_selector("#code")
    dpo.page.click("text=Utiliser plutôt ma clé d’accès")
    dpo.page.wait_for_selector("#use-passkey")
    dpo.check("passkey-get")
    dpo.page.click("#use-passkey")
    dpo.page.wait_for_selector("nav.menu", timeout=15_000)
    session = next(c["value"] for c in dpo.context.cookies() if c["name"] == "tessera_console")
    assert services.authenticator.session(tenant, session).assurance.name == "HIGH"
    # The access request: identity verified by hand, then executed, well before its deadline.
    dpo.page.goto(f"{dpo.base}/requests")
    dpo.page.fill("input[name=text][id^=ev-]", "carte d’identité vue en agence")
    dpo.page.click("text=Vérifier l’identité")
    dpo.page.wait_for_selector("text=Fait, et enregistré.")
    dpo.page.click("form.inline button[type=submit] >> text=Exécuter")
    dpo.page.wait_for_selector("text=Fait, et enregistré.")
    assert [r.state.value for r in services.dsr.list(tenant)] == ["completed"]
    for name in ("requests", "accesses", "charts", "verify", "record"):
        dpo.page.goto(f"{dpo.base}/{name}")
        dpo.page.wait_for_selector("h1")
        dpo.check(name)
    assert dpo.errors == []


def test_an_analyst_is_refused_an_export_and_an_auditor_verifies_and_reads_the_record(
    console, tenant
) -> None:
    person, services, headers = console
    _history(services, tenant, headers)
    analyst, seed = person("en", "analyst", "ali")
    analyst.sign_in("ali", seed)
    analyst.check("analyst-home")
    analyst.page.goto(f"{analyst.base}/accesses")
    analyst.check("accesses")
    analyst.page.goto(f"{analyst.base}/consents.csv")
    analyst.page.wait_for_selector("[role=alert]")
    assert "does not allow" in analyst.page.inner_text("[role=alert]")
    analyst.check("export-refused")
    assert analyst.errors == [
        "Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
    analyst.errors.clear()  # the refusal, as the browser reports it

    auditor, seed = person("en", "auditor", "odile")
    auditor.sign_in("odile", seed)
    assert auditor.page.locator("nav.menu a", has_text="Consent log").count() == 0
    auditor.page.goto(f"{auditor.base}/verify")
    with auditor.page.expect_download() as download:
        auditor.page.click("text=Download a checkpoint to keep")
    kept = Path(download.value.path()).read_text()
    assert json.loads(kept)["tenant"] == tenant
    auditor.page.fill("#kept", kept)
    auditor.page.click("form.card button[type=submit]")
    auditor.page.wait_for_selector("text=Audit log: intact")
    assert auditor.page.locator("text=It extends the head you kept.").count() == 1
    auditor.check("verified")
    auditor.page.goto(f"{auditor.base}/record")
    auditor.check("record")
    auditor.page.emulate_media(media="print")
    auditor.page.screenshot(path=auditor.shots / "console-record-print-en.png", full_page=True)
    assert auditor.page.locator("nav.menu").is_hidden()
    assert analyst.errors == [] and auditor.errors == []
