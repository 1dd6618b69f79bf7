"""Links sent in a conversation (single use, short-lived, unforgeable by a database writer),
and the catalogue: every string the portal shows has its French translation."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import update

from tessera.storage import table_of, utcnow
from tessera.trust.identity import PortalLinkRow
from tests.trust.portal.conftest import Browser, customer

PORTAL = Path(__file__).parents[3] / "trust" / "portal"


def _sent_link(browser: Browser) -> str:
    message = browser.services.authenticator.notifier.last().message
    return re.search(r"https?://\S+/portal/\S+", message).group(0)


def test_an_agent_sends_a_link_that_opens_the_portal_once_and_still_asks_a_code(
    browser: Browser, api, headers
) -> None:
    customer(api, headers, "c-link")
    r = api.post(
        "/v1/portal/links",
        json={"subject": "c-link", "channel": "sms", "language": "en"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["sent_to"].endswith("78") and "•" in r.json()["sent_to"]
    assert "/portal/" not in r.text  # the agent never holds the link
    url = _sent_link(browser)
    path = url.split(f"/portal/{browser.tenant}", 1)[1]
    page = browser.get(path)
    assert page.status_code == 200 and "Open your privacy space" in page.text
    assert browser.get(path).status_code == 200  # a preview does not spend it
    r = browser.post(path)
    assert r.status_code == 200 and 'name="code"' in r.text
    sent = browser.services.authenticator.notifier.last()
    assert sent.channel == "sms" and "sign in" in sent.message
    r = browser.post("/sign-in/code", code=browser.code())
    assert "Your privacy space" in r.text
    again = browser.get(path)
    assert again.status_code == 410 and "already used" in again.text


def test_a_forged_or_expired_link_opens_nothing(
    browser: Browser, api, headers, services, monkeypatch
) -> None:
    customer(api, headers, "c-forge")
    customer(api, headers, "c-victim", email="victim@example.fr")
    api.post("/v1/portal/links", json={"subject": "c-forge", "channel": "sms"}, headers=headers)
    path = _sent_link(browser).split(f"/portal/{browser.tenant}", 1)[1]
    token = path.rsplit("/", 1)[1]
    nonce, exp, mac = token.split(".")
    for forged in (f"{nonce}.{int(exp) + 3600}.{mac}", f"{nonce}.{exp}.{mac[:-2]}AA", "nonsense"):
        r = browser.get(f"/link/{forged}")
        assert r.status_code == 404 and "not valid" in r.text
    # A database writer re-points the row at another customer: the MAC no longer matches.
    links = table_of(PortalLinkRow)
    with services.data.begin() as conn:
        conn.execute(update(links).where(links.c.id == nonce).values(subject_id="c-victim"))
    assert browser.get(path).status_code == 404
    with services.data.begin() as conn:
        conn.execute(update(links).where(links.c.id == nonce).values(subject_id="c-forge"))
    later = utcnow() + dt.timedelta(minutes=16)
    monkeypatch.setattr(services.portal_links, "clock", lambda: later)
    r = browser.get(path)
    assert r.status_code == 410 and "expired" in r.text


def test_a_link_needs_a_registered_destination_and_the_auth_scope(
    api, headers, issue, tenant
) -> None:
    customer(api, headers, "c-nodest")
    r = api.post("/v1/portal/links", json={"subject": "c-other", "channel": "sms"}, headers=headers)
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    r = api.post(
        "/v1/portal/links", json={"subject": "c-nodest", "channel": "fax"}, headers=headers
    )
    assert r.status_code == 422
    reader = issue(tenant, ["consent:read"])
    r = api.post("/v1/portal/links", json={"subject": "c-nodest", "channel": "sms"}, headers=reader)
    assert r.status_code == 403


def _msgids(room: Path = PORTAL) -> set[str]:
    found = set()
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": (2,), "N_": None}
    for _, _, message, _, _ in extract_from_dir(str(room), method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize(("room", "least"), [("portal", 200), ("console", 150)])
def test_every_string_of_the_portal_and_the_console_is_translated_into_french(
    room: str, least: int
) -> None:
    folder = PORTAL.parent / room
    with (folder / "locale" / "fr" / "LC_MESSAGES" / f"{room}.po").open("rb") as po:
        catalogue = read_po(po, locale="fr")
    translated = {m.id: m.string for m in catalogue if m.id and not m.fuzzy}
    used = _msgids(folder)
    assert len(used) > least
    missing = sorted(m for m in used if not translated.get(m))
    assert missing == [], "run scripts/i18n and translate: " + "; ".join(missing[:5])
    assert sorted(set(translated) - used) == []  # nothing obsolete left behind
    for msgid, text in translated.items():  # the same placeholders on both sides
        assert re.findall(r"%\(\w+\)s", msgid) == re.findall(r"%\(\w+\)s", text), msgid


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_page_has_no_untranslated_text(browser: Browser, lang: str) -> None:
    browser.headers["accept-language"] = lang
    r = browser.get("/sign-in")
    assert f'<html lang="{lang}">' in r.text
    if lang == "fr":
        for english in (">Sign in", ">Continue<", "Your e-mail address"):
            assert english not in r.text
