"""My devices and cards: factors listed, an authenticator app added (QR, first code), a factor
removed only from a strong session and never the last way to confirm; a saved card removed,
the last one withdrawing the consent to keep cards. And a rectification through the portal."""

from __future__ import annotations

import re

import pyotp

from tessera.payments import CARD_ON_FILE
from tests.trust.portal.conftest import EMAIL, IVR_EVIDENCE, Browser, customer


def _entries(browser: Browser, subject: str, kind: str) -> list[dict]:
    """The audit entries of one kind about a subject, as the log holds them."""
    import json

    from sqlalchemy import select

    from tessera.storage import table_of
    from tessera.trust.audit import AuditEntryRow

    t = table_of(AuditEntryRow)
    with browser.services.data.read() as conn:
        rows = conn.execute(
            select(t.c.body).where(
                t.c.tenant_id == browser.tenant, t.c.subject_id == subject, t.c.kind == kind
            )
        ).all()
    return [json.loads(r.body) for r in rows]


def test_factors_are_listed_an_app_is_added_and_the_last_way_is_kept(
    browser: Browser, api, headers, monkeypatch
) -> None:
    customer(api, headers, "c-dev")
    browser.sign_in()
    r = browser.get("/devices")
    assert r.status_code == 200 and r.text.count("<td>Codes by message</td>") == 2  # mail, SMS
    used = {
        f.channel: f.last_used_at
        for f in browser.services.authenticator.factors(browser.tenant, "c-dev")
    }
    assert used["email"] is not None and used["sms"] is None  # the code came by e-mail
    r = browser.post("/devices/totp")
    assert r.status_code == 200 and "<svg" in r.text
    secret = re.search(r'class="mono">([A-Z2-7]+)<', r.text).group(1)
    r = browser.post("/devices/totp/confirm", code=pyotp.TOTP(secret).now())
    assert r.status_code == 200 and "Authenticator app" in r.text
    ids = re.findall(r'id="factor-(fac_[^"]+)"', r.text)
    assert len(ids) == 3
    # After the RTS limit, removing asks to confirm first; nothing is removed meanwhile.
    browser.idle(monkeypatch, 6)
    r = browser.post(f"/devices/{ids[0]}/remove")
    assert r.url.path.endswith("/confirm")
    assert len(browser.services.authenticator.factors(browser.tenant, "c-dev")) == 3
    browser.confirm()
    monkeypatch.undo()
    browser.get("/devices")
    for factor in ids[:2]:
        r = browser.post(f"/devices/{factor}/remove")
        assert r.status_code == 200
    active = [
        f
        for f in browser.services.authenticator.factors(browser.tenant, "c-dev")
        if f.status == "active"
    ]
    assert len(active) == 1
    revoked = [e for e in _entries(browser, "c-dev", "auth") if e["event"] == "factor_revoked"]
    assert sorted(e["factor"] for e in revoked) == sorted(ids[:2])  # each answered for
    r = browser.post(f"/devices/{ids[2]}/remove")
    assert r.status_code == 409 and "Keep at least one way" in r.text


def test_another_customers_factor_cannot_be_removed(
    browser: Browser, api, headers, services
) -> None:
    customer(api, headers, "c-mine")
    customer(api, headers, "c-theirs", email="theirs@example.fr")
    theirs = services.authenticator.factors(browser.tenant, "c-theirs")[0].id
    browser.sign_in()
    browser.get("/devices")
    mine = re.search(r'id="factor-(fac_[^"]+)"', browser.last).group(1)
    fields = browser.form(f"/devices/{mine}/remove")
    r = browser.client.post(
        f"{browser.base}/devices/{theirs}/remove", data=fields, headers=browser.headers
    )
    assert r.status_code == 422
    assert all(
        f.status == "active" for f in services.authenticator.factors(browser.tenant, "c-theirs")
    )


def test_removing_the_last_saved_card_withdraws_the_consent(
    browser: Browser, api, headers, services
) -> None:
    customer(api, headers, "c-card")
    api.post(
        "/v1/consents",
        json={
            "subject": "c-card",
            "purpose": CARD_ON_FILE,
            "kind": "given",
            "channel": "voice_ivr",
            "evidence": IVR_EVIDENCE,
        },
        headers=headers,
    )
    pan = services.vault.tokenize(
        browser.tenant, "4242424242424242", category="card_pan", subject="c-card"
    )
    services.payments.cards.keep(browser.tenant, "c-card", pan.token, brand="visa", expiry="12/34")
    browser.sign_in()
    r = browser.get("/devices")
    assert "visa •••• 4242" in r.text and "4242424242424242" not in r.text
    card = re.search(r'id="card-([^"]+)"', r.text).group(1)
    r = browser.post(f"/cards/{card}/remove")
    assert r.status_code == 200 and "Your choice is recorded" in r.text and "Withdrawn" in r.text
    assert services.payments.cards.cards(browser.tenant, "c-card") == []
    removed = [e for e in _entries(browser, "c-card", "payment") if e["event"] == "card_removed"]
    assert [e["card_on_file"] for e in removed] == [card]
    assert "4242424242424242" not in str(removed)
    decision = services.consents.may_we(browser.tenant, "c-card", CARD_ON_FILE)
    assert decision.allowed is False


def test_a_rectification_corrects_the_value_through_the_gateway(
    browser: Browser, api, headers, services
) -> None:
    customer(api, headers, "c-rect")
    browser.sign_in()
    r = browser.get("/requests/new/rectification")
    assert "e-mail address · c•••@example.fr" in r.text.lower() or "•" in r.text
    assert EMAIL not in r.text  # shown masked
    token = re.search(r'<option value="(tok_[^"]+)">e-mail', r.text).group(1)
    r = browser.post("/requests", token=token, value="camille.martin@example.com")
    assert r.status_code == 200 and "Completed" in r.text
    assert services.vault.detokenize(browser.tenant, token).value == "camille.martin@example.com"
    entries = services.audit.for_subject(browser.tenant, "c-rect")
    assert any(e["action"] == "read_masked" and e["caller"] == "portal" for e in entries)
    assert "camille.martin@example.com" not in str(entries)


def test_a_number_is_added_once_a_code_sent_to_it_comes_back(
    browser: Browser, api, headers, services
) -> None:
    customer(api, headers, "c-number")
    browser.sign_in()
    browser.get("/devices")
    r = browser.post("/devices/number", value="+33 7 11 22 33 44")
    assert r.status_code == 200 and "44" in r.text and 'name="code"' in r.text
    sent = services.authenticator.notifier.last()
    assert sent.channel == "sms" and sent.destination.endswith("44")
    pending = [
        f
        for f in services.authenticator.factors(browser.tenant, "c-number")
        if f.status == "pending"
    ]
    assert len(pending) == 1  # not a factor until the code comes back
    fields = browser.form("/devices/number/confirm")
    r = browser.post("/devices/number/confirm", {**fields, "code": "000000"})
    assert r.status_code == 403 and "That did not work" in r.text
    r = browser.post("/devices/number/confirm", {**fields, "code": browser.code()})
    assert r.status_code == 200 and r.text.count("<td>Codes by message</td>") == 3
    # The same challenge again: refused, nothing added twice.
    again = browser.post("/devices/number/confirm", {**fields, "code": browser.code()})
    assert again.status_code == 409
    active = [
        f
        for f in services.authenticator.factors(browser.tenant, "c-number")
        if f.status == "active"
    ]
    assert len(active) == 3


def test_a_voice_pin_is_set_from_a_strong_session_and_never_shown(
    browser: Browser, api, headers, monkeypatch
) -> None:
    customer(api, headers, "c-pin")
    browser.sign_in()
    r = browser.get("/devices")
    assert 'name="pin"' in r.text and 'inputmode="numeric"' in r.text
    r = browser.post("/devices/voice-pin", pin="123456")  # a run: refused, nothing set
    assert r.status_code == 422 and "Voice PIN" not in r.text.split("<h2>")[1]
    assert "neither a run like 123456 nor one digit repeated" in r.text
    kinds = {f.kind for f in browser.services.authenticator.factors(browser.tenant, "c-pin")}
    assert "voice_pin" not in kinds
    r = browser.post("/devices/voice-pin", pin="275913")
    assert r.status_code == 200 and "Voice PIN (payments by phone)" in r.text
    assert "275913" not in r.text
    # Past the RTS limit, a new PIN asks to confirm first; nothing changes meanwhile.
    browser.idle(monkeypatch, 6)
    r = browser.post("/devices/voice-pin", pin="864201")
    assert r.url.path.endswith("/confirm")
    pins = [
        f
        for f in browser.services.authenticator.factors(browser.tenant, "c-pin")
        if f.kind == "voice_pin" and f.status == "active"
    ]
    assert len(pins) == 1
