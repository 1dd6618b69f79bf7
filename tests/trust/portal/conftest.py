"""A customer of a tenant, and a browser-like client of their portal (cookies kept, forms read
from the pages as a browser would, with their CSRF tokens)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html import unescape

import pytest
from fastapi.testclient import TestClient

from tessera.storage import utcnow
from tessera.trust import Services, create_app
from tessera.trust.identity import Scope
from tests.trust.conftest import _issue

EMAIL = "camille.martin@example.fr"
PHONE = "+33 6 12 34 56 78"
IVR_EVIDENCE = {"recording_ref": "rec-1", "utterance_ref": "utt-1"}
HOME_IP = "86.200.12.34"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SCOPES = [
    Scope.TOKENIZE,
    Scope.AUTH,
    Scope.AUTH_MANAGE,
    Scope.CONSENT_WRITE,
    Scope.CONSENT_READ,
    Scope.ACCESS,
]


def customer(api: TestClient, headers: dict[str, str], subject: str, email: str = EMAIL) -> None:
    """A customer with a vaulted e-mail and mobile, both registered for one-time codes."""
    for value, category, channel in ((email, "email", "email"), (PHONE, "phone", "sms")):
        r = api.post(
            "/v1/tokens",
            json={"value": value, "category": category, "subject": subject},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        r = api.post(
            "/v1/auth/destinations",
            json={"subject": subject, "channel": channel, "token": r.json()["token"]},
            headers=headers,
        )
        assert r.status_code == 201, r.text


_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


@dataclass
class Browser:
    """A person's browser on the portal: cookies kept, forms filled from the page."""

    client: TestClient
    tenant: str
    services: Services
    last: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"/portal/{self.tenant}"

    def get(self, path: str, **kwargs):
        r = self.client.get(self.base + path, headers=self.headers, **kwargs)
        self.last = r.text
        return r

    def form(self, action: str, html: str | None = None, **overrides) -> dict[str, str]:
        """The hidden fields of the (first) form posting to `action` on the page."""
        html = self.last if html is None else html
        start = html.find(f'action="{self.base}{action}"')
        assert start >= 0, f"no form to {action} on the page"
        end = html.find("</form>", start)
        fields = {k: unescape(v) for k, v in _INPUT.findall(html[start:end])}
        fields.update(overrides)
        return fields

    def post(self, action: str, fields: dict[str, str] | None = None, **overrides):
        data = self.form(action, **overrides) if fields is None else fields
        r = self.client.post(
            self.base + action, data=data, headers=self.headers, follow_redirects=True
        )
        self.last = r.text
        return r

    def code(self) -> str:
        message = self.services.authenticator.notifier.last()
        assert message is not None
        return re.search(r"\b(\d{6})\b", message.message).group(1)

    def sign_in(self, identifier: str = EMAIL) -> None:
        self.get("/sign-in")
        r = self.post("/sign-in", identifier=identifier)
        assert r.status_code == 200, r.text
        if 'name="code"' in self.last:
            r = self.post("/sign-in/code", code=self.code())
        assert r.status_code == 200, r.text
        assert "Sign out" in r.text or "Se déconnecter" in r.text, r.text

    @property
    def session_id(self) -> str:
        return next(c.value for c in self.client.cookies.jar if c.name == "tessera_portal")

    def idle(self, monkeypatch, minutes: int) -> None:
        """The customer leaves the page open for a while (the authenticator's clock moves)."""
        later = utcnow() + dt.timedelta(minutes=minutes)
        monkeypatch.setattr(self.services.authenticator, "clock", lambda: later)

    def confirm(self) -> None:
        """Raise the session (a code by message), as a sensitive action asks."""
        assert "/confirm/factor" in self.last, "no confirmation was asked"
        self.post("/confirm/factor", factor="otp")
        r = self.post("/confirm/code", code=self.code())
        assert r.status_code == 200, r.text


@pytest.fixture
def api(services: Services) -> TestClient:
    return TestClient(create_app(services), raise_server_exceptions=True)


@pytest.fixture
def headers(services: Services, tenant: str) -> dict[str, str]:
    return _issue(services, tenant, SCOPES, "agent")


@pytest.fixture
def browser(api: TestClient, services: Services, tenant: str) -> Browser:
    return Browser(
        TestClient(create_app(services), client=(HOME_IP, 51000)),
        tenant,
        services,
        headers={"accept-language": "en", "user-agent": CHROME},
    )
