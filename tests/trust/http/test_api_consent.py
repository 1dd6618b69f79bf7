from __future__ import annotations

import base64
import json
import tomllib

import pytest
from fastapi.testclient import TestClient

from tessera.consent import verify_receipt
from tessera.trust import Scope
from tests.consent.conftest import EXAMPLE
from tests.consent.test_ledger import EVIDENCE
from tests.trust.http.test_api import problem

S = "cust-9"


@pytest.fixture
def consent_auth(client: TestClient, auth) -> dict[str, str]:
    catalogue = tomllib.loads(EXAMPLE.read_text())
    r = client.put("/v1/purposes", json=catalogue, headers=auth)
    assert r.status_code == 200, r.text
    return auth


def post(client, auth, body, **headers):
    """A consent as a channel reports it, with the evidence its channel needs unless the test
    says otherwise."""
    if "channel" in body and "evidence" not in body:
        body = {**body, "evidence": EVIDENCE.get(body["channel"], {})}
    return client.post("/v1/consents", json=body, headers={**auth, **headers})


def test_ivr_consent_then_chat_withdrawal_over_http(client: TestClient, consent_auth) -> None:
    auth = consent_auth
    given = post(
        client,
        auth,
        {
            "subject": S,
            "purpose": "marketing_sms",
            "kind": "given",
            "channel": "voice_ivr",
            "evidence": {"recording_ref": "rec-1"},
        },
    )
    assert given.status_code == 201, given.text
    withdrawn = post(
        client,
        auth,
        {"subject": S, "purpose": "marketing_sms", "kind": "withdrawn", "channel": "chat"},
    )
    decision = client.get(
        f"/v1/consents/{S}/decision", params={"purpose": "marketing_sms"}, headers=auth
    ).json()
    assert decision["allowed"] is False
    assert decision["deciding_event"]["hash"] == withdrawn.json()["event"]["hash"]
    assert (
        client.get(f"/v1/consents/{S}", headers=auth).json()["marketing_sms"]["kind"] == "withdrawn"
    )
    key = client.get("/v1/consents/receipt-key", headers=auth).json()
    for reply in (given, withdrawn):
        record = verify_receipt(reply.json()["event"]["receipt"], key)
        assert record["ledger"]["hash"] == reply.json()["event"]["hash"]
    history = client.get(f"/v1/consents/{S}/history", headers=auth).json()["data"]
    assert [h["channel"] for h in history] == ["voice_ivr", "chat"]


def test_purposes_and_notices(client: TestClient, consent_auth) -> None:
    purposes = client.get("/v1/purposes", headers=consent_auth).json()["data"]
    assert {p["id"] for p in purposes} >= {"marketing_sms", "customer_service"}
    body = next(p for p in purposes if p["id"] == "analytics")
    update = {
        k: body[k]
        for k in ("legal_basis", "name", "description", "data_categories", "retention_days")
    }
    update["retention_days"] = 30
    r = client.put("/v1/purposes/analytics", json=update, headers=consent_auth)
    assert r.json()["material_version"] == 2
    notices = client.get("/v1/purposes/analytics/notices", headers=consent_auth).json()["data"]
    assert [(n["version"], n["material"]) for n in notices] == [(1, True), (2, True)]


def test_idempotency_key_replay_and_conflict(client: TestClient, consent_auth) -> None:
    body = {"subject": S, "purpose": "analytics", "kind": "given", "channel": "app"}
    first = post(client, consent_auth, body, **{"Idempotency-Key": "app-evt-1"})
    again = post(client, consent_auth, body, **{"Idempotency-Key": "app-evt-1"})
    assert first.json()["event"] == again.json()["event"]
    clash = post(
        client, consent_auth, {**body, "kind": "refused"}, **{"Idempotency-Key": "app-evt-1"}
    )
    problem(clash, 409, "idempotency-conflict")
    assert len(client.get(f"/v1/consents/{S}/history", headers=consent_auth).json()["data"]) == 1


def test_gpc_header_objects_to_sale_and_sharing(client: TestClient, consent_auth) -> None:
    r = post(
        client,
        consent_auth,
        {"subject": S, "purpose": "analytics", "kind": "given", "channel": "web"},
        **{"Sec-GPC": "1"},
    )
    assert {e["purpose"] for e in r.json()["gpc_objections"]} == {"partner_offers", "targeted_ads"}
    again = client.post(
        "/v1/consents/gpc",
        json={"subject": S, "channel": "web"},
        headers={**consent_auth, "Sec-GPC": "1"},
    )
    assert again.json() == []
    ignored = client.post(
        "/v1/consents/gpc",
        json={"subject": "cust-other", "channel": "web"},
        headers={**consent_auth, "Sec-GPC": "yes"},
    )
    assert ignored.json() == []
    assert client.get("/.well-known/gpc.json").json()["gpc"] is True


@pytest.mark.parametrize(
    ("change", "status", "slug"),
    [
        ({"purpose": "nope"}, 422, "unknown-purpose"),
        ({"channel": "carrier_pigeon"}, 422, "invalid-consent-event"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, 422, "invalid-consent-event"),
        ({"occurred_at": "yesterday"}, 422, "validation-error"),
        ({"evidence": {"form_id": "x" * 300}}, 422, "invalid-consent-event"),
        ({"evidence": {"form_id": 12}}, 422, "validation-error"),
        ({"notice_version": "1"}, 422, "validation-error"),
        ({"subject": 12}, 422, "validation-error"),
    ],
)
def test_bad_consent_events_get_problems(
    client: TestClient, consent_auth, change, status, slug
) -> None:
    body = {"subject": S, "purpose": "analytics", "kind": "given", "channel": "web", **change}
    problem(post(client, consent_auth, body), status, slug)
    assert client.get(f"/v1/consents/{S}/history", headers=consent_auth).json()["data"] == []


def test_bad_catalogue_is_refused_with_the_path(client: TestClient, consent_auth) -> None:
    body = problem(
        client.put("/v1/purposes/x1", json={"legal_basis": "because"}, headers=consent_auth),
        422,
        "invalid-catalogue",
    )
    assert "legal_basis" in body["detail"]
    purposes = tomllib.loads(EXAMPLE.read_text())["purpose"]
    assert len(client.get("/v1/purposes", headers=consent_auth).json()["data"]) == len(purposes)


def test_tampered_receipt_is_refused(client: TestClient, consent_auth) -> None:
    reply = post(
        client,
        consent_auth,
        {"subject": S, "purpose": "analytics", "kind": "given", "channel": "web"},
    ).json()
    header, payload, sig = reply["event"]["receipt"].split(".")
    record = json.loads(base64.urlsafe_b64decode(payload + "=="))
    record["event"]["type"] = "refused"
    forged = base64.urlsafe_b64encode(json.dumps(record).encode()).decode().rstrip("=")
    problem(
        client.post(
            "/v1/consents/receipts/verify",
            json={"receipt": f"{header}.{forged}.{sig}"},
            headers=consent_auth,
        ),
        422,
        "invalid-receipt",
    )


def test_consent_scopes_are_enforced(client: TestClient, issue, tenant) -> None:
    headers = issue(tenant, [Scope.CONSENT_READ])
    problem(
        post(
            client,
            headers,
            {"subject": S, "purpose": "analytics", "kind": "given", "channel": "web"},
        ),
        403,
        "permission-denied",
    )
    problem(
        client.post("/v1/dsr", json={"subject": S, "kind": "access"}, headers=headers),
        403,
        "permission-denied",
    )


def test_rfc3339_times_are_accepted(client: TestClient, consent_auth) -> None:
    r = post(
        client,
        consent_auth,
        {
            "subject": S,
            "purpose": "analytics",
            "kind": "given",
            "channel": "web",
            "occurred_at": "2026-01-02T03:04:05Z",
            "expires_at": "2027-01-02T03:04:05+01:00",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["event"]["occurred_at"].startswith("2026-01-02T03:04:05")


def test_a_consent_without_the_evidence_its_channel_needs_is_refused(
    client: TestClient, consent_auth, services, tenant
) -> None:
    before = services.consents.count(tenant)
    base = {"subject": S, "purpose": "marketing_sms", "kind": "given"}
    refused = problem(
        post(client, consent_auth, {**base, "channel": "voice_agent", "evidence": {}}),
        422,
        "invalid-consent-event",
    )
    assert "recording_ref or utterance_ref" in refused["detail"] and "agent_id" in refused["detail"]
    problem(
        post(client, consent_auth, {**base, "channel": "chat", "evidence": {"form_id": "f"}}),
        422,
        "invalid-consent-event",
    )
    assert services.consents.count(tenant) == before  # nothing written
    said = {"utterance_ref": "call-9#t=41.2", "agent_id": "agent-7"}
    ok = post(client, consent_auth, {**base, "channel": "voice_agent", "evidence": said})
    assert ok.status_code == 201, ok.text
    assert services.consents.history(tenant, S)[-1].evidence == said


def test_the_ledger_head_is_served_signed(
    client: TestClient, consent_auth, services, tenant
) -> None:
    from tessera.consent import verify_head

    post(
        client,
        consent_auth,
        {"subject": S, "purpose": "analytics", "kind": "given", "channel": "web"},
    )
    head = client.get("/v1/consents/head", headers=consent_auth).json()
    kept = verify_head(head["signed"], services.receipts.public_jwk(tenant))
    assert (kept["seq"], kept["hash"]) == (head["seq"], head["hash"]) and head["seq"] >= 1
