"""The consent log and the access log over HTTP, as the console searches them: the DPO's and
analysts' keys only, each search decided and recorded, bad input refused, one tenant's logs
only, a personal value never in the address."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient

from tessera.trust import Scope, Services
from tessera.trust.audit import AccessQuery
from tests.trust.http.test_api import problem

IVR = {"channel": "voice_ivr", "evidence": {"recording_ref": "rec-1", "utterance_ref": "utt-1"}}
HIGH = {"Tessera-Assurance": "substantial"}


def test_the_dpo_searches_both_logs_page_by_page_and_each_search_is_recorded(
    client: TestClient, issue, services: Services, tenant: str
) -> None:
    agent = issue(tenant, [Scope.CONSENT_WRITE, Scope.TOKENIZE, Scope.AUDIT], "agent")
    dpo = issue(tenant, [Scope.AUDIT, Scope.AUTH_ASSERT], "dpo")
    token = client.post(
        "/v1/tokens",
        json={"value": "ana@example.fr", "category": "email", "subject": "c-1"},
        headers=agent,
    ).json()["token"]
    for kind in ("given", "withdrawn", "given"):
        r = client.post(
            "/v1/consents",
            json={"subject": "c-1", "purpose": "marketing_sms", "kind": kind, **IVR},
            headers=agent,
        )
        assert r.status_code == 201, r.text
    r = client.get("/v1/consent/events", params={"subject": token, "limit": 2}, headers=dpo | HIGH)
    assert r.status_code == 200, r.text
    page = r.json()
    assert [e["kind"] for e in page["data"]] == ["given", "withdrawn"]
    assert page["data"][0]["evidence"]["recording_ref"] == "rec-1"
    more = client.get(
        "/v1/consent/events",
        params={"subject": "c-1", "cursor": page["next_cursor"]},
        headers=dpo | HIGH,
    ).json()
    assert [e["seq"] for e in more["data"]] == [1] and more["next_cursor"] is None
    found = client.get(
        "/v1/audit/entries",
        params={"caller_kind": "dpo", "action": "search_logs"},
        headers=dpo | HIGH,
    ).json()["data"]
    assert len(found) >= 2 and all(e["kind"] == "oversight" for e in found)
    assert found[-1]["asked"]["subject"] == "token" and "ana@example.fr" not in str(found)


def test_an_agent_is_refused_and_the_refusal_is_recorded(
    client: TestClient, issue, services: Services, tenant: str
) -> None:
    agent = issue(tenant, [Scope.AUDIT], "agent")
    problem(client.get("/v1/audit/entries", headers=agent), 403, "access-denied")
    problem(client.get("/v1/consent/events", headers=agent), 403, "access-denied")
    nothing = issue(tenant, [Scope.ACCESS], "dpo")
    problem(client.get("/v1/audit/entries", headers=nothing), 403, "permission-denied")
    dpo = issue(tenant, [Scope.AUDIT, Scope.AUTH_ASSERT], "dpo")
    refused = client.get(
        "/v1/audit/entries", params={"outcome": "deny", "caller_kind": "agent"}, headers=dpo | HIGH
    ).json()["data"]
    assert {e["action"] for e in refused} == {"search_logs"} and len(refused) == 2


def test_bad_searches_are_refused_clearly(client: TestClient, issue, tenant: str) -> None:
    dpo = issue(tenant, [Scope.AUDIT, Scope.AUTH_ASSERT], "dpo")
    for path, params in (
        ("/v1/audit/entries", {"outcome": "maybe"}),
        ("/v1/audit/entries", {"limit": 0}),
        ("/v1/audit/entries", {"limit": 1000}),
        ("/v1/audit/entries", {"cursor": "not+a+cursor"}),
        ("/v1/audit/entries", {"cursor": "bzo1"}),  # a cursor of another kind of list
        ("/v1/audit/entries", {"since": "yesterday"}),
        ("/v1/audit/entries", {"since": "2026-12-01T10:00:00"}),  # no time zone
        ("/v1/consent/events", {"kind": "sold"}),
        ("/v1/consent/events", {"since": "2026-12-05T00:00:00Z", "until": "2026-12-01T00:00:00Z"}),
        ("/v1/audit/entries", {"since": "2026-12-05T00:00:00Z", "until": "2026-12-05T00:00:00Z"}),
        ("/v1/consent/events", {"subject": "x" * 200}),
    ):
        r = client.get(path, params=params, headers=dpo | HIGH)
        assert r.status_code == 422, (path, params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_another_tenants_logs_are_not_searched(
    client: TestClient, issue, tenant: str, other_tenant: str
) -> None:
    agent = issue(tenant, [Scope.CONSENT_WRITE], "agent")
    client.post(
        "/v1/consents",
        json={"subject": "c-2", "purpose": "marketing_sms", "kind": "given", **IVR},
        headers=agent,
    )
    theirs = issue(other_tenant, [Scope.AUDIT, Scope.AUTH_ASSERT], "dpo")
    r = client.get("/v1/consent/events", params={"subject": "c-2"}, headers=theirs | HIGH)
    assert r.status_code == 200 and r.json()["data"] == []


def _ndjson(response) -> list[dict]:
    import json

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_both_logs_stream_as_ndjson_by_range_decided_and_recorded(
    client: TestClient, issue, services: Services, tenant: str
) -> None:
    agent = issue(tenant, [Scope.CONSENT_WRITE, Scope.AUDIT], "agent")
    for kind in ("given", "withdrawn"):
        client.post(
            "/v1/consents",
            json={"subject": "c-x", "purpose": "marketing_sms", "kind": kind, **IVR},
            headers=agent,
        )
    dpo = issue(tenant, [Scope.AUDIT, Scope.AUTH_ASSERT], "dpo")
    full = _ndjson(
        client.get("/v1/audit/entries/export", headers=dpo | {"Tessera-Assurance": "high"})
    )
    header, entries, end = full[0], full[1:-1], full[-1]
    assert header["format"] == "tessera-audit-lines/1" and header["after"] == 0
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert end["end"] is True and end["entries"] == len(entries)
    middle = _ndjson(
        client.get(
            "/v1/audit/entries/export",
            params={"after": 1, "upto": 2},
            headers=dpo | {"Tessera-Assurance": "high"},
        )
    )
    assert middle[0]["previous_chain_hash"] == entries[0]["chain_hash"]
    assert [e["seq"] for e in middle[1:-1]] == [2]
    consents = _ndjson(
        client.get("/v1/consent/events/export", headers=dpo | {"Tessera-Assurance": "high"})
    )
    events = consents[1:-1]
    assert [e["body"]["kind"] for e in events if e["body"]["subject"] == "c-x"] == [
        "given",
        "withdrawn",
    ]
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(events))
    assert consents[-1]["head"]["hash"] == events[-1]["hash"] and consents[-1]["head"]["signed"]
    # Each export was decided and recorded before a line was sent.
    recorded = services.audit.export_lines(tenant)
    kinds = [json_body for json_body in recorded if "body" in json_body]
    assert sum('"export_logs"' in e["body"] for e in kinds) >= 3


def test_an_export_is_refused_to_an_agent_and_below_high_assurance(
    client: TestClient, issue, tenant: str
) -> None:
    agent = issue(tenant, [Scope.AUDIT], "agent")
    problem(client.get("/v1/audit/entries/export", headers=agent), 403, "access-denied")
    dpo = issue(tenant, [Scope.AUDIT, Scope.AUTH_ASSERT], "dpo")
    stepped = client.get("/v1/consent/events/export", headers=dpo | HIGH)
    assert stepped.status_code == 403, stepped.text
    high = dpo | {"Tessera-Assurance": "high"}
    for params in ({"after": 5, "upto": 5}, {"after": -1}, {"upto": 0}, {"after": "x"}):
        r = client.get("/v1/audit/entries/export", params=params, headers=high)
        assert r.status_code == 422, (params, r.text)
    past = client.get("/v1/audit/entries/export", params={"after": 10**9}, headers=high)
    assert past.status_code == 404, past.text


def test_ranges_past_the_end_and_nul_in_a_query_are_answered_not_broken(
    client: TestClient, issue, tenant: str
) -> None:
    high = issue(tenant, [Scope.AUDIT, Scope.AUTH_ASSERT], "dpo") | {"Tessera-Assurance": "high"}
    whole = _ndjson(client.get("/v1/audit/entries/export", params={"upto": 2**31}, headers=high))
    assert whole[-1]["end"] is True and whole[-1]["entries"] == len(whole) - 2
    past = client.get("/v1/consent/events/export", params={"after": 2**40}, headers=high)
    assert past.status_code == 404, past.text
    for path in ("/v1/consent/events", "/v1/audit/entries", "/v1/consents/c1/decision"):
        r = client.get(path, params={"subject": "c\x001", "purpose": "a\x00"}, headers=high)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


def test_the_first_audit_reads_are_decided_and_recorded_like_the_console_s(
    client: TestClient, issue, services: Services, tenant: str
) -> None:
    """`GET /v1/audit/subjects/{subject}` (a search for one customer) and `GET /v1/audit/export`
    (the whole log) are acts of oversight: a key with the audit scope alone is refused and its
    refusal recorded; the DPO at the assurance the policy asks is answered, and recorded."""
    agent = issue(tenant, [Scope.AUDIT], "agent")
    dpo = issue(tenant, [Scope.AUDIT, Scope.AUTH_ASSERT], "dpo")
    problem(client.get("/v1/audit/subjects/c-9", headers=agent), 403, "access-denied")
    problem(client.get("/v1/audit/export", headers=agent), 403, "access-denied")
    problem(client.get("/v1/audit/subjects/c-9", headers=dpo), 403, "step-up-required")
    problem(client.get("/v1/audit/export", headers=dpo | HIGH), 403, "step-up-required")
    read = client.get("/v1/audit/subjects/c-9", headers=dpo | HIGH)
    assert read.status_code == 200, read.text
    exported = client.get("/v1/audit/export", headers=dpo | {"Tessera-Assurance": "high"})
    assert exported.status_code == 200, exported.text
    steps = [
        (e.body["caller_kind"], e.body["action"], e.body["outcome"])
        for e in services.audit.search(tenant, AccessQuery(limit=200))[0]
        if e.body.get("purpose") == "oversight"
    ]
    assert ("agent", "search_logs", "deny") in steps and ("agent", "export_logs", "deny") in steps
    assert ("dpo", "search_logs", "allow") in steps and ("dpo", "export_logs", "allow") in steps
