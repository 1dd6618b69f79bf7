"""What the demo's steps share: the customer, the callers' test clients, and small checks."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console

from tessera.trust._services import Services
from tessera.trust.http import create_app
from tessera.trust.identity import Scope

__all__ = [
    "APP",
    "ATTACKER",
    "CUSTOMER",
    "READ",
    "client_for",
    "found",
    "observation",
    "ok",
    "step",
]

CUSTOMER = "cust-0001"


def found(pattern: str, text: str) -> str:
    """The first group of `pattern` in a page the demo reads (the demo stops if it is not there)."""
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"the page has no {pattern!r}")
    return match[1]


def step(console: Console, title: str) -> None:
    console.rule(f"[bold]{title}")


READ = {"action": "read_masked", "purpose": "customer_service", "channel": "chat"}


def client_for(services: Services, scopes: list[Scope], kind: str, name: str) -> TestClient:
    issued = services.identity.issue_key("demo-bank", scopes=scopes, name=name, kind=kind)
    client = TestClient(create_app(services), raise_server_exceptions=True)
    client.headers["Authorization"] = f"Bearer {issued.secret}"
    return client


APP = {
    "channel": "app",
    "ip": "86.200.12.34",  # Orange, France
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148",
    "device_id": "install-7f3a",
}


ATTACKER = {
    "channel": "web",
    "ip": "51.38.12.34",  # OVH: a hosting network
    "user_agent": "python-requests/2.32",
    "device_id": "fresh-cookie",
}


def observation(seen: dict[str, str]) -> Any:
    from tessera.auth import Observation
    from tessera.storage import utcnow

    return Observation(at=utcnow(), **seen)


def ok(response: Any) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"demo step failed: {response.status_code} {response.text}")
    return response.json()
