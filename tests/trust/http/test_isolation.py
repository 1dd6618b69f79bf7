"""Tenant isolation, swept from the OpenAPI document: every operation that names an id or a
subject in its path is called by another tenant with the first tenant's real ids, and with
random ids of the same shape. The two answers must be the same (status and problem type): a
caller learns nothing of another tenant's objects, not even that they exist. And the first
tenant's data is as it was."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi.testclient import TestClient

from tessera.trust import Scope

S = "cust-isolated"


def _example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A small value of a JSON schema: required members only, the simplest of each type."""
    if "$ref" in schema:
        return _example(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return _example(schema[key][0], components)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {n: _example(props[n], components) for n in schema.get("required", []) if n in props}
    return {"integer": 1, "number": 1, "boolean": False, "array": [], "string": "x"}.get(
        str(kind), "x"
    )


def _random_like(value: str) -> str:
    """The same shape, other random characters: `pay_3f9a…` → `pay_c01d…`."""
    prefix, _, rest = value.rpartition("_") if "_" in value else ("", "", value)
    fresh = (
        secrets.token_hex(len(rest))[: len(rest)]
        if re.fullmatch(r"[0-9a-f]+", rest)
        else ("x" + secrets.token_hex(max(len(rest), 4))[: max(len(rest) - 1, 3)])
    )
    return f"{prefix}_{fresh}" if prefix else fresh


def _answer(response: Any) -> tuple[int, str | None]:
    kind = None
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        kind = response.json().get("type")
    return response.status_code, kind


def _made(response: Any, key: str = "id") -> str:
    assert response.status_code < 300, response.text
    return str(response.json()[key])


def _state(client: TestClient, headers: dict[str, str], ids: dict[str, str]) -> list[Any]:
    """What the first tenant can read of what it owns."""
    reads = [
        f"/v1/subjects/{S}/tokens",
        f"/v1/consents/{S}/history",
        f"/v1/dsr/{ids['dsr_id']}",
        f"/v1/payments/{ids['payment_id']}",
        f"/v1/auth/subjects/{S}/factors",
        f"/v1/auth/decisions/{ids['decision_id']}",
        "/v1/webhooks",
    ]
    return [client.get(path, headers=headers).json() for path in reads]


def test_another_tenants_ids_answer_as_random_ones_and_change_nothing(
    client: TestClient, issue, tenant: str, other_tenant: str, services
) -> None:
    mine = issue(tenant, list(Scope), "dpo")
    theirs = issue(other_tenant, list(Scope), "dpo")
    token = services.vault.tokenize(tenant, "jean@example.fr", category="email", subject=S)
    ids = {
        "subject": S,
        "subject_id": S,
        "dsr_id": services.dsr.open(tenant, S, "access").id,
        "payment_id": _made(
            client.post(
                "/v1/payments",
                json={"subject": S, "amount": 1000, "currency": "EUR", "payee": "Shop"},
                headers={**mine, "Idempotency-Key": "iso-1"},
            )
        ),
        "decision_id": _made(
            client.post(
                "/v1/auth/assess",
                json={"subject": S, "observation": {"channel": "web"}},
                headers=mine,
            ),
            "decision_id",
        ),
        "factor_id": _made(
            client.post(
                "/v1/auth/bindings",
                json={"subject": S, "kind": "caller", "identifier": "+33612345678"},
                headers=mine,
            )
        ),
        "endpoint_id": _made(
            client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=mine)
        ),
    }
    assert token.token
    before = _state(client, mine, ids)

    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    swept = 0
    for path, operations in document["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        if not names or not all(n in ids for n in names):
            continue
        for method, operation in operations.items():
            body = None
            if "requestBody" in operation:
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                body = _example(schema, components)
            real = path.format(**{n: ids[n] for n in names})
            fake = path.format(
                **{n: ids[n] if n.startswith("subject") else _random_like(ids[n]) for n in names}
            )
            if fake == real:  # a subject only: another tenant's subject is its own, not ours
                fake = path.format(**{n: _random_like(ids[n]) for n in names})
            params = {"purpose": "marketing_sms"} if path.endswith("/decision") else None
            extra = {  # required headers (an idempotency key, say): a fresh value each call
                h["name"]: secrets.token_hex(8)
                for h in operation.get("parameters", [])
                if h["in"] == "header" and h.get("required")
            }
            answers = [
                _answer(
                    client.request(method, p, json=body, params=params, headers={**theirs, **extra})
                )
                for p in (real, fake)
            ]
            assert answers[0] == answers[1], (method, path, answers)
            assert answers[0][0] < 500, (method, path, answers)
            swept += 1
    assert swept >= 25
    assert _state(client, mine, ids) == before
