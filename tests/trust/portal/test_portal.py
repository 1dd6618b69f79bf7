"""The portal through the test client, as a browser uses it: sign-in, consents and receipts,
requests, who used my data; and every bad input the issue names."""

from __future__ import annotations

import datetime as dt
import json
import re

from tessera.consent import verify_receipt
from tessera.storage import utcnow
from tests.trust.portal.conftest import EMAIL, Browser, customer

IVR = {
    "kind": "given",
    "channel": "voice_ivr",
    "evidence": {"recording_ref": "rec-77", "utterance_ref": "utt-3"},
}


def _strip_ids(html: str) -> str:
    """A page without what differs by nature between two renders (tokens, ids)."""
    return re.sub(r'value="(dec|chl)_[^"]*"|name="csrf" value="[^"]*"', "", html)


# ---------------------------------------------------------------------- sign-in
def test_a_customer_signs_in_with_a_code_sent_to_the_address_they_typed(
    browser: Browser, api, headers
) -> None:
    customer(api, headers, "c-1")
    browser.get("/sign-in")
    r = browser.post("/sign-in", identifier="Camille.Martin@example.fr")
    assert r.status_code == 200 and "c•••@example.fr" in r.text.lower()
    sent = browser.services.authenticator.notifier.last()
    assert sent.channel == "email" and "privacy space" in sent.message
    r = browser.post("/sign-in/code", code=browser.code())
    assert r.status_code == 200 and "Your privacy space" in r.text
    cookie = next(c for c in browser.client.cookies.jar if c.name == "tessera_portal")
    assert cookie.path == f"/portal/{browser.tenant}"
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite").lower() == "strict"


def test_an_unknown_address_gets_the_same_pages_as_a_known_one(
    browser: Browser, api, headers
) -> None:
    customer(api, headers, "c-known")
    browser.get("/sign-in")
    known = browser.post("/sign-in", identifier=EMAIL)
    sent = browser.services.authenticator.notifier.last()
    browser.get("/sign-in")
    unknown = browser.post("/sign-in", identifier="camille.mortin@example.fr")
    assert unknown.status_code == known.status_code == 200
    assert browser.services.authenticator.notifier.last() == sent  # nothing was sent
    assert _strip_ids(unknown.text).replace("mortin", "martin") == _strip_ids(known.text)
    # Any code fails the same way; nothing tells the two apart.
    r = browser.post("/sign-in/code", code="123456")
    assert r.status_code == 403 and "That did not work" in r.text


def test_a_locked_account_says_when_to_try_again(browser: Browser, api, headers) -> None:
    customer(api, headers, "c-locked")
    for _ in range(2):
        browser.get("/sign-in")
        browser.post("/sign-in", identifier=EMAIL)
        for _ in range(3):
            r = browser.post("/sign-in/code", code="000000")
    browser.get("/sign-in")
    r = browser.post("/sign-in", identifier=EMAIL)
    assert r.status_code == 423
    assert "blocked for now. Try again in 30 minutes" in r.text


def test_sign_in_attempts_are_rate_limited_per_address(browser: Browser) -> None:
    browser.get("/sign-in")
    fields = browser.form("/sign-in", identifier="x@example.fr")
    statuses = [browser.post("/sign-in", fields).status_code for _ in range(25)]
    assert statuses[0] == 200 and statuses[-1] == 429
    assert "Too many attempts" in browser.last


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    browser: Browser, api, headers
) -> None:
    customer(api, headers, "c-csrf")
    browser.sign_in()
    browser.get("/consents")
    fields = browser.form("/consents", purpose="marketing_sms", choice="given")
    for csrf in ("", "forged" * 7, fields["csrf"][:-2] + "AA"):
        r = browser.post("/consents", {**fields, "csrf": csrf})
        assert r.status_code == 403 and "This form has expired" in r.text
    history = api.get("/v1/consents/c-csrf/history", headers=headers).json()["data"]
    assert history == []
    r = browser.post("/consents", fields)
    assert r.status_code == 200 and "Your choice is recorded" in r.text


def test_an_expired_session_goes_back_to_sign_in_and_returns_after(
    browser: Browser, api, headers, monkeypatch
) -> None:
    customer(api, headers, "c-idle")
    browser.sign_in()
    later = utcnow() + dt.timedelta(minutes=31)
    monkeypatch.setattr(browser.services.authenticator, "clock", lambda: later)
    r = browser.get("/consents")
    assert r.status_code == 200 and "Your session ended" in r.text
    assert f'name="next" value="/portal/{browser.tenant}/consents"' in r.text
    monkeypatch.undo()
    r = browser.post("/sign-in", identifier=EMAIL)  # the same browser: no code asked this time
    assert r.url.path.endswith("/consents") and "My consents" in r.text


def test_the_pages_are_locked_down(browser: Browser) -> None:
    r = browser.get("/sign-in")
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert "<script" not in r.text and "style=" not in r.text
    assert browser.client.get("/portal/static/portal.css").status_code == 200
    assert browser.client.get("/portal/static/_guard.py").status_code == 404
    assert browser.get("/consents").url.path.endswith("/sign-in")  # nobody signed in


def test_french_from_the_browser_and_a_switch_to_english(browser: Browser, api, headers) -> None:
    customer(api, headers, "c-fr")
    browser.headers["accept-language"] = "fr-FR,fr;q=0.9,en;q=0.5"
    r = browser.get("/sign-in")
    assert '<html lang="fr">' in r.text and "Connectez-vous à votre espace" in r.text
    browser.sign_in()
    api.post(
        "/v1/consents", json={"subject": "c-fr", "purpose": "marketing_sms", **IVR}, headers=headers
    )
    r = browser.get("/consents")
    assert ("sur le serveur vocal, le " in r.text and "déc. 2026" in r.text) or "2026" in r.text
    r = browser.get("/consents?lang=en")
    assert '<html lang="en">' in r.text and "on the automated phone line" in r.text
    assert browser.get("/consents").text.count('<html lang="en">') == 1  # the switch is kept


# ---------------------------------------------------------------------- consents and receipts
def test_a_consent_given_by_ivr_is_withdrawn_in_the_portal_with_both_receipts(
    browser: Browser, api, headers
) -> None:
    customer(api, headers, "c-ivr")
    given = api.post(
        "/v1/consents",
        json={"subject": "c-ivr", "purpose": "marketing_sms", **IVR},
        headers=headers,
    ).json()["event"]
    browser.sign_in()
    r = browser.get("/consents")
    assert "Given · on the automated phone line" in r.text
    fields = browser.form("/consents", purpose="marketing_sms", choice="withdrawn")
    r = browser.post("/consents", fields)
    assert r.status_code == 200 and "Your choice is recorded" in r.text and "Withdrawn" in r.text
    decision = api.get(
        "/v1/consents/c-ivr/decision", params={"purpose": "marketing_sms"}, headers=headers
    ).json()
    assert decision["allowed"] is False
    # The same form again (a double click): one event, the same receipt.
    again = browser.post("/consents", fields)
    assert again.url == r.url
    history = api.get("/v1/consents/c-ivr/history", headers=headers).json()["data"]
    assert [e["kind"] for e in history] == ["given", "withdrawn"]
    assert history[1]["channel"] == "web"
    assert set(history[1]["evidence"]) == {"form_id", "session_id"}
    assert not history[1]["evidence"]["session_id"].startswith("ses_")  # a digest, not the bearer
    key = api.get("/v1/consents/receipt-key", headers=headers).json()
    receipt_id = r.url.path.rsplit("/", 1)[1]
    download = browser.get(f"/receipts/{receipt_id}/download")
    assert download.headers["content-type"] == "application/jose"
    assert verify_receipt(download.text, key)["event"]["type"] == "withdrawn"
    assert verify_receipt(given["receipt"], key)["event"]["channel"] == "voice_ivr"
    r = browser.get("/receipts")
    assert r.text.count("See the receipt") == 2


def test_another_customers_receipt_is_not_found(browser: Browser, api, headers) -> None:
    customer(api, headers, "c-a")
    customer(api, headers, "c-b", email="other@example.fr")
    theirs = api.post(
        "/v1/consents", json={"subject": "c-b", "purpose": "marketing_sms", **IVR}, headers=headers
    ).json()["event"]["id"]
    browser.sign_in()
    for path in (f"/receipts/{theirs}", f"/receipts/{theirs}/download", "/receipts/cev_nothing"):
        r = browser.get(path)
        assert r.status_code == 404 and "no such receipt" in r.text


def test_a_receipt_is_verified_from_an_upload(browser: Browser, api, headers) -> None:
    customer(api, headers, "c-v")
    receipt = api.post(
        "/v1/consents", json={"subject": "c-v", "purpose": "marketing_sms", **IVR}, headers=headers
    ).json()["event"]["receipt"]
    browser.get("/receipts/verify")
    fields = browser.form("/receipts/verify")
    url = f"{browser.base}/receipts/verify"
    r = browser.client.post(
        url, data=fields, files={"file": ("r.jws", receipt.encode())}, headers=browser.headers
    )
    assert r.status_code == 200 and "This receipt is genuine" in r.text
    assert "Offers by SMS" in r.text and "the automated phone line" in r.text
    head, body, sig = receipt.split(".")
    forged = f"{head}.{body[:-4]}AAAA.{sig}"
    r = browser.client.post(url, data={**fields, "receipt": forged}, headers=browser.headers)
    assert r.status_code == 422 and "not a receipt of ours" in r.text
    big = b"x" * (70 * 1024)
    r = browser.client.post(
        url, data=fields, files={"file": ("big.jws", big)}, headers=browser.headers
    )
    assert r.status_code == 413
    r = browser.client.post(url, data={"receipt": receipt}, headers=browser.headers)
    assert r.status_code == 403


def test_gpc_is_honoured_and_said(browser: Browser, api, headers) -> None:
    customer(api, headers, "c-gpc")
    browser.sign_in()
    browser.headers["sec-gpc"] = "1"
    r = browser.get("/consents")
    assert "Global Privacy Control signal" in r.text
    history = api.get("/v1/consents/c-gpc/history", headers=headers).json()["data"]
    assert history and all(e["kind"] == "objected" for e in history)


# ---------------------------------------------------------------------- requests
def test_an_access_export_is_downloaded_after_a_step_up(
    browser: Browser, api, headers, monkeypatch
) -> None:
    customer(api, headers, "c-acc")
    api.post(
        "/v1/consents",
        json={"subject": "c-acc", "purpose": "marketing_sms", **IVR},
        headers=headers,
    )
    browser.sign_in()  # a code by e-mail: substantial, just now
    r = browser.get("/requests/new/access")
    assert "A copy of my data" in r.text and "/confirm/factor" not in r.text
    browser.idle(monkeypatch, 6)  # past the RTS inactivity limit: asked again
    r = browser.get("/requests/new/access")
    assert r.url.path.endswith("/confirm") and "Confirm it is you" in r.text
    browser.confirm()
    assert "A copy of my data" in browser.last
    r = browser.post("/requests")
    assert r.status_code == 200 and "Completed" in r.text
    fields = browser.form(f"/requests/{_request_id(r.text)}/export")
    r = browser.client.post(
        f"{browser.base}/requests/{_request_id(r.text)}/export",
        data={**fields, "format": "json"},
        headers=browser.headers,
    )
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    export = json.loads(r.text)
    values = {d["value"] for d in export["personal_data"]}
    assert EMAIL in values and "+33612345678" in {v.replace(" ", "") for v in values}
    assert [e["kind"] for e in export["consents"]["history"]] == ["given"]
    again = browser.client.post(
        f"{browser.base}/requests/{_request_id(browser.get('/requests').text)}/export",
        data={**fields, "format": "csv"},
        headers=browser.headers,
    )
    assert again.status_code == 409 and "no longer be done" in again.text


def _request_id(html: str) -> str:
    return re.search(r'id="request-(dsr_[^"]+)"', html).group(1)


def test_another_customers_request_is_not_found(browser: Browser, api, headers, services) -> None:
    customer(api, headers, "c-r1")
    theirs = services.dsr.open(browser.tenant, "c-r2", "access")
    browser.sign_in()
    browser.get("/requests")
    fields = {"csrf": re.search(r'name="csrf" value="([^"]+)"', browser.last).group(1)}
    r = browser.client.post(
        f"{browser.base}/requests/{theirs.id}/export", data=fields, headers=browser.headers
    )
    assert r.status_code == 404 and "no such request" in r.text


def test_an_erasure_after_a_warning_and_a_step_up_leaves_nothing_to_sign_in_to(
    browser: Browser, api, headers
) -> None:
    customer(api, headers, "c-erase")
    browser.sign_in()
    browser.get("/requests/new/erasure")
    assert "can never be read again" in browser.last
    unticked = browser.post("/requests")
    assert unticked.status_code == 422 and "Tick the box" in unticked.text
    browser.get("/requests/new/erasure")
    r = browser.post("/requests", understood="yes")
    assert r.status_code == 200 and "Your data was erased" in r.text
    assert browser.get("/").url.path.endswith("/sign-in")
    sent = browser.services.authenticator.notifier.last()
    browser.post("/sign-in", identifier=EMAIL)
    assert browser.services.authenticator.notifier.last() == sent  # nobody to send a code to
    lookup = api.post(
        "/v1/tokens/search", json={"value": EMAIL, "category": "email"}, headers=headers
    )
    assert lookup.status_code in (200, 403) and EMAIL not in lookup.text


def test_a_restriction_and_an_objection_are_recorded(
    browser: Browser, api, headers, services
) -> None:
    customer(api, headers, "c-restrict")
    browser.sign_in()
    browser.get("/requests/new/restriction")
    r = browser.post("/requests")
    assert r.status_code == 200 and "Completed" in r.text
    assert services.consents.restricted_at(browser.tenant, "c-restrict") is not None
    browser.get("/requests/new/objection")
    r = browser.post("/requests", purpose="analytics")
    assert r.status_code == 200 and r.text.count("Completed") == 2


# ---------------------------------------------------------------------- who used my data
def test_who_used_my_data_in_plain_words(browser: Browser, api, headers, services, issue) -> None:
    customer(api, headers, "c-who")
    browser.sign_in()
    bot = issue(browser.tenant, ["access"], "bot")
    read = api.post(
        "/v1/access",
        json={
            "action": "read_masked",
            "purpose": "customer_service",
            "channel": "chat",
            "subject": "c-who",
            "categories": ["email"],
        },
        headers=headers,
    )
    assert read.status_code == 200, read.text
    refused = api.post(
        "/v1/access",
        json={
            "action": "detokenize",
            "purpose": "customer_service",
            "channel": "chat",
            "subject": "c-who",
            "categories": ["email"],
            "auth_context": {"session_id": browser.session_id},
        },  # the chat session
        headers=bot,
    )
    assert refused.status_code == 403
    r = browser.get("/activity")
    assert "An adviser</strong> (tests) saw a masked view: e-mail address" in r.text
    assert "An automated assistant</strong> (tests) saw the value in clear" in r.text
    assert "Refused" in r.text and "assistants never see anything in clear" in r.text
    assert "tok_" not in r.text and "bot-never-clear" not in r.text
    assert "Customer service" in r.text
    filtered = browser.get("/activity?purpose=analytics")
    assert "Nothing in this period" in filtered.text


def test_a_changed_notice_asks_the_choice_again(browser: Browser, api, headers, services) -> None:
    from tessera.consent import PurposeSpec

    customer(api, headers, "c-notice")
    api.post(
        "/v1/consents",
        json={"subject": "c-notice", "purpose": "marketing_sms", **IVR},
        headers=headers,
    )
    current = services.catalogue.get(browser.tenant, "marketing_sms")
    services.catalogue.define(
        browser.tenant,
        PurposeSpec(
            id=current.id,
            legal_basis=current.legal_basis.value,
            name=current.names,
            description={"fr": "Vos offres par SMS et par MMS.", "en": "Offers by SMS and MMS."},
            data_categories=list(current.data_categories),
            retention_days=current.retention_days,
            consent_validity_days=current.consent_validity_days,
            material=True,
        ),
    )
    browser.sign_in()
    r = browser.get("/consents")
    card = r.text[r.text.index('id="purpose-marketing_sms"') :]
    card = card[: card.index("</li>")]
    assert "your choice is needed again" in card and "Give my consent" in card


def test_the_session_cookie_is_secure_behind_tls(api, headers, services, tenant) -> None:
    from fastapi.testclient import TestClient

    from tessera.trust import create_app
    from tests.trust.portal.conftest import CHROME, HOME_IP

    customer(api, headers, "c-tls")
    tls = Browser(
        TestClient(create_app(services), base_url="https://portal.example", client=(HOME_IP, 1)),
        tenant,
        services,
        headers={"accept-language": "en", "user-agent": CHROME},
    )
    tls.sign_in()
    cookie = next(c for c in tls.client.cookies.jar if c.name == "tessera_portal")
    assert cookie.secure


def test_who_used_my_data_filters_by_period(browser: Browser, api, headers) -> None:
    customer(api, headers, "c-period")
    read = {
        "action": "read_masked",
        "purpose": "customer_service",
        "channel": "chat",
        "subject": "c-period",
        "categories": ["email"],
    }
    assert api.post("/v1/access", json=read, headers=headers).status_code == 200
    browser.sign_in()
    assert "saw a masked view" in browser.get("/activity?period=30").text
    assert "saw a masked view" in browser.get("/activity?period=nonsense").text  # all, then
    entries, older = browser.services.audit.subject_page(
        browser.tenant, "c-period", since=utcnow() + dt.timedelta(days=1)
    )
    assert entries == [] and older is None


def test_a_forged_history_entry_is_never_shown_as_history(
    browser: Browser, api, headers, services, shared_stores
) -> None:
    """A database writer (no key provider) rewrites a real entry into "the DPO erased your
    data", or adds one: the page refuses to show any of it rather than show a forgery."""
    from sqlalchemy import delete, insert, select, update

    from tessera.storage import table_of
    from tessera.trust.audit import AuditEntryRow
    from tests.conftest import bypass_append_only

    customer(api, headers, "c-forged")
    read = {
        "action": "read_masked",
        "purpose": "customer_service",
        "channel": "chat",
        "subject": "c-forged",
        "categories": ["email"],
    }
    assert api.post("/v1/access", json=read, headers=headers).status_code == 200
    browser.sign_in()
    assert "saw a masked view" in browser.get("/activity").text
    entries = table_of(AuditEntryRow)
    mine = (entries.c.tenant_id == browser.tenant, entries.c.subject_id == "c-forged")
    with services.data.read() as conn:
        real = conn.execute(select(entries).where(*mine, entries.c.kind == "access")).one()
    rewritten = real.body.replace('"read_masked"', '"erase"')
    this_row = (entries.c.tenant_id == browser.tenant, entries.c.seq == real.seq)
    try:
        with bypass_append_only(shared_stores, "audit_entries") as conn:
            conn.execute(update(entries).where(*this_row).values(body=rewritten))
        r = browser.get("/activity")
        assert r.status_code == 500 and "could not verify" in r.text
        assert "erased your data" not in r.text
        with bypass_append_only(shared_stores, "audit_entries") as conn:
            conn.execute(update(entries).where(*this_row).values(body=real.body))
        assert "saw a masked view" in browser.get("/activity").text
        forged = {**real._mapping, "seq": 10_000_000, "body": rewritten, "mac": "0" * 64}
        with services.data.begin() as conn:
            conn.execute(insert(entries).values(**{**forged, "request_id": None}))
        r = browser.get("/activity")
        assert r.status_code == 500 and "erased your data" not in r.text
    finally:  # the shared store is left as the service wrote it
        with bypass_append_only(shared_stores, "audit_entries") as conn:
            conn.execute(delete(entries).where(*mine, entries.c.seq == 10_000_000))
            conn.execute(update(entries).where(*this_row).values(body=real.body))


def test_a_forged_entry_never_reaches_an_access_export(
    browser: Browser, api, headers, services, shared_stores
) -> None:
    """The same check guards the DSR export's access history: a rewritten entry is refused."""
    import pytest
    from sqlalchemy import select, update

    from tessera.storage import table_of
    from tessera.trust import AuditTampered
    from tessera.trust.audit import AuditEntryRow
    from tests.conftest import bypass_append_only

    customer(api, headers, "c-export-forged")
    read = {
        "action": "read_masked",
        "purpose": "customer_service",
        "channel": "chat",
        "subject": "c-export-forged",
        "categories": ["email"],
    }
    assert api.post("/v1/access", json=read, headers=headers).status_code == 200
    assert len(services.audit.for_subject(browser.tenant, "c-export-forged")) == 1
    entries = table_of(AuditEntryRow)
    with services.data.read() as conn:
        real = conn.execute(
            select(entries).where(
                entries.c.tenant_id == browser.tenant,
                entries.c.subject_id == "c-export-forged",
                entries.c.kind == "access",
            )
        ).one()
    this_row = (entries.c.tenant_id == browser.tenant, entries.c.seq == real.seq)
    try:
        with bypass_append_only(shared_stores, "audit_entries") as conn:
            conn.execute(
                update(entries)
                .where(*this_row)
                .values(body=real.body.replace('"chat"', '"voice_ivr"'))
            )
        with pytest.raises(AuditTampered):
            services.audit.for_subject(browser.tenant, "c-export-forged")
    finally:
        with bypass_append_only(shared_stores, "audit_entries") as conn:
            conn.execute(update(entries).where(*this_row).values(body=real.body))
