"""The demo's payments: a chat link, the card page, a passkey, a card on file, the keypad of a
call, and the call's transcript redacted."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from tessera.trust._services import Services
from tessera.trust.http import create_app
from tessera.trust.identity import Scope

from ._demo_kit import APP, client_for, found, ok
from ._demo_kit import step as heading

__all__ = ["payment_steps"]


PAYER = "cust-0002"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CARD_FORM = {"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123"}


def payment_steps(console: Console, services: Services, admin: TestClient) -> None:
    from tessera.auth.softkey import SoftPasskey

    payments = client_for(services, [Scope.PAYMENTS], "bot", "chatbot-payments")
    browser = TestClient(
        create_app(services),
        client=("86.200.12.34", 50000),  # the customer's home connection
        headers={"user-agent": BROWSER, "accept-language": "fr-FR"},
    )
    phone = ok(
        admin.post(
            "/v1/tokens", json={"value": "07 11 22 33 44", "category": "phone", "subject": PAYER}
        )
    )["token"]
    ok(
        admin.post(
            "/v1/auth/destinations", json={"subject": PAYER, "channel": "sms", "token": phone}
        )
    )

    def intent(amount: int, key: str, channel: str = "chat") -> dict[str, Any]:
        return ok(
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
        url = ok(payments.post(f"/v1/payments/{payment}/link"))["url"]
        return "/pay/" + url.rsplit("/pay/", 1)[1]

    heading(console, "15. A payment link in the chat: the card page, SCA only when needed")
    first = intent(2490, "order-1")
    page = link(first["id"])
    console.print(f"the bot sends a single-use link (15 minutes): {page[:34]}…")
    shown = browser.post(page, data=CARD_FORM)
    step = found(r'name="step" value="([^"]+)"', shown.text)
    sent = browser.post(page + "/code/send", data={"step": step})
    challenge = found(r'name="challenge_id" value="([^"]+)"', sent.text)
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
    paid = ok(payments.get(f"/v1/payments/{second['id']}"))
    console.print(
        f"a second, small payment from the same browser: [green]{paid['state']}[/green] with no "
        f"code: {paid['sca']['exemption']} ({paid['sca']['article']}); the bot sees "
        f"{paid['card']}, never the number"
    )

    heading(console, "16. A larger payment with a passkey bound to amount and payee; then one tap")
    assessed = ok(admin.post("/v1/auth/assess", json={"subject": PAYER, "observation": APP}))
    # Enrolling a passkey asks for a strong session: a code by SMS lifts this one.
    begin = (
        {"session_id": assessed["session"]["session_id"]}
        if assessed["session"]
        else {"decision_id": assessed["decision_id"]}
    )
    started = ok(admin.post("/v1/auth/step-up/otp/begin", json=begin))
    code = services.authenticator.notifier.last().message.split(": ")[1][:6]
    session = ok(
        admin.post(
            "/v1/auth/step-up/otp/complete",
            json={"challenge_id": started["challenge_id"], "code": code},
        )
    )
    strong = (session["session"] or begin)["session_id"]
    key = SoftPasskey(rp_id="localhost", origin=services.settings.webauthn_origins[0])
    begun = ok(admin.post("/v1/auth/factors/passkey/begin", json={"session_id": strong}))
    ok(
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
    step = found(r'data-step="([^"]+)"', shown.text)
    options = ok(browser.post(page + "/passkey/begin", json={"step": step}))
    assertion = key.assert_(options["options"])
    ok(
        browser.post(
            page + "/passkey/complete",
            json={"step": step, "challenge_id": options["challenge_id"], "credential": assertion},
        )
    )
    paid = ok(payments.get(f"/v1/payments/{big['id']}"))
    console.print(
        f"€450.00: {paid['sca']['reason']} → the passkey signs a challenge derived from the "
        f"payment (id, 450.00 EUR, payee, nonce): [green]{paid['state']}[/green], "
        f"authenticated={paid['authenticated']}"
    )
    (kept,) = ok(payments.get(f"/v1/payments/subjects/{PAYER}/cards"))["data"]
    console.print(
        f"the card is kept on file with the customer's consent (card_on_file): {kept['card']}, "
        "never its security code"
    )
    again = intent(4_500, "order-3b")
    page = link(again["id"])
    if "Payer en un geste" not in browser.get(page).text:
        raise RuntimeError("demo step failed: the card page offered no one-tap payment")
    tapped = ok(browser.post(page + "/card-on-file", json={"card_id": kept["id"]}))
    ok(
        browser.post(
            page + "/passkey/complete",
            json={
                "step": tapped["step"],
                "challenge_id": tapped["challenge_id"],
                "credential": key.assert_(tapped["options"]),
            },
        )
    )
    paid = ok(payments.get(f"/v1/payments/{again['id']}"))
    console.print(
        f"next time, €45.00 in one tap: the kept card and the passkey, nothing typed: "
        f"[green]{paid['state']}[/green] ({paid['sca']['article']})"
    )

    heading(console, "17. A phone payment with an agent: the caller keys the card on the keypad")
    agent = client_for(services, [Scope.PAYMENTS], "agent", "agent-desktop-payments")
    telephony = client_for(services, [Scope.PAYMENTS_CARD], "service", "telephony")
    call = intent(8990, "order-4", channel="voice_agent")
    pad = ok(agent.post(f"/v1/payments/{call['id']}/keypad"))["id"]
    table = Table("keys pressed", "the agent's screen")
    for keys, said in (
        ("42424242", "8 digits"),
        ("42424242#", "16 digits + #"),
        ("1234", "expiry"),
        ("123", "code"),
    ):
        reply = ok(telephony.post(f"/v1/payments/keypads/{pad}/keys", json={"keys": keys}))
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
        client_for(services, [Scope.REDACT], "service", "transcript-pipeline"),
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

    _voice_step(console, services, admin, strong, kept["id"])

    heading(console, "18. Every SCA decision and money movement, in the audit trail")
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

    heading(console, "19. A chat redacted before it is stored or shown to a bot (POST /v1/redact)")
    _transcript(
        console,
        client_for(services, [Scope.REDACT], "service", "chat-archive"),
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


def _voice_step(
    console: Console, services: Services, admin: TestClient, strong: str, card_id: str
) -> None:
    heading(console, "17b. Paying by voice with a callbot: amount and payee spoken back, a PIN")
    # Set in the app beforehand (a fresh strong session): stored as an argon2id hash, sealed.
    ok(admin.post("/v1/auth/factors/voice-pin", json={"session_id": strong, "pin": "275913"}))
    callbot = client_for(services, [Scope.PAYMENTS, Scope.PAYMENTS_CARD], "bot", "callbot")
    order = ok(
        callbot.post(
            "/v1/payments",
            json={
                "subject": PAYER,
                "amount": 4_500,
                "currency": "EUR",
                "payee": "Boutique Lumière",
                "reference": "order-5",
                "channel": "voice_ivr",
            },
            headers={"Idempotency-Key": "order-5"},
        )
    )
    url = f"/v1/payments/{order['id']}"
    ok(callbot.post(f"{url}/card-on-file", json={"card_id": card_id}))
    # Possession: the customer's own line, fully attested, the operator saying no SIM change.
    line = {"caller_number": "+33711223344", "attestation": "A", "sim_swapped": False}
    asked = ok(
        callbot.post(
            f"{url}/authentication/begin",
            json={"factor": "voice_pin", "locale": "fr", "possession": line},
        )
    )
    console.print(f'the callbot says: [cyan]"{asked["options"]["read_back"]}"[/cyan]')
    paid = ok(
        callbot.post(
            f"{url}/authentication/complete",
            json={"challenge_id": asked["challenge_id"], "code": "275913"},
        )
    )
    said = [
        e
        for e in services.audit.export("demo-bank")["entries"]
        if f'"payment":"{order["id"]}"' in e["body"].replace(" ", "")
        and '"authenticated"' in e["body"]
    ]
    facts = json.loads(said[-1]["body"]) if said else {}
    console.print(
        f"the customer says the PIN (masked in the transcript while it is asked): "
        f"[green]{paid['state']}[/green], SCA by {', '.join(facts.get('sca_elements', []))} "
        f"(possession: the {facts.get('possession')})"
    )


def _transcript(console: Console, http: TestClient, body: dict[str, Any], title: str) -> None:
    done = ok(http.post("/v1/redact/conversation", json=body))
    table = Table("speaker", title, "found (recognizer: reason)")
    for turn, out in zip(body["turns"], done["turns"], strict=True):
        table.add_row(
            turn["speaker"],
            out["text"],
            "; ".join(f"{f['entity']} ({f['recognizer']}: {f['reason']})" for f in out["findings"]),
        )
    console.print(table)
