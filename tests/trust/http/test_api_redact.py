"""`/v1/redact` through HTTP: a text and a conversation, the modes, scopes, tenants, and
problems for bad input."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tessera.trust import Scope, Services
from tessera.trust.redaction import MAX_TEXT_CHARS
from tests.trust.http.test_api import problem
from tests.trust.http.test_api_payments import create_payment

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


def test_a_plain_text_transcript_is_read_as_a_conversation_when_asked_or_detected(
    client: TestClient, issue, tenant: str
) -> None:
    headers = issue(tenant, [Scope.REDACT])
    text = "[00:01] Client: ma carte 4970 1012\n[00:03] Agent: oui\n[00:04] Client: 3456 7893\n"
    free = client.post("/v1/redact", json={"text": text}, headers=headers).json()
    assert "3456" in free["text"]  # one free text by default, as before
    for reading in ("auto", "conversation"):
        r = client.post("/v1/redact", json={"text": text, "reading": reading}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["text"] == (
            "[00:01] Client: ma carte <CARD>\n[00:03] Agent: oui\n[00:04] Client: <CARD>\n"
        )
        assert [text[f["start"] : f["end"]] for f in body["findings"]] == ["4970 1012", "3456 7893"]
    problem(
        client.post(
            "/v1/redact",
            json={"text": "pas de locuteur", "reading": "conversation"},
            headers=headers,
        ),
        422,
        "invalid-redaction",
    )
    problem(
        client.post("/v1/redact", json={"text": "x", "reading": "lines"}, headers=headers),
        422,
        "validation-error",
    )


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
    # No word before the name hands it over: only the subject's own value finds it.
    said = {"text": "dossier aurelien kowalczik", "subject": "c-api"}
    assert client.post("/v1/redact", json=said, headers=both).json()["text"] == "dossier <PERSON>"
    looked_up = [e for e in services.audit.for_subject(tenant, "c-api") if e["action"] == "redact"]
    assert [(e["caller_kind"], e["categories"]) for e in looked_up] == [("expert", ["person_name"])]
    elsewhere = issue(other_tenant, [Scope.REDACT])
    r = client.post("/v1/redact", json=said, headers=elsewhere)
    assert r.json()["text"] == "dossier aurelien kowalczik"  # that subject is not theirs


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
    payment = create_payment(client, agent, 8990, "call-1", "c-call", "voice_agent")["id"]
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


STREAM = "/v1/redact/stream"


def _released(ws, n: int) -> list[dict]:
    out = []
    while len(out) < n:
        message = ws.receive_json()
        assert message["type"] == "released", message
        out.append(message)
    return out


def test_the_stream_over_a_websocket_gives_the_batch_s_spans(
    client: TestClient, issue, tenant: str
) -> None:
    headers = issue(tenant, [Scope.REDACT])
    turns = [
        {"speaker": "client", "text": "ma carte c'est 4970 1012"},
        {"speaker": "agent", "text": "oui je note"},
        {"speaker": "client", "text": "3456 7893 voilà"},
        {"speaker": "client", "text": "mon mail jean point dupont arobase"},
        {"speaker": "client", "text": "orange point fr merci"},
    ]
    batch = client.post("/v1/redact/conversation", json={"turns": turns}, headers=headers).json()
    with client.websocket_connect(STREAM, headers=headers) as ws:
        ws.send_json({"type": "open", "language": "fr"})
        opened = ws.receive_json()
        assert opened["type"] == "opened" and opened["hold_seconds"] == 2.0
        ws.send_json({"type": "turn", **turns[0]})  # held: the number may go on
        ws.send_json({"type": "turn", **turns[1]})
        (agent,) = _released(ws, 1)
        assert (agent["seq"], agent["text"]) == (1, "oui je note")
        ws.send_json({"type": "turn", **turns[2]})
        first, second = _released(ws, 2)
        ws.send_json({"type": "turn", **turns[3]})
        ws.send_json({"type": "turn", **turns[4]})
        mail = _released(ws, 2)
        ws.send_json({"type": "close"})
        assert ws.receive_json() == {"type": "closed", "turns": 5, "reason": "client"}
    streamed = sorted([agent, first, second, *mail], key=lambda m: m["seq"])
    assert [{k: m[k] for k in ("text", "language", "findings")} for m in streamed] == batch["turns"]
    assert streamed[0]["text"] == "ma carte c'est <CARD>" and "<EMAIL>" in streamed[3]["text"]


def test_a_stream_that_goes_quiet_releases_what_it_held(
    client: TestClient, issue, tenant: str
) -> None:
    headers = issue(tenant, [Scope.REDACT])
    with client.websocket_connect(STREAM, headers=headers) as ws:
        ws.send_json({"type": "open", "hold_seconds": 0.2, "idle_seconds": 1})
        ws.receive_json()
        ws.send_json({"type": "turn", "speaker": "client", "text": "c'est le 4970 1012"})
        (held,) = _released(ws, 1)  # after 0.2 s of the speaker's silence
        assert held["text"] == "c'est le 4970 1012"  # half a number is not a card
        ws.send_json({"type": "turn", "speaker": "client", "text": "le cryptogramme c'est"})
        _released(ws, 1)
        assert ws.receive_json() == {"type": "closed", "turns": 2, "reason": "idle"}


def test_bad_stream_messages_get_problems_and_change_nothing(
    client: TestClient, issue, tenant: str, other_tenant: str
) -> None:
    headers = issue(tenant, [Scope.REDACT])
    # No key: the handshake is refused.
    from starlette.websockets import WebSocketDisconnect

    try:
        with client.websocket_connect(STREAM) as ws:
            ws.receive_json()
        raise AssertionError("the stream opened without a key")
    except WebSocketDisconnect as refused:
        assert refused.code == 1008
    # A bad opening: a problem, then the stream closes.
    for opening, slug in [
        ({"type": "turn", "speaker": "a", "text": "x"}, "validation-error"),
        ({"type": "open", "language": "de"}, "unknown-language"),
        ({"type": "open", "default_mode": "token"}, "permission-denied"),
        ({"type": "open", "payments": ["pay_" + "x" * 22]}, "unknown-payment"),
        ({"type": "open", "hold_seconds": 0}, "validation-error"),
    ]:
        with client.websocket_connect(STREAM, headers=headers) as ws:
            ws.send_json(opening)
            reply = ws.receive_json()
            assert (reply["type"], reply["problem"]) == ("problem", slug), reply
    with client.websocket_connect(STREAM, headers=headers) as ws:
        ws.send_json({"type": "open"})
        ws.receive_json()
        ws.send_json({"type": "turn", "speaker": "client", "text": "ma carte 4970 1012"})
        said = {"type": "turn", "speaker": "client"}
        for bad, slug in [
            ({**said, "text": 42}, "validation-error"),
            ({**said, "text": "x", "extra": 1}, "validation-error"),
            ({**said, "text": "x" * 100_001}, "validation-error"),
            ({**said, "text": "hallo", "language": "de"}, "unknown-language"),
            ({**said, "text": "4 2", "at": "2026-03-02T10:00:00"}, "validation-error"),
            ({"type": "payment", "payment": "pay_x"}, "unknown-payment"),
            ({"type": "shout"}, "validation-error"),
        ]:  # fmt: skip
            ws.send_json(bad)
            reply = ws.receive_json()
            assert (reply["type"], reply["problem"]) == ("problem", slug), reply
            assert "4970" not in str(reply)
        ws.send_text("not json")
        assert ws.receive_json()["problem"] == "validation-error"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["problem"] == "invalid-message"
        # The held half of the card is still there, and is completed.
        ws.send_json({"type": "turn", "speaker": "client", "text": "3456 7893 voilà"})
        held, done = _released(ws, 2)
        assert (held["seq"], held["text"], done["seq"]) == (0, "ma carte <CARD>", 1)


def test_a_live_call_follows_the_payment_taken_in_it(
    client: TestClient, issue, tenant: str, other_tenant: str
) -> None:
    agent = issue(tenant, [Scope.PAYMENTS, Scope.REDACT], "agent")
    telephony = issue(tenant, [Scope.PAYMENTS_CARD], "service")

    def now() -> str:
        return dt.datetime.now(dt.UTC).isoformat()

    with client.websocket_connect(STREAM, headers=agent) as ws:
        ws.send_json({"type": "open", "subject": "c-live"})
        ws.receive_json()
        ws.send_json({"type": "turn", "speaker": "agent", "text": "ce sera 89 euros 90."})
        (before,) = _released(ws, 1)  # no payment yet: no keypad, no time needed
        assert before["text"] == "ce sera 89 euros 90."
        payment = create_payment(client, agent, 8990, "live-1", "c-live", "voice_agent")["id"]
        ws.send_json({"type": "payment", "payment": payment})
        assert ws.receive_json() == {"type": "following", "payment": payment}
        pad = client.post(f"/v1/payments/{payment}/keypad", headers=agent).json()["id"]
        ws.send_json({"type": "turn", "speaker": "asr", "text": "[DTMF] 4 2 4 2 bip", "at": now()})
        (tones,) = _released(ws, 1)
        assert tones["text"] == "[DTMF] <CARD> bip"
        ws.send_json({"type": "turn", "speaker": "asr", "text": "bip"})  # no time, now needed
        assert ws.receive_json()["problem"] == "invalid-redaction"
        client.post(
            f"/v1/payments/keypads/{pad}/keys",
            json={"keys": "4242424242424242#1234123"},
            headers=telephony,
        )
        ws.send_json({"type": "close"})
        assert ws.receive_json()["type"] == "closed"
    # Another tenant's payment can't be followed.
    other = issue(other_tenant, [Scope.REDACT])
    with client.websocket_connect(STREAM, headers=other) as ws:
        ws.send_json({"type": "open"})
        ws.receive_json()
        ws.send_json({"type": "payment", "payment": payment})
        assert ws.receive_json()["problem"] == "unknown-payment"
