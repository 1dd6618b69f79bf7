"""The demo's last step: the customer's privacy portal. A second customer (the first was erased)
calls the IVR, gives a consent, an agent reads their e-mail masked; the agent desktop sends them
a link to their privacy space, and the demo prints it. With `--serve` the demo keeps the portal
running on 127.0.0.1 and prints each one-time code as it is "sent", until Ctrl-C."""

from __future__ import annotations

import re
import signal
import threading
import time
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console

from tessera.auth import Outbox
from tessera.trust._services import Services

from ._demo_kit import READ, ok, step

__all__ = ["PORTAL_CUSTOMER", "console_step", "portal_step", "serve_portal"]

PORTAL_CUSTOMER = "cust-0003"
_IVR = {
    "purpose": "marketing_sms",
    "kind": "given",
    "channel": "voice_ivr",
    "evidence": {"recording_ref": "rec-0003-1", "utterance_ref": "utt-4"},
}


def portal_step(console: Console, services: Services, admin: TestClient, agent: TestClient) -> str:
    """Seed the portal's customer, send their link, print it; returns the link."""
    step(console, "22. The customer's privacy portal (/portal/demo-bank/)")
    for value, category, channel in (
        ("marie.curie@example.fr", "email", "email"),
        ("07 98 76 54 32", "phone", "sms"),
    ):
        token = ok(
            admin.post(
                "/v1/tokens",
                json={"value": value, "category": category, "subject": PORTAL_CUSTOMER},
            )
        )["token"]
        ok(
            admin.post(
                "/v1/auth/destinations",
                json={"subject": PORTAL_CUSTOMER, "channel": channel, "token": token},
            )
        )
    ok(admin.post("/v1/consents", json={"subject": PORTAL_CUSTOMER, **_IVR}))
    ok(agent.post("/v1/access", json={**READ, "subject": PORTAL_CUSTOMER, "categories": ["email"]}))
    sent = ok(
        admin.post(
            "/v1/portal/links",
            json={"subject": PORTAL_CUSTOMER, "channel": "sms", "language": "en"},
        )
    )
    link = _last_link(services)
    console.print(
        f"the chat sends the customer a link by SMS to {sent['sent_to']} (POST /v1/portal/links; "
        f"the caller never sees it); valid once, until {sent['expires_at'][11:16]} UTC"
    )
    console.print(f"portal: {services.settings.public_url}/portal/demo-bank/")
    console.print("the customer's link:")
    console.print(link, soft_wrap=True, markup=False, highlight=False)  # one line, to copy
    console.print(
        "it still asks a one-time code; the portal shows the IVR consent (withdraw it there), "
        "the receipts, the requests, and the agent's masked read under 'Who used my data'"
    )
    return link


def _outbox(services: Services) -> Outbox:
    outbox = services.authenticator.notifier
    assert isinstance(outbox, Outbox)  # the demo's services send to the local outbox
    return outbox


def _last_link(services: Services) -> str:
    message = _outbox(services).last()
    assert message is not None
    found = re.search(r"https?://\S+", message.message)
    assert found is not None
    return found.group(0)


def serve_portal(console: Console, services: Services, app: Any, port: int) -> None:
    """Serve the app on 127.0.0.1:`port` until Ctrl-C, printing the codes the outbox gets."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # "Serving" is said once the socket listens: the app's start-up (the redaction model's
    # warm-up among it) comes first, and a link opened before would be refused.
    while thread.is_alive() and not server.started:
        time.sleep(0.05)
    if not server.started:
        console.print(f"[red]error:[/red] the portal could not be served on 127.0.0.1:{port}")
        return
    console.print(
        f"\n[green]Serving[/green] on {services.settings.public_url}: open the link above. "
        "One-time codes appear here (Ctrl-C to stop)."
    )
    outbox = _outbox(services)
    seen = outbox.last()
    # Ctrl-C sets a flag, read between two looks at the outbox: raised where it lands, it
    # could break off a read of the store, whose connection the closing then waited on.
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while thread.is_alive() and not stop.wait(0.5):
            latest = outbox.last()
            if latest is not None and latest != seen:
                seen = latest
                console.print(
                    f"[dim]{latest.channel} to {latest.destination}:[/dim] {latest.message}"
                )
    finally:
        signal.signal(signal.SIGINT, previous)
        server.should_exit = True
        thread.join(timeout=5)


def console_step(console: Console, services: Services) -> None:
    """The demo DPO at the console: a staff account with its authenticator app, printed once
    (a demo on a throwaway data directory; a real one is `tessera staff create`)."""
    import pyotp

    step(console, "23. The DPO console (/console/demo-bank/)")
    member, enrolment = services.staff.create(
        "demo-bank", "dpo", "dpo", name="Demo DPO", actor="demo"
    )
    seed = enrolment.uri.split("secret=")[1].split("&")[0]
    console.print(f"console: {services.settings.public_url}/console/demo-bank/")
    console.print(
        f"sign in as [bold]{member.login}[/bold] (role {member.role.value}); the authenticator "
        "app's key, to add to any TOTP app:"
    )
    console.print(enrolment.uri, soft_wrap=True, markup=False, highlight=False)
    console.print(
        f"a code valid now: {pyotp.TOTP(seed).now()} (then your TOTP app's); with --serve the "
        "console searches both logs, verifies them, runs the requests queue and shows the "
        "charts and the record of processing, each page recorded in the audit log"
    )
