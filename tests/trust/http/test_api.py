from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tessera.trust import PROBLEM_JSON, Scope, Services

CARD = "4970101234567893"
# What an expert's desktop sends with a token read: purpose, channel, the session's assurance.
CTX = {
    "purpose": "customer_service",
    "channel": "chat",
    "auth_context": {"assurance": "substantial"},
}


def problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"] == f"urn:tessera:problem:{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def tokenize(
    client: TestClient, auth, value: str, category: str = "generic", subject: str | None = "c1"
) -> dict:
    r = client.post(
        "/v1/tokens", json={"value": value, "category": category, "subject": subject}, headers=auth
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["checks"]["key_provider"].startswith("keyring v")


def test_openapi_documents_the_v1_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/v1/tokens",
        "/v1/tokens/batch",
        "/v1/tokens/detokenize",
        "/v1/tokens/reveal-masked",
        "/v1/tokens/search",
        "/v1/subjects/{subject_id}",
    } <= set(paths)


def test_full_flow_over_http(client: TestClient, auth) -> None:
    card = tokenize(client, auth, "4970 1012 3456 7893", "card_pan")
    email = tokenize(client, auth, "jean@example.fr", "email")
    assert card["token"].startswith("49701012") and card["token"].endswith("7893")
    masked = client.post(
        "/v1/tokens/reveal-masked",
        json={"tokens": [card["token"], email["token"]], **CTX},
        headers=auth,
    ).json()
    assert [m["masked"] for m in masked] == ["•••• 7893", "j•••@example.fr"]
    clear = client.post(
        "/v1/tokens/detokenize", json={"tokens": [email["token"]], **CTX}, headers=auth
    )
    assert clear.json() == [
        {"token": email["token"], "category": "email", "subject": "c1", "value": "jean@example.fr"}
    ]
    # The card stays masked for the expert: only the payment flow sees it in clear.
    refused = problem(
        client.post("/v1/tokens/detokenize", json={"tokens": [card["token"]], **CTX}, headers=auth),
        403,
        "access-denied",
    )
    assert refused["policy_ids"] == ["card-clear-only-in-payments"]
    assert isinstance(refused["audit_seq"], int)
    found = client.post(
        "/v1/tokens/search", json={"value": "JEAN@example.fr", "category": "email"}, headers=auth
    ).json()
    assert [t["token"] for t in found["tokens"]] == [email["token"]]
    listed = client.get("/v1/subjects/c1/tokens", headers=auth).json()
    assert {t["token"] for t in listed["tokens"]} == {card["token"], email["token"]}


def test_batch_tokenize(client: TestClient, auth) -> None:
    items = [{"value": f"v{i}", "category": "generic", "subject": "c1"} for i in range(100)]
    r = client.post("/v1/tokens/batch", json={"items": items}, headers=auth)
    assert r.status_code == 200
    assert len(r.json()["tokens"]) == 100


def test_tokenize_is_idempotent_on_retry(client: TestClient, auth) -> None:
    assert tokenize(client, auth, "same")["token"] == tokenize(client, auth, "same")["token"]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Basic abc", "Bearer tsk_aaaaaaaaaaaaaaaa_" + "a" * 32],
)
def test_missing_or_bad_api_key_is_401(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = client.post("/v1/tokens", json={"value": "x"}, headers=headers)
    problem(r, 401, "authentication-required")
    assert r.headers["www-authenticate"] == "Bearer"


def test_revoked_key_is_401(client: TestClient, services: Services, tenant: str) -> None:
    services.identity.create_tenant(tenant)
    issued = services.identity.issue_key(tenant, scopes=[Scope.TOKENIZE])
    headers = {"Authorization": f"Bearer {issued.secret}"}
    assert client.post("/v1/tokens", json={"value": "x"}, headers=headers).status_code == 201
    services.identity.revoke_key(issued.key_id)
    problem(
        client.post("/v1/tokens", json={"value": "x"}, headers=headers),
        401,
        "authentication-required",
    )


def test_key_without_the_scope_is_403(client: TestClient, issue, tenant: str) -> None:
    headers = issue(tenant, [Scope.TOKENIZE, Scope.REVEAL_MASKED, Scope.AUTH_ASSERT])
    token = tokenize(client, headers, CARD, "card_pan")["token"]
    assert (
        client.post(
            "/v1/tokens/reveal-masked", json={"tokens": [token], **CTX}, headers=headers
        ).status_code
        == 200
    )
    body = problem(
        client.post("/v1/tokens/detokenize", json={"tokens": [token], **CTX}, headers=headers),
        403,
        "permission-denied",
    )
    assert "tokens:detokenize" in body["detail"]
    problem(client.delete("/v1/subjects/c1", headers=headers), 403, "permission-denied")


def test_another_tenants_token_is_404_like_an_unknown_one(
    client: TestClient, auth, other_auth
) -> None:
    token = tokenize(client, auth, "mine@example.fr", "email")["token"]
    theirs = problem(
        client.post("/v1/tokens/detokenize", json={"tokens": [token], **CTX}, headers=other_auth),
        404,
        "invalid-token",
    )
    unknown = problem(
        client.post(
            "/v1/tokens/detokenize", json={"tokens": ["tok_" + "a" * 32], **CTX}, headers=other_auth
        ),
        404,
        "invalid-token",
    )
    assert theirs["detail"] == unknown["detail"]
    problem(client.delete("/v1/subjects/c1", headers=other_auth), 404, "unknown-subject")
    assert (
        client.post("/v1/tokens/detokenize", json={"tokens": [token], **CTX}, headers=auth).json()[
            0
        ]["value"]
        == "mine@example.fr"
    )


def test_erasure_over_http_is_the_gateways_decided_and_recorded_first(
    client: TestClient, auth, issue, services, tenant: str
) -> None:
    token = tokenize(client, auth, "jean@example.fr", "email", "c7")["token"]
    before = services.audit.size(tenant)
    # A key with the erase scope alone (kind service) destroys nothing, and it is recorded.
    refused = problem(client.delete("/v1/subjects/c7", headers=auth), 422, "auth-context-required")
    assert "erase needs" in refused["detail"]
    denied = problem(
        client.delete("/v1/subjects/c7", headers={**auth, "Tessera-Assurance": "high"}),
        403,
        "access-denied",
    )
    assert denied["audit_seq"] == before
    dpo = issue(tenant, [Scope.ERASE, Scope.SEARCH, Scope.AUTH_ASSERT], "dpo")
    stepped = problem(
        client.delete("/v1/subjects/c7", headers={**dpo, "Tessera-Assurance": "substantial"}),
        403,
        "step-up-required",
    )
    assert stepped["required_assurance"] == "high"
    assert services.vault.detokenize(tenant, token).value == "jean@example.fr"  # all kept
    r = client.delete("/v1/subjects/c7", headers={**dpo, "Tessera-Assurance": "high"})
    assert r.status_code == 200, r.text
    assert r.json()["items_destroyed"] == 1
    entry = services.audit.for_subject(tenant, "c7")[-1]
    assert (entry["action"], entry["outcome"], entry["seq"]) == (
        "erase",
        "allow",
        r.json()["audit_seq"],
    )
    # Erased: a second erasure, or one of a subject never known, is a clear problem.
    problem(
        client.delete("/v1/subjects/c7", headers={**dpo, "Tessera-Assurance": "high"}),
        404,
        "unknown-subject",
    )
    problem(
        client.delete("/v1/subjects/nobody", headers={**dpo, "Tessera-Assurance": "high"}),
        404,
        "unknown-subject",
    )
    problem(
        client.post("/v1/tokens/detokenize", json={"tokens": [token], **CTX}, headers=auth),
        404,
        "invalid-token",
    )


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"value": "123", "category": "cvv"}, 422, "sensitive-authentication-data"),
        ({"value": "4242 4242 4242 4241", "category": "card_pan"}, 422, "invalid-value"),
        ({"value": "x", "category": "shoe_size"}, 422, "invalid-value"),
        ({"value": 4242424242424242, "category": "card_pan"}, 422, "validation-error"),
        ({"value": ["a"]}, 422, "validation-error"),
        ({"category": "generic"}, 422, "validation-error"),
        ({"value": "x", "unexpected": 1}, 422, "validation-error"),
        ({"value": "x", "subject": "has space"}, 422, "invalid-value"),
        ({"value": "x" * 4097}, 413, "too-large"),
        ({"value": "my card is 4970 1012 3456 7893 cvv 123"}, 422, "invalid-value"),
        ({"value": "cvv 123", "category": "postal_address"}, 422, "sensitive-authentication-data"),
    ],
)
def test_bad_input_gets_a_clear_problem_and_stores_nothing(
    client: TestClient, auth, services, tenant: str, body, status: int, slug: str
) -> None:
    before = services.vault.count_items(tenant)
    problem(client.post("/v1/tokens", json=body, headers=auth), status, slug)
    assert services.vault.count_items(tenant) == before


def test_validation_errors_never_echo_the_input(client: TestClient, auth) -> None:
    r = client.post(
        "/v1/tokens", json={"value": 4970101234567893, "category": "card_pan"}, headers=auth
    )
    assert "4970101234567893" not in r.text
    assert r.json()["errors"][0]["loc"] == ["body", "value"]


def test_malformed_json_is_a_problem(client: TestClient, auth) -> None:
    r = client.post(
        "/v1/tokens", content=b"{not json", headers={**auth, "content-type": "application/json"}
    )
    problem(r, 422, "validation-error")


def test_malformed_token_is_422_and_card_number_as_token_is_called_out(
    client: TestClient, auth
) -> None:
    problem(
        client.post("/v1/tokens/detokenize", json={"tokens": ["nope"], **CTX}, headers=auth),
        422,
        "malformed-token",
    )
    body = problem(
        client.post("/v1/tokens/detokenize", json={"tokens": [CARD], **CTX}, headers=auth),
        422,
        "malformed-token",
    )
    assert "card number" in body["detail"]
    assert CARD not in body["detail"]


def test_bad_item_in_a_batch_names_its_index(
    client: TestClient, auth, services, tenant: str
) -> None:
    items = [{"value": "ok"}, {"value": "ok2"}, {"value": "123", "category": "pin"}]
    body = problem(
        client.post("/v1/tokens/batch", json={"items": items}, headers=auth),
        422,
        "sensitive-authentication-data",
    )
    assert body["index"] == 2
    assert services.vault.count_items(tenant) == 0


def test_oversized_body_is_refused_before_parsing(client: TestClient, auth) -> None:
    big = {"items": [{"value": "x" * 4000} for _ in range(100)]}  # ~400 KB > 256 KiB limit
    problem(client.post("/v1/tokens/batch", json=big, headers=auth), 413, "too-large")


def test_streamed_oversized_body_is_refused(client: TestClient, auth) -> None:
    def chunks():
        yield b'{"items": ['
        for _ in range(300):
            yield b'{"value": "' + b"x" * 1000 + b'"},'
        yield b'{"value": "x"}]}'

    r = client.post(
        "/v1/tokens/batch", content=chunks(), headers={**auth, "content-type": "application/json"}
    )
    problem(r, 413, "too-large")


def test_batch_over_the_item_limit(client: TestClient, auth, services) -> None:
    limit = services.vault.limits.max_batch_items
    r = client.post(
        "/v1/tokens/detokenize",
        json={"tokens": ["tok_" + "a" * 32] * (limit + 1), **CTX},
        headers=auth,
    )
    problem(r, 413, "too-large")


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    problem(client.get("/v1/nothing-here"), 404, "http-404")
    problem(client.get("/v1/tokens"), 405, "http-405")


def test_access_runs_on_the_event_loop_only_on_sqlite_unless_told(services: Services) -> None:
    import dataclasses

    from tessera.trust import create_app

    assert create_app(services).state.access_on_event_loop is services.data.is_sqlite
    for told in (True, False):
        configured = dataclasses.replace(
            services, settings=services.settings.model_copy(update={"access_on_event_loop": told})
        )
        assert create_app(configured).state.access_on_event_loop is told


@pytest.mark.parametrize("on_loop", [True, False], ids=["event-loop", "thread-pool"])
def test_access_answers_alike_on_the_event_loop_and_in_the_thread_pool(
    services: Services, auth, on_loop: bool
) -> None:
    import dataclasses

    from tessera.trust import create_app

    configured = dataclasses.replace(
        services, settings=services.settings.model_copy(update={"access_on_event_loop": on_loop})
    )
    client = TestClient(create_app(configured), raise_server_exceptions=False)
    card = tokenize(client, auth, "4970 1012 3456 7893", "card_pan", subject="c-loop")
    email = tokenize(client, auth, "loop@example.fr", "email", subject="c-loop")
    ask = {"action": "detokenize", **CTX}
    allowed = client.post("/v1/access", json={**ask, "tokens": [email["token"]]}, headers=auth)
    assert allowed.status_code == 200, allowed.text
    assert [i["value"] for i in allowed.json()["items"]] == ["loop@example.fr"]
    assert isinstance(allowed.json()["audit_seq"], int)
    denied = problem(
        client.post("/v1/access", json={**ask, "tokens": [card["token"]]}, headers=auth),
        403,
        "access-denied",
    )
    assert denied["policy_ids"] == ["card-clear-only-in-payments"]
    once = {"X-Request-Id": f"loop-{on_loop}", **auth}
    first = client.post("/v1/access", json={**ask, "tokens": [email["token"]]}, headers=once)
    assert first.status_code == 200
    problem(
        client.post("/v1/access", json={**ask, "tokens": [email["token"]]}, headers=once),
        409,
        "replayed-request",
    )
    problem(
        client.post(
            "/v1/access",
            json={**ask, "purpose": "no_such_purpose", "tokens": [email["token"]]},
            headers=auth,
        ),
        422,
        "unknown-purpose",
    )
    seqs = [allowed.json()["audit_seq"], denied["audit_seq"], first.json()["audit_seq"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


def test_what_fuzzing_found_answers_a_clear_problem_not_a_500(
    client: TestClient, auth, services, tenant: str
) -> None:
    """Found by schema fuzzing (issue 21): each was a 500 with a traceback."""
    before = services.vault.count_items(tenant)
    lone = client.post(
        "/v1/tokens",
        content='{"value": "caf\\ud800", "category": "generic"}',
        headers={**auth, "content-type": "application/json"},
    )
    problem(lone, 422, "invalid-text")
    assert services.vault.count_items(tenant) == before
    huge = client.post(
        "/v1/auth/assess",
        json={"subject": "c1", "observation": {"channel": "web", "typing_ms": 10**400}},
        headers=auth,
    )
    assert huge.status_code == 200, huge.text  # garbage in the right type: scored as unknown
    # Past the documented range: the request is invalid. Within it but past the log: there is
    # no such proof (a client's mistake, never reported as tampering).
    problem(
        client.get("/v1/audit/proofs/inclusion", params={"seq": 2**63, "size": 1}, headers=auth),
        422,
        "validation-error",
    )
    for params in ({"seq": 0, "size": 10**6}, {"seq": 5, "size": 1}):
        problem(
            client.get("/v1/audit/proofs/inclusion", params=params, headers=auth),
            404,
            "no-such-proof",
        )
    problem(
        client.get(
            "/v1/audit/proofs/consistency", params={"first": 1, "second": 9**9}, headers=auth
        ),
        404,
        "no-such-proof",
    )
    token = tokenize(client, auth, "+33612345678", "phone", "c1")["token"]
    body = {"subject": "c1", "channel": "sms", "token": token}
    assert client.post("/v1/auth/destinations", json=body, headers=auth).status_code == 201
    again = client.post("/v1/auth/destinations", json=body, headers=auth)
    assert again.status_code in (201, 409), again.text  # never a 500
    binding = {"subject": "c1", "kind": "caller", "identifier": "+33612345678"}
    assert client.post("/v1/auth/bindings", json=binding, headers=auth).status_code == 201
    twice = client.post("/v1/auth/bindings", json=binding, headers=auth)
    assert twice.status_code in (201, 409), twice.text
    assert twice.headers["content-type"].startswith("application/problem+json") or (
        twice.status_code == 201
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/tokens", {"value": "a\x00b", "category": "generic", "subject": "c1"}),
        ("/v1/webhooks", {"url": "http://127.0.0.1:9/h\x00"}),
        ("/v1/auth/bindings", {"subject": "c1", "kind": "sender", "identifier": "x\x00"}),
        (
            "/v1/consents",
            {
                "subject": "c1",
                "purpose": "marketing_sms",
                "kind": "given",
                "channel": "chat",
                "evidence": {"message_id": "m\x00"},
            },
        ),
    ],
)
def test_a_nul_character_is_refused_wherever_text_is_kept(
    client: TestClient, auth, path: str, body: dict
) -> None:
    """PostgreSQL keeps no NUL in text (a 500 before, found by a sweep): refused up front."""
    refused = problem(client.post(path, json=body, headers=auth), 422, "validation-error")
    assert "NUL" in refused["detail"]


def test_a_value_the_database_refuses_is_a_422_that_shows_no_parameter(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever slips past validation and is refused by the store as data (a number out of a
    column's range, text not of the column's type) is the client's to fix: 422, and neither
    the answer nor the log shows the statement or its parameters."""
    from sqlalchemy import text
    from sqlalchemy.exc import DataError

    from tessera.trust import create_app

    app = create_app(services)
    secret = "jeanne-secret-4111"

    @app.get("/drill/unstorable")
    def unstorable() -> None:
        if services.data.is_postgresql:
            with services.data.engine.connect() as conn:
                conn.execute(text("SELECT CAST(:v AS integer)"), {"v": secret})
        # SQLite stores any value in any column: what its driver would raise, as it would.
        raise DataError("SELECT CAST(? AS integer)", (secret,), ValueError("out of range"))

    with TestClient(app, raise_server_exceptions=False) as fresh, caplog.at_level("DEBUG"):
        answer = fresh.get("/drill/unstorable")
        assert fresh.get("/healthz").status_code == 200  # the connection stays usable
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    assert answer.json()["type"] == "urn:tessera:problem:invalid-text"
    assert secret not in answer.text and "SELECT" not in answer.text
    assert secret not in caplog.text and "CAST" not in caplog.text
