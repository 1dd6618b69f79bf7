"""The DPO console through its pages, as a member of staff uses it: signing in with a factor,
each role's pages and refusals, searches of both logs (by e-mail through the blind index, by
token, by filter, page by page), exports at high assurance, verification against a kept
checkpoint, the requests queue, and the record of processing; every page recorded."""

from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient

from tessera.trust import Services
from tests.conftest import Stores, bypass_append_only

from .conftest import Console, Staff, another

EMAIL = "jeanne.roux@example.fr"
IVR = {"channel": "voice_ivr", "evidence": {"recording_ref": "rec-9", "utterance_ref": "utt-2"}}


def _customer(api: TestClient, headers: dict[str, str], subject: str) -> str:
    r = api.post(
        "/v1/tokens",
        json={"value": EMAIL, "category": "email", "subject": subject},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def _consents(api: TestClient, headers: dict[str, str], subject: str, n: int = 1) -> None:
    for i in range(n):
        kind = "given" if i % 2 == 0 else "withdrawn"
        r = api.post(
            "/v1/consents",
            json={"subject": subject, "purpose": "marketing_sms", "kind": kind, **IVR},
            headers=headers,
        )
        assert r.status_code == 201, r.text


def _oversight(services: Services, tenant: str) -> list[dict]:
    from tessera.trust.audit import AccessQuery

    entries, _ = services.audit.search(tenant, AccessQuery(action=None, limit=200))
    return [e.body for e in entries if e.body["kind"] == "oversight"]


# ---------------------------------------------------------------------- signing in
def test_a_dpo_signs_in_with_their_authenticator_app_and_lands_on_their_pages(
    console: Console, staff: dict[str, Staff], services: Services, tenant: str
) -> None:
    r = console.get("/")
    assert r.status_code == 200 and "Sign in to the privacy console" in r.text  # redirected
    console.sign_in(staff["dpo"])
    info = services.authenticator.session(tenant, console.session_id)
    assert info.subject == staff["dpo"].member.subject and info.assurance.name == "SUBSTANTIAL"
    page = console.get("/").text
    for name in ("Consent log", "Access log", "Requests", "Verification", "Record of processing"):
        assert name in page
    r = console.post("/sign-out")
    assert "Sign in to the privacy console" in r.text
    assert console.get("/").url.path.endswith("/sign-in")


def test_a_wrong_code_an_unknown_login_and_a_forged_form_open_nothing(
    console: Console, staff: dict[str, Staff], services: Services, tenant: str
) -> None:
    console.get("/sign-in")
    known = console.post("/sign-in", login="dana")
    assert 'name="code"' in known.text
    r = console.post("/sign-in/code", code="000000")
    assert r.status_code == 403 and "Check the code" in r.text
    console.get("/sign-in")
    unknown = console.post("/sign-in", login="nobody")
    assert unknown.status_code == known.status_code and 'name="code"' in unknown.text
    r = console.post("/sign-in/code", code=staff["dpo"].code())
    assert r.status_code == 403
    console.get("/sign-in")
    r = console.post("/sign-in", login="dana", csrf="forged")
    assert r.status_code == 403 and "expired" in r.text
    assert "tessera_console" not in {c.name for c in console.client.cookies.jar}
    assert console.get("/consents").url.path.endswith("/sign-in")


def test_a_customer_session_or_a_disabled_member_opens_nothing_at_the_console(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    api: TestClient,
    agent_headers: dict[str, str],
) -> None:
    from tessera.auth import Observation
    from tessera.storage import utcnow

    customer = services.authenticator.assess(
        tenant, "cust-1", Observation(channel="web", at=utcnow(), ip="10.9.9.9")
    )
    if customer.session is not None:
        console.client.cookies.set("tessera_console", customer.session.id)
        assert console.get("/consents").url.path.endswith("/sign-in")
    console.client.cookies.clear()
    console.sign_in(staff["analyst"])
    services.staff.disable(tenant, staff["analyst"].member.id, actor="t")
    assert console.get("/consents").url.path.endswith("/sign-in")


def test_the_console_of_another_tenant_knows_nobody_from_this_one(
    console: Console, staff: dict[str, Staff], services: Services, other_tenant: str
) -> None:
    console.sign_in(staff["dpo"])
    session = console.session_id
    stranger = another(services, other_tenant)
    stranger.client.cookies.set("tessera_console", session)
    r = stranger.get("/consents")
    assert r.url.path == f"/console/{other_tenant}/sign-in"


# ---------------------------------------------------------------------- the consent log
def test_the_consent_log_is_searched_by_email_token_and_filters_page_by_page(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    api: TestClient,
    agent_headers: dict[str, str],
) -> None:
    token = _customer(api, agent_headers, "cust-jr")
    _consents(api, agent_headers, "cust-jr", n=53)
    _consents(api, agent_headers, "cust-other", n=2)
    console.sign_in(staff["analyst"])
    console.get("/consents")
    r = console.post("/consents", who=EMAIL)  # posted: an e-mail never goes in an address
    assert r.url.query == b"who=cust-jr" or str(r.url).endswith("?who=cust-jr")
    assert r.status_code == 200
    assert r.text.count('<td class="mono">cust-jr</td>') == 50 and "cust-other" not in r.text
    assert "rec-9" in r.text  # the evidence
    older = r.text.split('href="')[1:]
    next_link = next(x.split('"')[0] for x in older if "before=" in x)
    r = console.client.get(next_link.replace("&amp;", "&"), headers=console.headers)
    assert r.text.count('<td class="mono">cust-jr</td>') == 3 and "Older events" not in r.text
    r = console.get("/consents", params={"who": token, "kind": "withdrawn"})
    assert r.text.count("<td>withdrawn</td>") == 26 and "<td>given</td>" not in r.text
    console.get("/consents")
    r = console.post("/consents", who="nobody@example.fr")
    assert "No customer has this address or number." in r.text
    r = console.get("/consents", params={"who": EMAIL})
    assert r.status_code == 422  # typed into the address by hand: refused, nothing looked up
    for bad in (
        {"kind": "sold"},
        {"since": "yesterday"},
        {"since": "2026-12-05", "until": "2026-12-01"},
        {"channel": "x" * 40},
        {"before": "-1"},
    ):
        r = console.get("/consents", params=bad)
        assert r.status_code == 422 and "Check what you typed" in r.text, bad
    asked = [e for e in _oversight(services, tenant) if e["categories"] == ["log:consent"]]
    assert asked and all(e["caller"] == staff["analyst"].member.subject for e in asked)
    assert any(e["asked"].get("who") == "subject" and e["subject"] == "cust-jr" for e in asked)
    assert EMAIL not in json.dumps(asked)  # what was asked, never its value


def test_a_consent_event_a_database_writer_rewrote_is_refused_not_shown(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    api: TestClient,
    agent_headers: dict[str, str],
    shared_stores: Stores,
) -> None:
    from sqlalchemy import text

    _consents(api, agent_headers, "cust-t", n=2)
    console.sign_in(staff["dpo"])
    with bypass_append_only(shared_stores, "consent_events") as conn:
        conn.execute(
            text(
                "UPDATE consent_events SET body = REPLACE(body, 'withdrawn', 'given') "
                "WHERE tenant_id = :t AND kind = 'withdrawn'"
            ),
            {"t": tenant},
        )
    r = console.get("/consents")
    assert r.status_code == 500 and "does not verify" in r.text
    assert "<td>given</td>" not in r.text


def test_only_the_dpo_exports_and_only_at_high_assurance_with_their_passkey(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    api: TestClient,
    agent_headers: dict[str, str],
) -> None:
    _consents(api, agent_headers, "cust-x", n=3)
    analyst = another(services, tenant)
    analyst.sign_in(staff["analyst"])
    r = analyst.get("/consents.csv")
    assert r.status_code == 403 and "does not allow" in r.text
    refusals = [e for e in _oversight(services, tenant) if e["action"] == "export_logs"]
    assert refusals[-1]["outcome"] == "deny"
    assert refusals[-1]["caller"] == staff["analyst"].member.subject

    console.sign_in(staff["dpo"])
    r = console.get("/consents.csv", params={"purpose": "marketing_sms"})
    assert "Confirm with your passkey" in r.text and "no passkey yet" in r.text
    key = console.add_passkey()
    console.get("/consents.csv", params={"purpose": "marketing_sms"})
    console.confirm_with(key)
    r = console.get("/consents.csv", params={"purpose": "marketing_sms"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["subject"] for row in rows] == ["cust-x"] * 3
    assert r.headers["content-disposition"].startswith("attachment")
    r = console.get("/accesses.csv", params={"outcome": "deny"})
    assert r.status_code == 200
    assert any(
        row["caller"] == staff["analyst"].member.subject
        for row in csv.DictReader(io.StringIO(r.text))
    )


def test_a_consent_receipt_is_given_for_an_event_and_for_nothing_else(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    api: TestClient,
    agent_headers: dict[str, str],
) -> None:
    from tessera.consent import verify_receipt

    _consents(api, agent_headers, "cust-r", n=1)
    console.sign_in(staff["analyst"])
    r = console.get("/consents/1/receipt")
    assert r.status_code == 200
    record = verify_receipt(r.text, services.receipts.public_jwk(tenant))
    assert record["piiPrincipalId"] == "cust-r"
    for bad in ("2", "x", "9" * 30):
        assert console.get(f"/consents/{bad}/receipt").status_code in (404, 422), bad


# ---------------------------------------------------------------------- the access log
def test_the_access_log_answers_who_accessed_what_and_under_which_policy(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    api: TestClient,
    agent_headers: dict[str, str],
) -> None:
    token = _customer(api, agent_headers, "cust-a")
    r = api.post(
        "/v1/access",
        json={
            "tokens": [token],
            "action": "read_masked",
            "purpose": "marketing_sms",
            "channel": "voice_ivr",
        },
        headers=agent_headers,
    )
    assert r.status_code in (200, 403), r.text
    auditor = another(services, tenant)
    auditor.sign_in(staff["auditor"])
    assert auditor.get("/accesses").status_code == 403  # auditors verify; they do not search
    console.sign_in(staff["analyst"])
    console.get("/accesses")
    r = console.post("/accesses", who=EMAIL)
    assert r.status_code == 200 and "cust-a" in r.text
    r = console.get("/accesses", params={"caller_kind": "auditor", "outcome": "deny"})
    assert staff["auditor"].member.subject in r.text and "refused" in r.text
    r = console.get("/accesses", params={"policy": "staff-search-logs"})
    assert staff["analyst"].member.subject in r.text
    r = console.get("/accesses", params={"outcome": "maybe"})
    assert r.status_code == 422


def test_an_access_entry_relabelled_in_the_database_is_refused(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    shared_stores: Stores,
) -> None:
    from sqlalchemy import text

    console.sign_in(staff["dpo"])
    console.get("/consents")
    with bypass_append_only(shared_stores, "audit_entries") as conn:
        conn.execute(
            text(
                "UPDATE audit_entries SET outcome = 'deny' WHERE tenant_id = :t AND kind = "
                "'oversight'"
            ),
            {"t": tenant},
        )
    r = console.get("/accesses", params={"outcome": "deny"})
    assert r.status_code == 500 and "does not verify" in r.text


# ---------------------------------------------------------------------- verification
def test_verification_shows_the_logs_intact_and_proves_they_extend_a_kept_checkpoint(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    other_tenant: str,
    api: TestClient,
    agent_headers: dict[str, str],
) -> None:
    _consents(api, agent_headers, "cust-v", n=2)
    console.sign_in(staff["auditor"])
    r = console.get("/verify/checkpoint")
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    kept = r.text
    _consents(api, agent_headers, "cust-v", n=1)
    console.get("/verify")
    r = console.post("/verify", kept=kept)
    assert r.status_code == 200
    assert "Consent chain: intact" in r.text and "Audit log: intact" in r.text
    assert "It extends the head you kept." in r.text and "It extends the checkpoint" in r.text
    assert "Last signed checkpoint" in r.text

    # Another tenant's checkpoint proves nothing here, and says so.
    _issue_other = services.identity.create_tenant(other_tenant)
    del _issue_other
    theirs = json.loads(kept)
    theirs["tenant"] = other_tenant
    theirs["consent"] = services.receipts.sign_head(other_tenant, 0, "0" * 64)
    console.get("/verify")
    r = console.post("/verify", kept=json.dumps(theirs))
    assert "was refused" in r.text and "does not verify with this key" in r.text
    console.get("/verify")
    r = console.post("/verify", kept="{not json")
    assert "was refused" in r.text


def test_verification_names_the_first_entry_that_fails(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    api: TestClient,
    agent_headers: dict[str, str],
    shared_stores: Stores,
) -> None:
    from sqlalchemy import text

    _consents(api, agent_headers, "cust-w", n=3)
    with bypass_append_only(shared_stores, "consent_events") as conn:
        conn.execute(
            text(
                "UPDATE consent_events SET body = REPLACE(body, 'rec-9', 'rec-0') "
                "WHERE tenant_id = :t AND seq = 2"
            ),
            {"t": tenant},
        )
    console.sign_in(staff["dpo"])
    console.get("/verify")
    r = console.post("/verify")
    assert "Consent chain: does not verify" in r.text and "The first event that fails: 2." in r.text
    assert "Audit log: intact" in r.text


# ---------------------------------------------------------------------- requests and the record
def test_the_dpo_runs_the_requests_queue_through_the_gateway(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    api: TestClient,
    agent_headers: dict[str, str],
) -> None:
    opened = []
    for subject in ("cust-q1", "cust-q2"):
        r = api.post(
            "/v1/dsr",
            json={"subject": subject, "kind": "restriction", "channel": "voice_agent"},
            headers=agent_headers,
        )
        assert r.status_code == 201, r.text
        opened.append(r.json()["id"])
    analyst = another(services, tenant)
    analyst.sign_in(staff["analyst"])
    r = analyst.get("/requests")
    assert r.status_code == 200 and opened[0] in r.text and "Verify identity" not in r.text
    r = analyst.client.post(
        f"{analyst.base}/requests/{opened[0]}/reject",
        data={"csrf": "x", "text": "no"},
        headers=analyst.headers,
    )
    assert r.status_code == 403

    console.sign_in(staff["dpo"])
    console.get("/requests")
    r = console.post(f"/requests/{opened[0]}/extend", text="complex request")
    assert r.status_code == 200 and "Done, and recorded." in r.text and "extended" in r.text
    r = console.post(f"/requests/{opened[1]}/reject", text="")
    assert r.status_code == 422
    r = console.post(f"/requests/{opened[1]}/reject", text="manifestly unfounded")
    assert "Done, and recorded." in r.text
    console.get("/requests")
    r = console.post(f"/requests/{opened[0]}/verify", text="passport seen at the branch")
    assert "Confirm with your passkey" in r.text  # verifying by hand is high assurance
    key = console.add_passkey()
    console.get("/confirm?next=/console/" + tenant + "/requests")
    console.confirm_with(key)
    r = console.post(f"/requests/{opened[0]}/verify", text="passport seen at the branch")
    assert "Done, and recorded." in r.text
    r = console.post(f"/requests/{opened[0]}/execute")
    assert "Done, and recorded." in r.text
    states = {d.id: d.state.value for d in services.dsr.list(tenant)}
    assert states[opened[0]] == "completed" and states[opened[1]] == "rejected"
    fields = {"csrf": console.form("/sign-out")["csrf"], "text": "x"}
    r = console.post("/requests/dsr_nothing/extend", fields)
    assert r.status_code == 404


def test_the_record_of_processing_is_read_by_an_auditor_and_downloaded(
    console: Console, staff: dict[str, Staff], services: Services, tenant: str
) -> None:
    analyst = another(services, tenant)
    analyst.sign_in(staff["analyst"])
    assert analyst.get("/record").status_code == 403
    console.sign_in(staff["auditor"])
    r = console.get("/record")
    assert r.status_code == 200 and "Record of processing activities" in r.text
    assert "marketing_sms" in r.text
    r = console.get("/record/download", params={"format": "json"})
    assert r.status_code == 200 and json.loads(r.text)["tenant"] == tenant
    assert console.get("/record/download", params={"format": "pdf"}).status_code == 422
    kinds = {e["caller_kind"] for e in _oversight(services, tenant) if e["action"] == "read_record"}
    assert kinds == {"analyst", "auditor"}


def test_every_console_page_carries_the_security_headers_and_french(
    console: Console, staff: dict[str, Staff]
) -> None:
    console.sign_in(staff["dpo"])
    for path in ("/", "/consents", "/accesses", "/requests", "/verify", "/record"):
        r = console.get(path)
        assert r.status_code == 200, path
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
    r = console.get("/consents?lang=fr")
    assert '<html lang="fr">' in r.text and "Journal des consentements" in r.text


# ---------------------------------------------------------------------- charts
def test_the_charts_are_drawn_from_the_logs_with_their_figures_beside_them(
    console: Console,
    staff: dict[str, Staff],
    services: Services,
    tenant: str,
    api: TestClient,
    agent_headers: dict[str, str],
) -> None:
    import base64

    _consents(api, agent_headers, "cust-c", n=3)  # given, withdrawn, given
    auditor = another(services, tenant)
    auditor.sign_in(staff["auditor"])
    assert auditor.get("/charts").status_code == 403  # refused, so a refusal to chart
    console.sign_in(staff["analyst"])
    r = console.get("/charts")
    assert r.status_code == 200
    images = [x.split('"')[0] for x in r.text.split('src="data:image/svg+xml;base64,')[1:]]
    assert len(images) >= 3
    svg = base64.b64decode(images[0]).decode()
    assert svg.startswith("<svg") and "<script" not in svg
    assert "marketing_sms · voice_ivr" in r.text and "0.6667" in r.text  # 2 given of 3
    assert "<td>default-deny</td>" in r.text  # the auditor's refusal: no policy permits it
    assert console.get("/charts", params={"days": "0"}).status_code == 422
    assert console.get("/charts", params={"days": "x"}).status_code == 422


def test_the_figures_are_plain_functions_of_the_counts() -> None:
    from tessera.trust.console._charts import consent_rate, step_up_rate, withdrawals_by_channel

    rows = [
        ("2026-12-01", "mkt", "sms", "given", 3),
        ("2026-12-01", "mkt", "sms", "withdrawn", 1),
        ("2026-12-01", "mkt", "sms", "expired", 5),  # not a choice
        ("2026-12-02", "mkt", "web", "withdrawn", 2),
    ]
    assert consent_rate(rows) == [
        {"day": "2026-12-01", "series": "mkt · sms", "rate": 0.75},
        {"day": "2026-12-02", "series": "mkt · web", "rate": 0.0},
    ]
    assert withdrawals_by_channel(rows) == [
        {"channel": "sms", "withdrawals": 1},
        {"channel": "web", "withdrawals": 2},
    ]
    outcomes = [
        ("2026-12-01", "detokenize", "allow", 3),
        ("2026-12-01", "detokenize", "step_up", 1),
    ]
    assert step_up_rate(outcomes) == [{"day": "2026-12-01", "action": "detokenize", "rate": 0.25}]
    assert consent_rate([]) == [] and step_up_rate([]) == []


def test_an_address_shared_by_two_customers_is_chosen_from_and_a_forged_search_refused(
    console: Console,
    staff: dict[str, Staff],
    api: TestClient,
    agent_headers: dict[str, str],
) -> None:
    _customer(api, agent_headers, "cust-s1")
    _customer(api, agent_headers, "cust-s2")  # a family's shared address
    console.sign_in(staff["analyst"])
    console.get("/consents")
    r = console.post("/consents", who=EMAIL, purpose="marketing_sms")
    assert "Several customers share" in r.text and EMAIL not in r.text
    assert "who=cust-s1" in r.text and "who=cust-s2" in r.text and "purpose=marketing_sms" in r.text
    console.get("/consents")
    r = console.post("/consents", who=EMAIL, csrf="forged")
    assert r.status_code == 403
