"""The OpenAPI document tells the truth about errors, and an error nothing mapped is still a
problem: generated clients and fuzzers read the document, people read the logs."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tessera.trust import PROBLEM_JSON, Services, create_app


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
    assert after.status_code == 200
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert f"unhandled RuntimeError (request {body['request_id']})" in logged
    assert "jean.dupont" not in logged and "4970101234567893" not in logged
    assert "jean.dupont" not in first.text and "Traceback" not in logged
