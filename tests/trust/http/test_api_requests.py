"""Data-subject requests over HTTP, as the gateway's actions: who may do each step, how the
identity is proven, and the audit trail of every step, refusals included."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tessera.trust import Scope, Services
from tests.trust.http.test_api import problem
from tests.trust.http.test_api_auth import _customer, _sign_in

S, OTHER = "cust-dsr", "cust-other"
FLOW_SCOPES = [Scope.AUTH, Scope.AUTH_MANAGE, Scope.TOKENIZE, Scope.DSR]


@pytest.fixture
def people(client: TestClient, issue, services: Services, tenant: str):
    """An agent on the phone, the customer's own portal key, a bare service key, the DPO."""
    agent = issue(tenant, [Scope.DSR], "agent")
    portal = issue(tenant, FLOW_SCOPES, "customer")
    service = issue(tenant, [Scope.DSR, Scope.TOKENIZE], "service")
    dpo = issue(tenant, [Scope.DSR, Scope.AUTH_ASSERT, Scope.AUDIT], "dpo")
    _customer(client, portal, S)  # a mobile number, vaulted and bound for one-time codes
    client.post(
        "/v1/tokens",
        json={"value": "FR7630006000011234567890189", "category": "iban", "subject": S},
        headers=portal,
    )
    client.post(
        "/v1/tokens",
        json={"value": "4970101234567893", "category": "card_pan", "subject": S},
        headers=portal,
    )
    return agent, portal, service, dpo


def _open(client: TestClient, headers, subject: str = S, kind: str = "access", **extra):
    r = client.post(
        "/v1/dsr",
        json={"subject": subject, "kind": kind, "channel": "voice_agent", **extra},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def _steps(services: Services, tenant: str, subject: str = S) -> list[tuple[str, str]]:
    return [(e["action"], e["outcome"]) for e in services.audit.for_subject(tenant, subject)]


def test_a_service_key_with_only_dsr_scope_gets_nothing_and_is_recorded(
    client: TestClient, people, services: Services, tenant: str
) -> None:
    agent, _, service, _ = people
    denied = problem(
        client.post("/v1/dsr", json={"subject": S, "kind": "access"}, headers=service),
        403,
        "access-denied",
    )
    assert denied["audit_seq"] is not None
    request = _open(client, agent)
    # The old way in: a string that says who verified. It is not a field any more.
    problem(
        client.post(
            f"/v1/dsr/{request['id']}/verify-identity",
            json={"verified_by": "myself"},
            headers=service,
        ),
        422,
        "validation-error",
    )
    problem(
        client.post(
            f"/v1/dsr/{request['id']}/verify-identity",
            json={"evidence": "I say so", "auth_context": {"assurance": "high"}},
            headers=service,
        ),
        422,
        "auth-context-required",  # only an identity provider asserts an assurance
    )
    problem(
        client.post(f"/v1/dsr/{request['id']}/execute", json={}, headers=service),
        403,
        "identity-not-verified",
    )
    assert ("dsr_open", "deny") in _steps(services, tenant)
    assert ("dsr_open", "allow") in _steps(services, tenant)


def test_the_customer_proves_identity_by_step_up_and_downloads_once(
    client: TestClient, people, services: Services, tenant: str
) -> None:
    agent, portal, service, _ = people
    request = _open(client, agent)
    session = _sign_in(client, services, portal, S)["session_id"]
    verified = client.post(
        f"/v1/dsr/{request['id']}/verify-identity",
        json={"session_id": session, "channel": "web"},
        headers=portal,
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["state"] == "identity_verified"
    assert verified.json()["verified_by"] == "session at substantial (risk, otp)"
    # A replayed verification changes nothing.
    problem(
        client.post(
            f"/v1/dsr/{request['id']}/verify-identity",
            json={"session_id": session},
            headers=portal,
        ),
        409,
        "invalid-transition",
    )
    # The bare service key still cannot carry it out or take the export.
    problem(
        client.post(f"/v1/dsr/{request['id']}/execute", json={}, headers=service),
        403,
        "access-denied",
    )
    own = {"auth_context": {"session_id": session}, "channel": "web"}
    done = client.post(f"/v1/dsr/{request['id']}/execute", json=own, headers=portal)
    assert done.status_code == 200, done.text
    assert done.json() == {"export": "ready"}
    problem(
        client.post(f"/v1/dsr/{request['id']}/export", json={}, headers=service),
        422,
        "auth-context-required",
    )
    export = client.post(f"/v1/dsr/{request['id']}/export", json=own, headers=portal)
    assert export.status_code == 200, export.text
    values = {v["category"]: v["value"] for v in export.json()["personal_data"]}
    assert values["iban"] == "FR7630006000011234567890189"
    assert values["card_pan"].endswith("7893") and "4970101234567893" not in export.text
    problem(  # released once
        client.post(f"/v1/dsr/{request['id']}/export", json=own, headers=portal),
        409,
        "invalid-transition",
    )
    steps = _steps(services, tenant)
    for step in ("dsr_open", "dsr_verify", "dsr_execute", "export"):
        assert (step, "allow") in steps, steps
    released = next(e for e in services.audit.for_subject(tenant, S) if e["action"] == "export")
    assert released["released"] == 3 and "iban" in released["categories"]
    assert "4970101234567893" not in str(services.audit.for_subject(tenant, S))


def test_a_session_of_another_subject_or_a_low_one_verifies_nothing(
    client: TestClient, people, services: Services, tenant: str
) -> None:
    agent, portal, _, _ = people
    _customer(client, portal, OTHER)
    theirs = _sign_in(client, services, portal, OTHER)["session_id"]
    request = _open(client, agent)
    problem(
        client.post(
            f"/v1/dsr/{request['id']}/verify-identity",
            json={"session_id": theirs},
            headers=portal,
        ),
        403,
        "identity-not-verified",
    )
    problem(
        client.post(
            f"/v1/dsr/{request['id']}/verify-identity",
            json={"session_id": "not-a-session"},
            headers=portal,
        ),
        404,
        "unknown-session",
    )
    # Their own session cannot carry out or export someone else's request either.
    problem(
        client.post(
            f"/v1/dsr/{request['id']}/extend",
            json={"reason": "complex", "auth_context": {"session_id": theirs}},
            headers=portal,
        ),
        403,
        "access-denied",
    )
    assert client.get(f"/v1/dsr/{request['id']}", headers=agent).json()["state"] == "received"
    assert ("dsr_verify", "deny") in _steps(services, tenant)


def test_the_dpo_verifies_a_paper_request_by_hand_at_high_assurance(
    client: TestClient, people, services: Services, tenant: str
) -> None:
    agent, _, _, dpo = people
    request = _open(client, agent, kind="erasure")
    at = {"channel": "in_person"}
    stepped = problem(
        client.post(
            f"/v1/dsr/{request['id']}/verify-identity",
            json={
                "evidence": "passport seen at the branch",
                "auth_context": {"assurance": "substantial"},
                **at,
            },
            headers=dpo,
        ),
        403,
        "step-up-required",
    )
    assert stepped["required_assurance"] == "high"
    problem(
        client.post(
            f"/v1/dsr/{request['id']}/verify-identity",
            json={"evidence": "", "auth_context": {"assurance": "high"}},
            headers=dpo,
        ),
        422,
        "validation-error",
    )
    high = {"auth_context": {"assurance": "high"}, **at}
    verified = client.post(
        f"/v1/dsr/{request['id']}/verify-identity",
        json={"evidence": "passport seen at the branch", **high},
        headers=dpo,
    ).json()
    assert verified["verified_by"].endswith("passport seen at the branch")
    token_before = services.vault.subject_tokens(tenant, S)
    assert token_before
    erased = client.post(f"/v1/dsr/{request['id']}/execute", json=high, headers=dpo)
    assert erased.status_code == 200, erased.text
    assert erased.json()["items_destroyed"] == len(token_before)
    assert services.vault.subject_tokens(tenant, S) == []
    steps = _steps(services, tenant)
    assert steps.index(("dsr_execute", "allow")) < steps.index(("erase", "allow"))
    # The erasure's record holds counts and who, no data.
    entry = next(e for e in services.audit.for_subject(tenant, S) if e["action"] == "erase")
    assert entry["caller_kind"] == "dpo" and "FR76" not in str(entry)


def test_extend_and_reject_are_the_dpos_and_recorded(
    client: TestClient, people, services: Services, tenant: str
) -> None:
    agent, _, _, dpo = people
    request = _open(client, agent)
    problem(
        client.post(f"/v1/dsr/{request['id']}/reject", json={"reason": "duplicate"}, headers=agent),
        403,
        "access-denied",
    )
    sub = {"auth_context": {"assurance": "substantial"}}
    extended = client.post(
        f"/v1/dsr/{request['id']}/extend", json={"reason": "complex", **sub}, headers=dpo
    ).json()
    assert extended["extended"] is True
    rejected = client.post(
        f"/v1/dsr/{request['id']}/reject", json={"reason": "duplicate", **sub}, headers=dpo
    ).json()
    assert rejected["state"] == "rejected"
    steps = _steps(services, tenant)
    assert ("dsr_extend", "allow") in steps and ("dsr_reject", "allow") in steps
    assert ("dsr_reject", "deny") in steps


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"subject": S, "kind": "everything"}, 422, "invalid-value"),
        ({"subject": S, "kind": "access", "channel": "carrier-pigeon"}, 422, "invalid-value"),
        ({"subject": "has space", "kind": "access"}, 422, "invalid-value"),
        ({"subject": S, "kind": 1}, 422, "validation-error"),
        ({"subject": S, "kind": "access", "verified_by": "me"}, 422, "validation-error"),
    ],
)
def test_bad_requests_get_a_clear_problem(
    client: TestClient, people, services: Services, tenant: str, body, status, slug
) -> None:
    agent = people[0]
    before = len(services.dsr.list(tenant))
    problem(client.post("/v1/dsr", json=body, headers=agent), status, slug)
    assert len(services.dsr.list(tenant)) == before


def test_another_tenants_request_is_unknown(client: TestClient, people, other_auth) -> None:
    request = _open(client, people[0])
    problem(client.get(f"/v1/dsr/{request['id']}", headers=other_auth), 404, "unknown-request")


def test_a_retried_open_with_the_same_idempotency_key_is_the_same_request(
    client: TestClient, people, services: Services, tenant: str
) -> None:
    agent = people[0]
    body = {"subject": S, "kind": "access", "channel": "voice_agent"}
    first = client.post("/v1/dsr", json=body, headers={**agent, "Idempotency-Key": "call-42"})
    again = client.post("/v1/dsr", json=body, headers={**agent, "Idempotency-Key": "call-42"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    problem(
        client.post(
            "/v1/dsr",
            json={**body, "kind": "erasure"},
            headers={**agent, "Idempotency-Key": "call-42"},
        ),
        409,
        "idempotency-conflict",
    )
    assert len(services.dsr.list(tenant, subject=S)) == 1
    assert [s for s in _steps(services, tenant) if s[0] == "dsr_open"] == [("dsr_open", "allow")]
