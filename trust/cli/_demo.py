"""`tessera demo`: the whole flow on a throw-away embedded database, through the real HTTP API.

Each capability adds its own step here as it lands.
"""

from __future__ import annotations

import datetime as dt
import json
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
from tessera.trust._errors import AuditTampered
from tessera.trust._services import Services
from tessera.trust._settings import Settings
from tessera.trust.audit import verify_export
from tessera.trust.http import serve_in_thread
from tessera.trust.identity import Scope
from tessera.vault import key_status

from ._demo_ai import ai_step
from ._demo_kit import APP, ATTACKER, CUSTOMER, READ, client_for, ok, step
from ._demo_payments import payment_steps
from ._demo_portal import console_step, portal_step, serve_portal

__all__ = ["run_demo"]

EXAMPLE_CATALOGUE = Path(__file__).parent / "examples" / "purposes.toml"


def run_demo(console: Console, *, keep: bool = False, serve: bool = False) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tessera-demo-"))
    from tessera.payments.simulator import create_simulator

    with serve_in_thread(create_simulator()) as processor:
        settings = Settings(
            data_dir=workdir,
            database_url=None,
            keystore_url=None,
            key_provider="keyring",
            keyring_passphrase=SecretStr(secrets.token_urlsafe(24)),
            processor_url=f"http://{processor}",
            webhook_poll_seconds=0,
            public_url=f"http://127.0.0.1:{_free_port()}",
        )
        services = Services.from_settings(settings)
        try:
            _walk(console, services)
            if serve:
                from tessera.trust.http import create_app

                port = int(settings.public_url.rsplit(":", 1)[1])
                serve_portal(console, services, create_app(services), port)
            else:
                console.print(
                    "[dim]`tessera demo --serve` keeps the portal running to open this link.[/dim]"
                )
        finally:
            services.close()
        if keep:
            console.print(f"\n[dim]data kept in {workdir}[/dim]")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _walk(console: Console, services: Services) -> None:
    console.print("[bold]Tessera demo[/bold]: a contact centre's data, vaulted and answered for.\n")
    step(console, "1. A tenant, its purposes, and the services that call Tessera")
    services.identity.create_tenant("demo-bank", name="Demo Bank")
    catalogue = tomllib.loads(EXAMPLE_CATALOGUE.read_text("utf-8"))
    admin = client_for(services, list(Scope), "service", "crm-backend")
    purposes = ok(admin.put("/v1/purposes", json=catalogue))
    console.print(
        f"{len(purposes)} purposes: "
        + ", ".join(f"{p['id']} ({p['legal_basis']})" for p in purposes)
    )
    callers = {
        "agent desktop": client_for(services, [Scope.ACCESS], "agent", "agent-desktop"),
        "chatbot": client_for(services, [Scope.ACCESS], "bot", "chatbot"),
        "expert desk": client_for(services, [Scope.ACCESS], "expert", "expert-desk"),
        "analytics job": client_for(services, [Scope.ACCESS], "analytics", "analytics"),
    }
    dpo = client_for(
        services,
        [Scope.AUDIT, Scope.DSR, Scope.ERASE, Scope.SEARCH, Scope.AUTH_ASSERT],
        "dpo",
        "dpo-console",
    )
    # The console's identity provider signed the DPO in with a hardware key: it asserts so
    # (auth:assert), and the log's reads and exports are decided at that assurance.
    dpo.headers["Tessera-Assurance"] = "high"
    console.print(
        "API keys (shown once, stored as hashes) for: crm-backend, "
        + ", ".join(callers)
        + ", dpo-console"
    )

    step(console, "2. Tokenize a customer's data (POST /v1/tokens/batch)")
    values = [
        ("4970 1012 3456 7893", "card_pan"),
        ("Jean.Dupont@example.fr", "email"),
        ("06 12 34 56 78", "phone"),
        ("FR14 2004 1010 0505 0001 3M02 606", "iban"),
        ("Jean Dupont", "person_name"),
    ]
    reply = ok(
        admin.post(
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

    step(console, "3. Card rules: CVV and invalid card numbers are refused")
    for body in (
        {"value": "123", "category": "cvv"},
        {"value": "4970 1012 3456 7890", "category": "card_pan"},
    ):
        problem = admin.post("/v1/tokens", json=body).json()
        console.print(
            f"{body['category']}: [red]{problem['status']} {problem['title']}[/red] "
            f"- {problem['detail']}"
        )

    _consent_steps(console, services, admin)
    sessions = _auth_steps(console, services, admin, phone_token=tokens[2])
    _gateway_steps(console, callers, sessions)
    _audit_steps(console, services, dpo)

    step(console, "11. Match without seeing: blind-index search (POST /v1/tokens/search)")
    found = ok(
        admin.post(
            "/v1/tokens/search", json={"value": "jean.dupont@EXAMPLE.fr", "category": "email"}
        )
    )
    console.print(f"'jean.dupont@EXAMPLE.fr' matches {[t['token'] for t in found['tokens']]}")

    _dsr_step(console, services, admin, sessions["substantial"])

    step(console, "13. Key rotation: new KEK version, every data key rewrapped")
    report = services.rotate_keys(actor="demo")
    status = key_status(services.keys, services.key_provider)
    console.print(
        f"KEK v{report.target_version}: {report.rewrapped} data keys rewrapped, "
        f"{status.pending_rewrap} pending"
    )

    step(console, "14. Right to erasure: crypto-shredding (DELETE /v1/subjects/…)")
    refused = admin.delete(f"/v1/subjects/{CUSTOMER}", headers={"Tessera-Assurance": "high"})
    console.print(
        f"the CRM backend's key, every scope but no policy: [red]{refused.json()['title']}[/red] "
        f"(recorded as audit entry {refused.json()['audit_seq']})"
    )
    erasure = ok(dpo.delete(f"/v1/subjects/{CUSTOMER}", headers={"Tessera-Assurance": "high"}))
    console.print(
        f"the DPO console at high assurance: decided by policy, recorded as entry "
        f"{erasure['audit_seq']}, then the key destroyed"
    )
    console.print(
        f"subject {erasure['subject']}: {erasure['keys_destroyed']} key destroyed, "
        f"{erasure['items_destroyed']} values made unreadable"
    )
    after = (
        callers["agent desktop"]
        .post("/v1/access", json={**READ, "subject": CUSTOMER, "categories": ["email"]})
        .json()
    )
    console.print(f"the agent desktop asks again: {len(after.get('items', []))} values released")
    consent_report = services.consents.verify("demo-bank", deep=True)
    audit_report = services.audit.verify("demo-bank")
    console.print(
        f"consent ledger ({consent_report.events} events) and audit log "
        f"({audit_report['entries']} entries) still verify: proof is kept"
    )
    payment_steps(console, services, admin)
    ai_step(console, services)
    portal_step(console, services, admin, callers["agent desktop"])
    console_step(console, services)
    console.print("\n[green]Demo complete.[/green] Next: `tessera serve` and the API at /docs.")


def _auth_steps(
    console: Console, services: Services, app: TestClient, *, phone_token: str
) -> dict[str, str]:
    step(console, "7. Invisible strong authentication (POST /v1/auth/…)")
    ok(
        app.post(
            "/v1/auth/destinations",
            json={"subject": CUSTOMER, "channel": "sms", "token": phone_token},
        )
    )
    first = ok(app.post("/v1/auth/assess", json={"subject": CUSTOMER, "observation": APP}))
    console.print(
        f"first sign-in: [yellow]{first['decision']}[/yellow] ({first['explanation']}); "
        f"factors: {', '.join(first['step_up_factors'])}"
    )
    challenge = ok(
        app.post("/v1/auth/step-up/otp/begin", json={"decision_id": first["decision_id"]})
    )
    code = services.authenticator.notifier.last().message.split(": ")[1][:6]
    done = ok(
        app.post(
            "/v1/auth/step-up/otp/complete",
            json={"challenge_id": challenge["challenge_id"], "code": code},
        )
    )
    console.print(
        f"code sent by SMS to {challenge['sent_to']} (local outbox), typed back: session at "
        f"[green]{done['state']['assurance']}[/green] assurance; the profile learns this sign-in"
    )
    # A profile learns only from proof: the bank's own sign-in reports a dozen strong sign-ins
    # of the last weeks (POST /v1/auth/strong-authentications, scope auth:assert).
    idp = client_for(services, [Scope.AUTH_ASSERT], "service", "bank-sign-in")
    now = services.clock()
    for days in range(1, 13):
        at = (now - dt.timedelta(days=days)).isoformat()
        body = {"subject": CUSTOMER, "method": "passkey", "authenticated_at": at}
        learnt = ok(idp.post("/v1/auth/strong-authentications", json={**body, "observation": APP}))
    console.print(
        f"the bank's sign-in reports 12 strong sign-ins of the last weeks: the profile holds "
        f"{learnt['profile_sessions']} proven sessions (a silent allow teaches nothing)"
    )
    usual = ok(app.post("/v1/auth/assess", json={"subject": CUSTOMER, "observation": APP}))
    console.print(
        f"a usual sign-in, from the app at home: [green]{usual['decision']}[/green], silently "
        f"(score {usual['score']}: {usual['explanation']}); session at "
        f"{usual['session']['assurance']} assurance"
    )
    attack = ok(app.post("/v1/auth/assess", json={"subject": CUSTOMER, "observation": ATTACKER}))
    console.print(
        f"the same password from a script on a hosting network: [red]{attack['decision']}[/red] "
        f"(score {attack['score']}: {attack['explanation']})"
    )
    call = {
        "channel": "voice_agent",
        "caller_number": "+33612345678",  # the customer's vaulted mobile: their line
        "attestation": "A",
        "sim_swapped": True,  # the operator's SIM-swap check: changed yesterday
    }
    swapped = ok(
        app.post(
            "/v1/auth/assess", json={"subject": CUSTOMER, "action": "read", "observation": call}
        )
    )
    console.print(
        f"a call from the customer's own number, the day after a SIM swap: "
        f"[red]{swapped['decision']}[/red] ({swapped['explanation']}); no code is sent to the "
        f"swapped SIM (factors offered: {swapped['step_up_factors'] or 'none'}); next step: "
        f"{swapped['next_step']}"
    )
    return {"low": usual["session"]["session_id"], "substantial": done["session"]["session_id"]}


def _gateway_steps(
    console: Console, callers: dict[str, TestClient], sessions: dict[str, str]
) -> None:
    step(
        console, "8. Every access through the gateway (POST /v1/access): policy, consent, assurance"
    )
    asks = [
        ("agent desktop", {**READ, "categories": ["email", "phone"]}),
        ("agent desktop", {**READ, "categories": ["iban"]}),
        ("chatbot", {**READ, "categories": ["phone"]}),
        (
            "chatbot",
            {
                **READ,
                "action": "detokenize",
                "categories": ["phone"],
                "auth_context": {"session_id": "substantial"},
            },
        ),
        (
            "expert desk",
            {
                **READ,
                "action": "detokenize",
                "categories": ["iban"],
                "auth_context": {"session_id": "low"},
            },
        ),
        (
            "expert desk",
            {
                **READ,
                "action": "detokenize",
                "categories": ["iban"],
                "auth_context": {"session_id": "substantial"},
            },
        ),
        ("analytics job", {**READ, "purpose": "analytics", "categories": ["email"]}),
    ]
    table = Table("caller", "asks", "answer", "deciding policies", "released")
    for who, body in asks:
        level = body.get("auth_context", {}).get("session_id")
        if level:
            body = {**body, "auth_context": {"session_id": sessions[level]}}
        reply = callers[who].post("/v1/access", json={**body, "subject": CUSTOMER})
        data = reply.json()
        asked = f"{body['action']} {', '.join(body['categories'])} for {body['purpose']}"
        asked += f" ({level} session)" if level else ""
        if reply.status_code == 200:
            answer = "[green]allowed[/green]"
            released = ", ".join(i["value"] for i in data["items"])
        else:
            answer = f"[red]{data['title'].lower()}[/red]"
            if data.get("required_assurance"):
                answer += f" → {data['required_assurance']}"
            released = data["detail"]
        table.add_row(who, asked, answer, ", ".join(data.get("policy_ids", [])), released)
    console.print(table)


def _audit_steps(console: Console, services: Services, dpo: TestClient) -> None:
    step(console, "9. The DPO asks: who accessed this customer's data? (GET /v1/audit/…)")
    history = ok(dpo.get(f"/v1/audit/subjects/{CUSTOMER}"))["data"]
    for entry in history:
        console.print(
            f"  #{entry['seq']} {entry['caller_kind']:<9} {entry['action']:<11} "
            f"{', '.join(entry['categories']):<12} {entry['purpose']:<16} "
            f"{entry['outcome']:<8} {', '.join(entry['policies'])}"
        )

    step(console, "10. The audit log, exported and verified offline (Merkle checkpoints)")
    export = ok(dpo.get("/v1/audit/export"))
    key = ok(dpo.get("/v1/audit/public-key"))
    report = verify_export(export, key)
    console.print(
        f"export of {report['entries']} entries, signed checkpoint root "
        f"{report['root'][:16]}…: [green]verified[/green]"
    )
    forged = json.loads(json.dumps(export))
    denial = next(e for e in forged["entries"] if '"outcome":"deny"' in e["body"])
    denial["body"] = denial["body"].replace('"outcome":"deny"', '"outcome":"allow"')
    try:
        verify_export(forged, key)
        console.print("[red]the forged export verified: this must not happen[/red]")
    except AuditTampered as exc:
        console.print(
            f"the same export with a denial rewritten as an allow: [red]{exc.detail}[/red]"
        )


def _consent_steps(
    console: Console, services: Services, http: TestClient
) -> tuple[dict[str, Any], dict[str, Any]]:
    step(console, "4. Consent per purpose and channel (POST /v1/consents)")
    given = ok(
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
    decision = ok(
        http.get(f"/v1/consents/{CUSTOMER}/decision", params={"purpose": "marketing_sms"})
    )
    console.print(
        f"  may we send SMS offers? [green]{decision['allowed']}[/green] - {decision['reason']}"
    )
    withdrawn = ok(
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
    decision = ok(
        http.get(f"/v1/consents/{CUSTOMER}/decision", params={"purpose": "marketing_sms"})
    )
    console.print(
        f"  may we send SMS offers? [red]{decision['allowed']}[/red] - "
        f"{decision['reason']} (event {decision['deciding_event']['seq']})"
    )
    gpc = ok(
        http.post(
            "/v1/consents/gpc",
            json={"subject": CUSTOMER, "channel": "web"},
            headers={"Sec-GPC": "1"},
        )
    )
    console.print(
        f"web visit with Sec-GPC: 1 -> objections to {', '.join(e['purpose'] for e in gpc)}"
    )

    step(console, "5. Signed receipts, checked offline; the hash chain verified")
    key = ok(http.get("/v1/consents/receipt-key"))
    for event in (given, withdrawn):
        record = verify_receipt(event["receipt"], key)
        signer = record["piiControllers"][0]["piiController"]
        console.print(
            f"receipt {record['consentReceiptID']}: {record['event']['type']} on "
            f"{record['collectionMethod']}, signed by {signer} - [green]valid[/green]"
        )
    report = services.consents.verify("demo-bank", deep=True)
    console.print(f"ledger: {report.events} events, head {report.head[:16]}… intact")
    step(console, "6. Policies in force (Cedar, deny by default)")
    console.print(", ".join(services.policies.policies_for("demo-bank").policy_ids))


def _dsr_step(console: Console, services: Services, crm: TestClient, session: str) -> None:
    step(console, "12. Right of access: a data-subject request, step by step through the gateway")
    phone = client_for(services, [Scope.DSR], "agent", "agent-phone")
    portal = client_for(services, [Scope.DSR], "customer", "privacy-portal")
    on_call = {"subject": CUSTOMER, "kind": "access", "channel": "voice_agent"}
    request = ok(phone.post("/v1/dsr", json=on_call))
    console.print(f"the agent opens {request['id']} for the caller, due {request['due_at'][:10]}")
    refused = crm.post(f"/v1/dsr/{request['id']}/execute", json={}).json()
    console.print(f"before identity is verified: [red]{refused['title']}[/red]")
    ok(
        portal.post(
            f"/v1/dsr/{request['id']}/verify-identity",
            json={"session_id": session, "channel": "app"},
        )
    )
    verified = ok(portal.get(f"/v1/dsr/{request['id']}"))
    console.print(
        f"the customer proves who they are by their step-up: verified by "
        f"[green]{verified['verified_by']}[/green]"
    )
    stolen = crm.post(
        f"/v1/dsr/{request['id']}/execute", json={"auth_context": {"assurance": "high"}}
    ).json()
    console.print(
        f"the CRM backend's key tries to carry it out: [red]{stolen['title']}[/red] "
        f"({stolen['detail']}; recorded as entry {stolen['audit_seq']})"
    )
    own = {"auth_context": {"session_id": session}, "channel": "app"}
    ok(portal.post(f"/v1/dsr/{request['id']}/execute", json=own))
    export = ok(portal.post(f"/v1/dsr/{request['id']}/export", json=own))
    console.print(
        f"export, released once to the customer's own session: "
        f"{len(export['personal_data'])} values (the card masked), "
        f"{len(export['consents']['history'])} consent events with their receipts, "
        f"{len(export['access_history'])} accesses and steps"
    )
    table = Table("#", "caller", "step", "outcome", "policies")
    for entry in services.audit.for_subject("demo-bank", CUSTOMER):
        if entry["purpose"] == "dsr":
            table.add_row(
                str(entry["seq"]),
                f"{entry['caller_kind']}",
                entry["action"],
                entry["outcome"],
                ", ".join(entry["policies"]),
            )
    console.print(table)
