"""`tessera demo`: the whole flow on a throw-away embedded database, through the real HTTP API.

Each capability adds its own step here as it lands.
"""

from __future__ import annotations

import datetime as dt
import json
import re
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
from tessera.trust.http import create_app, serve_in_thread
from tessera.trust.identity import Scope
from tessera.vault import key_status, rotate_keys

__all__ = ["run_demo"]

CUSTOMER = "cust-0001"
EXAMPLE_CATALOGUE = Path(__file__).parent / "examples" / "purposes.toml"


def run_demo(console: Console, *, keep: bool = False) -> None:
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


def _found(pattern: str, text: str) -> str:
    """The first group of `pattern` in a page the demo reads (the demo stops if it is not there)."""
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"the page has no {pattern!r}")
    return match[1]


def _step(console: Console, title: str) -> None:
    console.rule(f"[bold]{title}")


def _walk(console: Console, services: Services) -> None:
    console.print("[bold]Tessera demo[/bold]: a contact centre's data, vaulted and answered for.\n")
    _step(console, "1. A tenant, its purposes, and the services that call Tessera")
    services.identity.create_tenant("demo-bank", name="Demo Bank")
    catalogue = tomllib.loads(EXAMPLE_CATALOGUE.read_text("utf-8"))
    admin = _client(services, list(Scope), "service", "crm-backend")
    purposes = _ok(admin.put("/v1/purposes", json=catalogue))
    console.print(
        f"{len(purposes)} purposes: "
        + ", ".join(f"{p['id']} ({p['legal_basis']})" for p in purposes)
    )
    callers = {
        "agent desktop": _client(services, [Scope.ACCESS], "agent", "agent-desktop"),
        "chatbot": _client(services, [Scope.ACCESS], "bot", "chatbot"),
        "expert desk": _client(services, [Scope.ACCESS], "expert", "expert-desk"),
        "analytics job": _client(services, [Scope.ACCESS], "analytics", "analytics"),
    }
    dpo = _client(services, [Scope.AUDIT], "dpo", "dpo-console")
    console.print(
        "API keys (shown once, stored as hashes) for: crm-backend, "
        + ", ".join(callers)
        + ", dpo-console"
    )

    _step(console, "2. Tokenize a customer's data (POST /v1/tokens/batch)")
    values = [
        ("4970 1012 3456 7893", "card_pan"),
        ("Jean.Dupont@example.fr", "email"),
        ("06 12 34 56 78", "phone"),
        ("FR14 2004 1010 0505 0001 3M02 606", "iban"),
        ("Jean Dupont", "person_name"),
    ]
    reply = _ok(
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

    _step(console, "3. Card rules: CVV and invalid card numbers are refused")
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

    _step(console, "11. Match without seeing: blind-index search (POST /v1/tokens/search)")
    found = _ok(
        admin.post(
            "/v1/tokens/search", json={"value": "jean.dupont@EXAMPLE.fr", "category": "email"}
        )
    )
    console.print(f"'jean.dupont@EXAMPLE.fr' matches {[t['token'] for t in found['tokens']]}")

    _dsr_step(console, admin)

    _step(console, "13. Key rotation: new KEK version, every data key rewrapped")
    report = rotate_keys(services.keys, services.key_provider)
    status = key_status(services.keys, services.key_provider)
    console.print(
        f"KEK v{report.target_version}: {report.rewrapped} data keys rewrapped, "
        f"{status.pending_rewrap} pending"
    )

    _step(console, "14. Right to erasure: crypto-shredding (DELETE /v1/subjects/…)")
    erasure = _ok(admin.delete(f"/v1/subjects/{CUSTOMER}"))
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
    _payment_steps(console, services, admin)
    console.print("\n[green]Demo complete.[/green] Next: `tessera serve` and the API at /docs.")


READ = {"action": "read_masked", "purpose": "customer_service", "channel": "chat"}


def _client(services: Services, scopes: list[Scope], kind: str, name: str) -> TestClient:
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


def _auth_steps(
    console: Console, services: Services, app: TestClient, *, phone_token: str
) -> dict[str, str]:
    _step(console, "7. Invisible strong authentication (POST /v1/auth/…)")
    _ok(
        app.post(
            "/v1/auth/destinations",
            json={"subject": CUSTOMER, "channel": "sms", "token": phone_token},
        )
    )
    first = _ok(app.post("/v1/auth/assess", json={"subject": CUSTOMER, "observation": APP}))
    console.print(
        f"first sign-in: [yellow]{first['decision']}[/yellow] ({first['explanation']}); "
        f"factors: {', '.join(first['step_up_factors'])}"
    )
    challenge = _ok(
        app.post("/v1/auth/step-up/otp/begin", json={"decision_id": first["decision_id"]})
    )
    code = services.authenticator.notifier.last().message.split(": ")[1][:6]
    done = _ok(
        app.post(
            "/v1/auth/step-up/otp/complete",
            json={"challenge_id": challenge["challenge_id"], "code": code},
        )
    )
    console.print(
        f"code sent by SMS to {challenge['sent_to']} (local outbox), typed back: session at "
        f"[green]{done['state']['assurance']}[/green] assurance; the profile learns this sign-in"
    )
    for _ in range(12):  # a dozen usual evenings at home teach the customer's habits
        services.authenticator.assess("demo-bank", CUSTOMER, _observation(APP))
    usual = _ok(app.post("/v1/auth/assess", json={"subject": CUSTOMER, "observation": APP}))
    console.print(
        f"a usual sign-in, from the app at home: [green]{usual['decision']}[/green], silently "
        f"(score {usual['score']}: {usual['explanation']}); session at "
        f"{usual['session']['assurance']} assurance"
    )
    attack = _ok(app.post("/v1/auth/assess", json={"subject": CUSTOMER, "observation": ATTACKER}))
    console.print(
        f"the same password from a script on a hosting network: [red]{attack['decision']}[/red] "
        f"(score {attack['score']}: {attack['explanation']})"
    )
    return {"low": usual["session"]["session_id"], "substantial": done["session"]["session_id"]}


def _observation(seen: dict[str, str]) -> Any:
    from tessera.auth import Observation
    from tessera.storage import utcnow

    return Observation(at=utcnow(), **seen)


def _gateway_steps(
    console: Console, callers: dict[str, TestClient], sessions: dict[str, str]
) -> None:
    _step(
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
    _step(console, "9. The DPO asks: who accessed this customer's data? (GET /v1/audit/…)")
    history = _ok(dpo.get(f"/v1/audit/subjects/{CUSTOMER}"))
    for entry in history:
        console.print(
            f"  #{entry['seq']} {entry['caller_kind']:<9} {entry['action']:<11} "
            f"{', '.join(entry['categories']):<12} {entry['purpose']:<16} "
            f"{entry['outcome']:<8} {', '.join(entry['policies'])}"
        )

    _step(console, "10. The audit log, exported and verified offline (Merkle checkpoints)")
    export = _ok(dpo.get("/v1/audit/export"))
    key = _ok(dpo.get("/v1/audit/public-key"))
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
    _step(console, "4. Consent per purpose and channel (POST /v1/consents)")
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

    _step(console, "5. Signed receipts, checked offline; the hash chain verified")
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
    _step(console, "6. Policies in force (Cedar, deny by default)")
    console.print(", ".join(services.policies.policies_for("demo-bank").policy_ids))


def _dsr_step(console: Console, http: TestClient) -> None:
    _step(console, "12. Right of access: a data-subject request (POST /v1/dsr)")
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
        f"{len(export['consents']['history'])} consent events with their receipts, "
        f"{len(export['access_history'])} accesses to their data"
    )


def _ok(response: Any) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"demo step failed: {response.status_code} {response.text}")
    return response.json()


PAYER = "cust-0002"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CARD_FORM = {"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123"}


def _payment_steps(console: Console, services: Services, admin: TestClient) -> None:
    from tessera.auth.softkey import SoftPasskey

    payments = _client(services, [Scope.PAYMENTS], "bot", "chatbot-payments")
    browser = TestClient(
        create_app(services),
        client=("86.200.12.34", 50000),  # the customer's home connection
        headers={"user-agent": BROWSER, "accept-language": "fr-FR"},
    )
    phone = _ok(
        admin.post(
            "/v1/tokens", json={"value": "07 11 22 33 44", "category": "phone", "subject": PAYER}
        )
    )["token"]
    _ok(
        admin.post(
            "/v1/auth/destinations", json={"subject": PAYER, "channel": "sms", "token": phone}
        )
    )

    def intent(amount: int, key: str, channel: str = "chat") -> dict[str, Any]:
        return _ok(
            payments.post(
                "/v1/payments",
                json={
                    "subject": PAYER,
                    "amount": amount,
                    "currency": "EUR",
                    "payee": "Boutique Lumière",
                    "reference": key,
                    "channel": channel,
                },
                headers={"Idempotency-Key": key},
            )
        )

    def link(payment: str) -> str:
        url = _ok(payments.post(f"/v1/payments/{payment}/link"))["url"]
        return "/pay/" + url.rsplit("/pay/", 1)[1]

    _step(console, "15. A payment link in the chat: the card page, SCA only when needed")
    first = intent(2490, "order-1")
    page = link(first["id"])
    console.print(f"the bot sends a single-use link (15 minutes): {page[:34]}…")
    shown = browser.post(page, data=CARD_FORM)
    step = _found(r'name="step" value="([^"]+)"', shown.text)
    sent = browser.post(page + "/code/send", data={"step": step})
    challenge = _found(r'name="challenge_id" value="([^"]+)"', sent.text)
    sms = services.authenticator.notifier.last()
    console.print(
        "first payment from this browser: the risk analysis asks to confirm; SMS: "
        f"[cyan]{sms.message.split(':')[0]}[/cyan]"
    )
    code = sms.message.split(": ")[1][:6]
    form = {"step": step, "challenge_id": challenge, "code": code}
    done = browser.post(page + "/code", data=form)
    if "Paiement accepté" not in done.text:
        raise RuntimeError("demo step failed: the card page did not accept the payment")
    console.print("the code typed on the card page: [green]Paiement accepté[/green]")
    second = intent(1250, "order-2")
    browser.post(link(second["id"]), data=CARD_FORM)
    paid = _ok(payments.get(f"/v1/payments/{second['id']}"))
    console.print(
        f"a second, small payment from the same browser: [green]{paid['state']}[/green] with no "
        f"code: {paid['sca']['exemption']} ({paid['sca']['article']}); the bot sees "
        f"{paid['card']}, never the number"
    )

    _step(console, "16. A larger payment with a passkey bound to amount and payee; then one tap")
    assessed = _ok(admin.post("/v1/auth/assess", json={"subject": PAYER, "observation": APP}))
    # Enrolling a passkey asks for a strong session: a code by SMS lifts this one.
    begin = (
        {"session_id": assessed["session"]["session_id"]}
        if assessed["session"]
        else {"decision_id": assessed["decision_id"]}
    )
    started = _ok(admin.post("/v1/auth/step-up/otp/begin", json=begin))
    code = services.authenticator.notifier.last().message.split(": ")[1][:6]
    session = _ok(
        admin.post(
            "/v1/auth/step-up/otp/complete",
            json={"challenge_id": started["challenge_id"], "code": code},
        )
    )
    key = SoftPasskey(rp_id="localhost", origin=services.settings.webauthn_origins[0])
    begun = _ok(
        admin.post(
            "/v1/auth/factors/passkey/begin",
            json={"session_id": (session["session"] or begin)["session_id"]},
        )
    )
    _ok(
        admin.post(
            "/v1/auth/factors/passkey/complete",
            json={
                "challenge_id": begun["challenge_id"],
                "credential": key.register(begun["options"]),
            },
        )
    )
    big = intent(45_000, "order-3")
    page = link(big["id"])
    # The customer ticks "keep this card": their consent for card_on_file, recorded on the page.
    shown = browser.post(page, data={**CARD_FORM, "save_card": "1"})
    step = _found(r'data-step="([^"]+)"', shown.text)
    options = _ok(browser.post(page + "/passkey/begin", json={"step": step}))
    assertion = key.assert_(options["options"])
    _ok(
        browser.post(
            page + "/passkey/complete",
            json={"step": step, "challenge_id": options["challenge_id"], "credential": assertion},
        )
    )
    paid = _ok(payments.get(f"/v1/payments/{big['id']}"))
    console.print(
        f"€450.00: {paid['sca']['reason']} → the passkey signs a challenge derived from the "
        f"payment (id, 450.00 EUR, payee, nonce): [green]{paid['state']}[/green], "
        f"authenticated={paid['authenticated']}"
    )
    (kept,) = _ok(payments.get(f"/v1/payments/subjects/{PAYER}/cards"))
    console.print(
        f"the card is kept on file with the customer's consent (card_on_file): {kept['card']}, "
        "never its security code"
    )
    again = intent(4_500, "order-3b")
    page = link(again["id"])
    if "Payer en un geste" not in browser.get(page).text:
        raise RuntimeError("demo step failed: the card page offered no one-tap payment")
    tapped = _ok(browser.post(page + "/card-on-file", json={"card_id": kept["id"]}))
    _ok(
        browser.post(
            page + "/passkey/complete",
            json={
                "step": tapped["step"],
                "challenge_id": tapped["challenge_id"],
                "credential": key.assert_(tapped["options"]),
            },
        )
    )
    paid = _ok(payments.get(f"/v1/payments/{again['id']}"))
    console.print(
        f"next time, €45.00 in one tap: the kept card and the passkey, nothing typed: "
        f"[green]{paid['state']}[/green] ({paid['sca']['article']})"
    )

    _step(console, "17. A phone payment with an agent: the caller keys the card on the keypad")
    agent = _client(services, [Scope.PAYMENTS], "agent", "agent-desktop-payments")
    telephony = _client(services, [Scope.PAYMENTS_CARD], "service", "telephony")
    call = intent(8990, "order-4", channel="voice_agent")
    pad = _ok(agent.post(f"/v1/payments/{call['id']}/keypad"))["id"]
    table = Table("keys pressed", "the agent's screen")
    for keys, said in (
        ("42424242", "8 digits"),
        ("42424242#", "16 digits + #"),
        ("1234", "expiry"),
        ("123", "code"),
    ):
        reply = _ok(telephony.post(f"/v1/payments/keypads/{pad}/keys", json={"keys": keys}))
        v = reply["view"]
        table.add_row(
            said,
            f"field {v['field']}, number {v['number_digits']} digits, Luhn "
            f"{v['number_luhn_valid']}, {v['brand']}, expiry {v['expiry_digits']}/4, code "
            f"{v['cvc_digits']}: payment {reply['payment']['state']}",
        )
    console.print(table)
    console.print(
        f"telephone order: {reply['payment']['sca']['article']}; the agent's screen never "
        "gets a digit"
    )
    # The call's speech-to-text, redacted before it is stored: whatever number is said while
    # the keypad is open is the card's (the tones heard, the caller reading along).
    (window,) = services.phone.windows("demo-bank", call["id"])
    heard = [
        ("agent", "Je vous passe sur le clavier pour régler 89 euros 90.", -20),
        ("client", "d'accord alors quatre deux quatre deux", 2),
        ("asr", "[DTMF] 4 2 4 2 4 2 4 2", 4),
        ("client", "et elle expire en douze trente-quatre", 9),
        ("agent", "C'est accepté. Je vous rappelle au 07 11 22 33 44 si besoin.", 90),
    ]
    _transcript(
        console,
        _client(services, [Scope.REDACT], "service", "transcript-pipeline"),
        {
            "subject": PAYER,
            "payments": [call["id"]],
            "turns": [
                {
                    "speaker": who,
                    "text": text,
                    "at": (window.opened_at + dt.timedelta(seconds=s)).isoformat(),
                }
                for who, text, s in heard
            ],
        },
        "the call's transcript, as stored",
    )

    _step(console, "18. Every SCA decision and money movement, in the audit trail")
    entries = services.audit.export("demo-bank")["entries"]
    table = Table("payment", "event", "exemption / article")
    for entry in entries:
        body = json.loads(entry["body"])
        if body.get("payment") and body.get("event") in ("sca_decided", "authenticated"):
            how = body.get("exemption") or (
                f"{body.get('factor')}, {str(body.get('assurance')).lower()}"
                if body["event"] == "authenticated"
                else "SCA"
            )
            table.add_row(body["payment"][:12] + "…", body["event"], f"{how} · {body['article']}")
    console.print(table)

    _step(console, "19. A chat redacted before it is stored or shown to a bot (POST /v1/redact)")
    _transcript(
        console,
        _client(services, [Scope.REDACT], "service", "chat-archive"),
        {
            "subject": PAYER,
            "turns": [
                {"speaker": "client", "text": "Bonjour, c'est Marie Lefèvre, pour mon prélèvement"},
                {"speaker": "bot", "text": "Bonjour ! Quel est votre IBAN ?"},
                {"speaker": "client", "text": "FR76 3000 6000 0112 3456 7890 189"},
                {
                    "speaker": "client",
                    "text": "et mon mail marie point lefevre arobase orange point fr",
                },
                {"speaker": "client", "text": "ma date de naissance : 12/03/1984"},
            ],
        },
        "the chat, as stored",
    )


def _transcript(console: Console, http: TestClient, body: dict[str, Any], title: str) -> None:
    done = _ok(http.post("/v1/redact/conversation", json=body))
    table = Table("speaker", title, "found (recognizer: reason)")
    for turn, out in zip(body["turns"], done["turns"], strict=True):
        table.add_row(
            turn["speaker"],
            out["text"],
            "; ".join(f"{f['entity']} ({f['recognizer']}: {f['reason']})" for f in out["findings"]),
        )
    console.print(table)
