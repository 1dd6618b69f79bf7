"""Staff of a tenant (a DPO, an analyst, an auditor, each with their authenticator app), and a
browser-like client of the console (cookies kept, forms read from the pages with their CSRF
tokens, as a browser would)."""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from html import unescape

import pyotp
import pytest
from fastapi.testclient import TestClient

from tessera.auth.softkey import SoftPasskey
from tessera.trust import Services, create_app
from tessera.trust.identity import Scope, StaffMember
from tests.trust.conftest import _issue

SCOPES = [
    Scope.TOKENIZE,
    Scope.AUTH,
    Scope.CONSENT_WRITE,
    Scope.CONSENT_READ,
    Scope.ACCESS,
    Scope.DSR,
]
_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_OPTIONS = re.compile(r'data-options="([^"]*)"')


@dataclass
class Staff:
    member: StaffMember
    seed: str

    def code(self) -> str:
        return pyotp.TOTP(self.seed).now()


def _seed(uri: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]


@pytest.fixture
def agent_headers(services: Services, tenant: str) -> dict[str, str]:
    """An agent's key (creates the tenant with the example purposes)."""
    return _issue(services, tenant, SCOPES, "agent")


@pytest.fixture
def staff(services: Services, tenant: str, agent_headers: dict[str, str]) -> dict[str, Staff]:
    made = {}
    for login, role in (("dana", "dpo"), ("ali", "analyst"), ("odile", "auditor")):
        member, enrolment = services.staff.create(
            tenant, login, role, name=login.title(), actor="t"
        )
        made[role] = Staff(member, _seed(enrolment.uri))
    return made


@dataclass
class Console:
    """A member of staff's browser on the console."""

    client: TestClient
    tenant: str
    services: Services
    last: str = ""
    headers: dict[str, str] = field(default_factory=lambda: {"accept-language": "en"})

    @property
    def base(self) -> str:
        return f"/console/{self.tenant}"

    def get(self, path: str, **kwargs):
        r = self.client.get(self.base + path, headers=self.headers, **kwargs)
        self.last = r.text
        return r

    def form(self, action: str, **overrides: str) -> dict[str, str]:
        start = self.last.find(f'action="{self.base}{action}"')
        assert start >= 0, f"no form to {action} on the page"
        end = self.last.find("</form>", start)
        fields = {k: unescape(v) for k, v in _INPUT.findall(self.last[start:end])}
        fields.update(overrides)
        return fields

    def post(self, action: str, fields: dict[str, str] | None = None, **overrides: str):
        data = self.form(action, **overrides) if fields is None else fields
        r = self.client.post(
            self.base + action, data=data, headers=self.headers, follow_redirects=True
        )
        self.last = r.text
        return r

    def options(self) -> dict:
        found = _OPTIONS.search(self.last)
        assert found, "no passkey options on the page"
        return json.loads(unescape(found.group(1)))

    def sign_in(self, who: Staff) -> None:
        self.get("/sign-in")
        r = self.post("/sign-in", login=who.member.login)
        assert r.status_code == 200 and 'name="code"' in r.text, r.text
        r = self.post("/sign-in/code", code=who.code())
        assert r.status_code == 200, r.text
        assert "Sign out" in r.text or "Se déconnecter" in r.text, r.text

    def add_passkey(self) -> SoftPasskey:
        key = SoftPasskey(rp_id="localhost", origin="http://localhost:8700")
        self.get("/")
        self.post("/passkey")
        credential = key.register(self.options())
        r = self.post("/passkey/complete", credential=json.dumps(credential))
        assert r.status_code == 200 and "passkey is added" in r.text, r.text
        return key

    def confirm_with(self, key: SoftPasskey) -> None:
        """Raise the session to high with the passkey, from the confirm page."""
        assert f'action="{self.base}/confirm"' in self.last, "no confirmation was asked"
        self.post("/confirm")
        r = self.post("/confirm/complete", credential=json.dumps(key.assert_(self.options())))
        assert r.status_code == 200, r.text

    @property
    def session_id(self) -> str:
        return next(c.value for c in self.client.cookies.jar if c.name == "tessera_console")


@pytest.fixture
def console(services: Services, tenant: str) -> Console:
    return Console(
        TestClient(create_app(services), client=("10.20.30.40", 52000)), tenant, services
    )


def another(services: Services, tenant: str) -> Console:
    return Console(
        TestClient(create_app(services), client=("10.20.30.41", 52001)), tenant, services
    )


@pytest.fixture
def api(services: Services) -> TestClient:
    return TestClient(create_app(services), raise_server_exceptions=True)
