"""`/v1/redact` through HTTP: a text and a conversation, the modes, scopes, tenants, and
problems for bad input."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tessera.trust import Scope, Services
from tessera.trust._redactor import MAX_TEXT_CHARS
from tests.trust.test_api import problem

CARD = "4970 1012 3456 7893"


def test_a_text_is_redacted_with_the_reasons_and_never_the_values(
    client: TestClient, issue, tenant: str
) -> None:
    headers = issue(tenant, [Scope.REDACT])
    text = f"ma carte {CARD}, le cryptogramme 123, mail jean.dupont@exemple.fr"
    r = client.post("/v1/redact", json={"text": text}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"] == "ma carte <CARD>, le cryptogramme <CVV>, mail <EMAIL>"
    assert [(f["entity"], text[f["start"] : f["end"]]) for f in body["findings"]] == [
        ("CARD", CARD),
        ("CVV", "123"),
        ("EMAIL", "jean.dupont@exemple.fr"),
    ]
    assert body["findings"][1]["reason"] == "after 'cryptogramme'"
    assert CARD not in r.text and "dupont" not in r.text
    masked = client.post(
        "/v1/redact",
        json={"text": text, "modes": {"CARD": "mask"}, "default_mode": "tag"},
        headers=headers,
    ).json()
    assert masked["text"].startswith("ma carte •••,")


def test_a_conversation_keeps_a_number_split_over_turns(
    client: TestClient, issue, tenant: str
) -> None:
    headers = issue(tenant, [Scope.REDACT])
    turns = [
        {"speaker": "client", "text": "c'est quatre neuf sept zéro un zéro un deux"},
        {"speaker": "agent", "text": "oui"},
        {"speaker": "client", "text": "trois quatre cinq six sept huit neuf trois"},
        {"speaker": "client", "text": "my security code is 737", "language": "en"},
    ]
    r = client.post("/v1/redact/conversation", json={"turns": turns}, headers=headers)
    assert r.status_code == 200, r.text
    assert [t["text"] for t in r.json()["turns"]] == [
        "c'est <CARD>",
        "oui",
        "<CARD>",
        "my security code is <CVV>",
    ]


def test_tokens_need_the_tokenize_scope_and_known_values_stay_in_their_tenant(
    client: TestClient, issue, tenant: str, other_tenant: str, services
) -> None:
    only_redact = issue(tenant, [Scope.REDACT])
    body = {"text": f"carte {CARD}", "default_mode": "token", "subject": "c-api"}
    problem(client.post("/v1/redact", json=body, headers=only_redact), 403, "permission-denied")
    both = issue(tenant, [Scope.REDACT, Scope.TOKENIZE])
    token = client.post("/v1/redact", json=body, headers=both).json()["text"].split(" ")[1]
    assert services.vault.detokenize(tenant, token).value == CARD.replace(" ", "")

    services.vault.tokenize(tenant, "Aurélien Kowalczyk", category="person_name", subject="c-api")
    said = {"text": "ici aurelien kowalczik", "subject": "c-api"}
    assert client.post("/v1/redact", json=said, headers=both).json()["text"] == "ici <PERSON>"
    elsewhere = issue(other_tenant, [Scope.REDACT])
    r = client.post("/v1/redact", json=said, headers=elsewhere)
    assert r.json()["text"] == "ici aurelien kowalczik"  # that subject is not theirs


def test_bad_redaction_input_gets_problems(client: TestClient, issue, tenant: str) -> None:
    headers = issue(tenant, [Scope.REDACT])
    for body, status, slug in [
        ({"text": 42}, 422, "validation-error"),
        ({}, 422, "validation-error"),
        ({"text": "hallo", "language": "de"}, 422, "unknown-language"),
        ({"text": "x", "modes": {"card": "mask"}}, 422, "validation-error"),
        ({"text": "x", "modes": {"CARD": "shred"}}, 422, "validation-error"),
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, 422, "validation-error"),
        ({"text": "x", "subject": "x" * 500}, 422, "validation-error"),
    ]:
        problem(client.post("/v1/redact", json=body, headers=headers), status, slug)
    problem(
        client.post("/v1/redact/conversation", json={"turns": []}, headers=headers),
        422,
        "validation-error",
    )
    invalid_utf8 = b'{"text": "caf\xe9"}'
    r = client.post(
        "/v1/redact",
        content=invalid_utf8,
        headers={**headers, "content-type": "application/json"},
    )
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert client.post("/v1/redact", json={"text": ""}, headers=headers).json()["text"] == ""


def test_a_phone_payment_s_transcript_never_shows_the_card(
    client: TestClient, issue, tenant: str, other_tenant: str, services: Services
) -> None:
    agent = issue(tenant, [Scope.PAYMENTS, Scope.REDACT], "agent")
    telephony = issue(tenant, [Scope.PAYMENTS_CARD], "service")
    r = client.post(
        "/v1/payments",
        json={
            "subject": "c-call",
            "amount": 8990,
            "currency": "EUR",
            "payee": "Boutique",
            "channel": "voice_agent",
        },
        headers={**agent, "Idempotency-Key": "call-1"},
    )
    payment = r.json()["id"]
    pad = client.post(f"/v1/payments/{payment}/keypad", headers=agent).json()["id"]
    for keys in ("4242424242424242#", "1234", "123"):
        client.post(f"/v1/payments/keypads/{pad}/keys", json={"keys": keys}, headers=telephony)
    (window,) = services.phone.windows(tenant, payment)
    assert window.closed_at is not None

    def at(seconds: float) -> str:
        return (window.opened_at + dt.timedelta(seconds=seconds)).isoformat()

    turns = [
        {"speaker": "agent", "text": "je vous passe au clavier pour 89 euros 90", "at": at(-60)},
        {"speaker": "client", "text": "quatre deux quatre deux", "at": at(1)},
        {"speaker": "asr", "text": "[DTMF] 4 2 4 2 4 2", "at": at(2)},
        {"speaker": "client", "text": "douze trente-quatre", "at": at(3)},
        {"speaker": "agent", "text": "c'est accepté, commande 4521", "at": at(600)},
    ]
    body = {"turns": turns, "payments": [payment]}
    r = client.post("/v1/redact/conversation", json=body, headers=agent)
    assert r.status_code == 200, r.text
    assert [t["text"] for t in r.json()["turns"]] == [
        "je vous passe au clavier pour 89 euros 90",
        "<CARD>",
        "[DTMF] <CARD>",
        "<CARD>",
        "c'est accepté, commande 4521",
    ]
    assert r.json()["turns"][1]["findings"][0]["recognizer"] == "tessera_keypad_window"
    # Bad input: the payment of another tenant, too many, no times, times without a zone.
    other = issue(other_tenant, [Scope.REDACT])
    url = "/v1/redact/conversation"
    problem(client.post(url, json=body, headers=other), 404, "unknown-payment")
    untimed = [{"speaker": "c", "text": "4 2"}]
    for bad, status, slug in [
        ({"turns": turns, "payments": [payment] * 11}, 422, "validation-error"),
        ({"turns": turns, "payments": "pay_x"}, 422, "validation-error"),
        ({"turns": turns, "payments": ["x" * 41]}, 422, "validation-error"),
        ({"turns": untimed, "payments": [payment]}, 422, "invalid-redaction"),
        ({"turns": [{**untimed[0], "at": "2026-03-02T10:00:00"}]}, 422, "validation-error"),
        ({"turns": [{**untimed[0], "at": "hier"}]}, 422, "validation-error"),
    ]:  # fmt: skip
        problem(client.post(url, json=bad, headers=agent), status, slug)
