"""The OpenAPI document tells the truth about errors, and an error nothing mapped is still a
problem: generated clients and fuzzers read the document, people read the logs."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tessera import Channel
from tessera.consent import EventKind
from tessera.trust import PROBLEM_JSON, Services, create_app
from tessera.vault import DataCategory


def test_every_error_an_operation_answers_is_a_declared_problem(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    seen = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {c: r for c, r in operation["responses"].items() if int(c) >= 400}
            if path.startswith("/v1/"):
                assert {"400", "401", "403", "422", "429", "503"} <= set(errors), (method, path)
                if "requestBody" in operation:
                    assert "413" in errors, (method, path)
            for response in errors.values():
                assert list(response["content"]) == [PROBLEM_JSON], (method, path)
                schema = response["content"][PROBLEM_JSON]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}
                seen += 1
    assert seen > 500


def test_the_declared_statuses_are_answered_as_declared(client: TestClient, auth) -> None:
    document = client.get("/openapi.json").json()
    missing = client.get("/v1/payments/pay_unknown", headers=auth)
    assert (
        missing.status_code == 404
        and "404" in (document["paths"]["/v1/payments/{payment_id}"]["get"]["responses"])
    )
    assert missing.headers["content-type"].startswith(PROBLEM_JSON)


@pytest.fixture
def failing_app(services: Services) -> FastAPI:
    """The real app, with one route that fails as a library bug would."""
    app = create_app(services)

    def broken() -> None:
        raise RuntimeError("statement parameters: jean.dupont@example.fr 4970101234567893")

    app.add_api_route("/v1/broken", broken, methods=["GET"])
    return app


def test_an_unexpected_error_is_a_problem_with_a_request_id_and_a_one_line_log(
    failing_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG), TestClient(failing_app) as client:
        first = client.get("/v1/broken")
        after = client.get("/healthz")  # the same client goes on being served
    assert first.status_code == 500
    assert first.headers["content-type"].startswith(PROBLEM_JSON)
    body = first.json()
    assert body["type"] == "urn:tessera:problem:internal-error"
    assert len(body["request_id"]) == 16 and body["request_id"] in body["detail"]
    assert first.headers["x-request-id"] == body["request_id"]  # one id: answer, body, log
    assert after.status_code == 200
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert f"unhandled RuntimeError (request {body['request_id']})" in logged
    assert "jean.dupont" not in logged and "4970101234567893" not in logged
    assert "jean.dupont" not in first.text and "Traceback" not in logged


def _operations(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_the_key_is_declared_where_it_is_needed_and_nowhere_else(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["apiKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    public = {"/healthz", "/readyz", "/metrics", "/.well-known/gpc.json"}
    for path, method, operation in _operations(document):
        if path in public:
            assert "security" not in operation, path
        else:
            assert operation["security"] == [{"apiKey": []}], (method, path)
            # ...and it is true: without the key, a 401 problem.
    assert client.get("/v1/purposes").status_code == 401


def test_every_operation_has_a_summary_and_a_description(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, _method, operation in _operations(document):
        summary, description = operation["summary"], operation["description"]
        assert 8 <= len(summary) <= 90 and not summary.endswith("."), (path, summary)
        assert description.startswith(summary.split(" ")[0]), (path, summary)
        # FastAPI's default summary is the function's name in title case: not one of those.
        assert summary != operation["operationId"].split("_v1")[0].replace("_", " ").title()
    assert {t["name"] for t in document["tags"]} >= {
        t for _, _, o in _operations(document) for t in o.get("tags", [])
    }


def test_model_names_are_stable_and_readable(client: TestClient) -> None:
    names = client.get("/openapi.json").json()["components"]["schemas"]
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]+", n) for n in names), sorted(names)
    assert {"RiskDecisionOut", "ConsentDecisionOut", "PaymentLinkOut", "PortalLinkOut"} <= set(
        names
    )


def test_closed_lists_are_enums_and_the_server_holds_to_them(
    client: TestClient, auth: dict[str, str]
) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    channels = sorted(c.value for c in Channel)
    assert schemas["AccessIn"]["properties"]["action"]["enum"] == sorted(
        ["read_masked", "detokenize", "export", "erase"]
    )
    assert schemas["AccessIn"]["properties"]["channel"]["enum"] == channels
    assert schemas["AccessIn"]["properties"]["categories"]["items"]["enum"] == sorted(
        c.value for c in DataCategory
    )
    assert schemas["ConsentIn"]["properties"]["kind"]["enum"] == sorted(e.value for e in EventKind)
    assert schemas["ObservationIn"]["properties"]["channel"]["enum"] == channels
    # A nullable field keeps its null: the enum is on its text branch.
    payments_channel = schemas["IntentIn"]["properties"]["channel"]
    assert "email" not in payments_channel["enum"] and "chat" in payments_channel["enum"]
    for model in ("AccessIn", "TokenizeIn", "ConsentIn", "AssessIn", "IntentIn", "TextIn", "DsrIn"):
        assert schemas[model]["examples"], model
    # Outside the list: a 422 problem that names the choices, never a guess.
    for path, body in [
        ("/v1/access", {"action": "read_masked", "purpose": "customer_service", "channel": "fax"}),
        ("/v1/auth/assess", {"subject": "c1", "observation": {"channel": "telepathy"}}),
        (
            "/v1/consents",
            {"subject": "c1", "purpose": "analytics", "kind": "maybe", "channel": "web"},
        ),
    ]:
        answer = client.post(path, json=body, headers=auth)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)


def test_the_examples_are_accepted_as_they_are(client: TestClient, auth: dict[str, str]) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    tokenized = client.post("/v1/tokens", json=schemas["TokenizeIn"]["examples"][0], headers=auth)
    assert tokenized.status_code == 201, tokenized.text
    redacted = client.post("/v1/redact", json=schemas["TextIn"]["examples"][0], headers=auth)
    assert redacted.status_code == 200 and "4970 1012" not in redacted.text


def test_the_docs_are_served_from_this_server(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        answer = client.get(page)
        assert answer.status_code == 200
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "https:" not in policy
        sources = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
        assert sources and all(s.startswith("/docs/assets/") for s in sources), sources
        for source in sources:
            assert client.get(source).status_code == 200, source
    assert "fonts.googleapis" not in client.get("/redoc").text
