"""`tessera demo`: the whole flow on a throw-away embedded database, through the real HTTP API.

Each capability adds its own step here as it lands.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from tessera.consent import verify_receipt
from tessera.vault import key_status, rotate_keys

from ._api import create_app
from ._identity import Scope
from ._services import Services
from ._settings import Settings

__all__ = ["run_demo"]

CUSTOMER = "cust-0001"
EXAMPLE_CATALOGUE = Path(__file__).parent / "examples" / "purposes.toml"


def run_demo(console: Console, *, keep: bool = False) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tessera-demo-"))
    settings = Settings(
        data_dir=workdir,
        database_url=None,
        keystore_url=None,
        key_provider="keyring",
        keyring_passphrase=SecretStr(secrets.token_urlsafe(24)),
    )
    services = Services.from_settings(settings)
    try:
        _walk(console, services)
    finally:
        services.close()
        if keep:
            console.print(f"\n[dim]data kept in {workdir}[/dim]")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _step(console: Console, title: str) -> None:
    console.rule(f"[bold]{title}")


def _walk(console: Console, services: Services) -> None:
    console.print("[bold]Tessera demo[/bold]: a contact centre's data, vaulted and answered for.\n")
    _step(console, "1. A tenant and a scoped API key")
    services.identity.create_tenant("demo-bank", name="Demo Bank")
    issued = services.identity.issue_key("demo-bank", scopes=list(Scope), name="agent-desktop")
    console.print(
        f"tenant [cyan]demo-bank[/cyan]; API key [cyan]{issued.key_id}[/cyan] "
        "(its secret is shown once, stored only as a hash)"
    )
    http = TestClient(create_app(services), raise_server_exceptions=True)
    http.headers["Authorization"] = f"Bearer {issued.secret}"

    _step(console, "2. Tokenize a customer's data (POST /v1/tokens/batch)")
    values = [
        ("4970 1012 3456 7893", "card_pan"),
        ("Jean.Dupont@example.fr", "email"),
        ("06 12 34 56 78", "phone"),
        ("FR14 2004 1010 0505 0001 3M02 606", "iban"),
        ("Jean Dupont", "person_name"),
    ]
    reply = _ok(
        http.post(
            "/v1/tokens/batch",
            json={"items": [{"value": v, "category": c, "subject": CUSTOMER} for v, c in values]},
        )
    )
    tokens = [t["token"] for t in reply["tokens"]]
    table = Table("category", "token other systems keep")
    for (_, category), token in zip(values, tokens, strict=True):
        table.add_row(category, token)
    console.print(table)
    console.print("The card token keeps BIN and last four for routing, and fails the Luhn check.")

    _step(console, "3. Card rules: CVV and invalid card numbers are refused")
    for body in (
        {"value": "123", "category": "cvv"},
        {"value": "4970 1012 3456 7890", "category": "card_pan"},
    ):
        problem = http.post("/v1/tokens", json=body).json()
        console.print(
            f"{body['category']}: [red]{problem['status']} {problem['title']}[/red] "
            f"- {problem['detail']}"
        )

    _step(console, "4. What an agent or a bot sees (POST /v1/tokens/reveal-masked)")
    masked = _ok(http.post("/v1/tokens/reveal-masked", json={"tokens": tokens}))
    for item in masked:
        console.print(f"  {item['masked']}")

    _step(console, "5. Match without seeing: blind-index search (POST /v1/tokens/search)")
    found = _ok(
        http.post(
            "/v1/tokens/search", json={"value": "jean.dupont@EXAMPLE.fr", "category": "email"}
        )
    )
    console.print(f"'jean.dupont@EXAMPLE.fr' matches {[t['token'] for t in found['tokens']]}")

    _consent_steps(console, services, http)

    _step(console, "9. Key rotation: new KEK version, every data key rewrapped")
    report = rotate_keys(services.keys, services.key_provider)
    status = key_status(services.keys, services.key_provider)
    console.print(
        f"KEK v{report.target_version}: {report.rewrapped} data keys rewrapped, "
        f"{status.pending_rewrap} pending; values still readable: "
        f"{_ok(http.post('/v1/tokens/reveal-masked', json={'tokens': tokens[:1]}))[0]['masked']}"
    )

    _step(console, "10. Right to erasure: crypto-shredding (DELETE /v1/subjects/…)")
    erasure = _ok(http.delete(f"/v1/subjects/{CUSTOMER}"))
    console.print(
        f"subject {erasure['subject']}: {erasure['keys_destroyed']} key destroyed, "
        f"{erasure['items_destroyed']} values made unreadable at {erasure['erased_at']}"
    )
    after = http.post("/v1/tokens/detokenize", json={"tokens": tokens[:1]}).json()
    console.print(f"detokenize afterwards: [red]{after['status']} {after['title']}[/red]")
    report = services.consents.verify("demo-bank", deep=True)
    console.print(f"consent ledger still verifies: {report.events} events, proof of consent kept")
    console.print("\n[green]Demo complete.[/green] Next: `tessera serve` and the API at /docs.")


def _consent_steps(console: Console, services: Services, http: TestClient) -> None:
    _step(console, "6. Purposes and consent per channel (PUT /v1/purposes, POST /v1/consents)")
    catalogue = tomllib.loads(EXAMPLE_CATALOGUE.read_text("utf-8"))
    purposes = _ok(http.put("/v1/purposes", json=catalogue))
    console.print(
        f"{len(purposes)} purposes: "
        + ", ".join(f"{p['id']} ({p['legal_basis']})" for p in purposes)
    )
    given = _ok(
        http.post(
            "/v1/consents",
            json={
                "subject": CUSTOMER,
                "purpose": "marketing_sms",
                "kind": "given",
                "channel": "voice_ivr",
                "evidence": {"recording_ref": "ivr-call-5521", "ivr_menu": "3-1"},
            },
            headers={"Idempotency-Key": "ivr-call-5521"},
        )
    )["event"]
    console.print(f"IVR: consent given to marketing_sms (ledger seq {given['seq']})")
    decision = _ok(
        http.get(f"/v1/consents/{CUSTOMER}/decision", params={"purpose": "marketing_sms"})
    )
    console.print(
        f"  may we send SMS offers? [green]{decision['allowed']}[/green] - {decision['reason']}"
    )
    withdrawn = _ok(
        http.post(
            "/v1/consents",
            json={
                "subject": CUSTOMER,
                "purpose": "marketing_sms",
                "kind": "withdrawn",
                "channel": "chat",
                "evidence": {"message_id": "chat-msg-88"},
            },
        )
    )["event"]
    console.print(f"chat: consent withdrawn (ledger seq {withdrawn['seq']})")
    decision = _ok(
        http.get(f"/v1/consents/{CUSTOMER}/decision", params={"purpose": "marketing_sms"})
    )
    console.print(
        f"  may we send SMS offers? [red]{decision['allowed']}[/red] - "
        f"{decision['reason']} (event {decision['deciding_event']['seq']})"
    )
    gpc = _ok(
        http.post(
            "/v1/consents/gpc",
            json={"subject": CUSTOMER, "channel": "web"},
            headers={"Sec-GPC": "1"},
        )
    )
    console.print(
        f"web visit with Sec-GPC: 1 -> objections to {', '.join(e['purpose'] for e in gpc)}"
    )

    _step(console, "7. Signed receipts, checked offline; the hash chain verified")
    key = _ok(http.get("/v1/consents/receipt-key"))
    for event in (given, withdrawn):
        record = verify_receipt(event["receipt"], key)
        signer = record["piiControllers"][0]["piiController"]
        console.print(
            f"receipt {record['consentReceiptID']}: {record['event']['type']} on "
            f"{record['collectionMethod']}, signed by {signer} - [green]valid[/green]"
        )
    report = services.consents.verify("demo-bank", deep=True)
    console.print(f"ledger: {report.events} events, head {report.head[:16]}… intact")

    _step(console, "8. Right of access: a data-subject request (POST /v1/dsr)")
    request = _ok(http.post("/v1/dsr", json={"subject": CUSTOMER, "kind": "access"}))
    console.print(f"request {request['id']} received, due {request['due_at'][:10]}")
    refused = http.post(f"/v1/dsr/{request['id']}/execute").json()
    console.print(f"before identity is verified: [red]{refused['title']}[/red]")
    _ok(
        http.post(
            f"/v1/dsr/{request['id']}/verify-identity",
            json={"verified_by": "agent-7 (security questions)"},
        )
    )
    export = _ok(http.post(f"/v1/dsr/{request['id']}/execute"))
    console.print(
        f"export: {len(export['personal_data'])} values in clear for the customer, "
        f"{len(export['consents']['history'])} consent events with their receipts"
    )


def _ok(response: Any) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"demo step failed: {response.status_code} {response.text}")
    return response.json()
