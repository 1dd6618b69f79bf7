"""`/v1/redact` through HTTP: a text and a conversation, the modes, scopes, tenants, and
problems for bad input."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tessera.trust import Scope
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
