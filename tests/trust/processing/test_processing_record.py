"""The record of processing (Art. 30) is derived from what is enforced: the example tenant's
record matches its policies, a changed policy or purpose changes the record, and every caller
kind the audit trail observed appears among the recipients."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tessera.consent import PurposeSpec, parse_purpose
from tessera.policies import DEFAULT_POLICY_DIR, CedarPolicyEngine
from tessera.trust import Services, create_app
from tessera.trust.identity import Scope
from tessera.trust.processing import (
    allowed_recipients,
    as_csv,
    as_html,
    as_json,
    processing_record,
)
from tests.cli import run
from tests.trust.conftest import _issue
from tests.trust.portal.conftest import IVR_EVIDENCE, customer


def _by(record, purpose: str) -> dict[tuple[str, str], tuple[str, ...]]:
    activity = next(a for a in record.activities if a.purpose == purpose)
    return {(r.caller_kind, r.action): r.categories for r in activity.recipients}


def test_the_example_tenants_record_matches_its_policies(services: Services, tenant: str) -> None:
    _issue(services, tenant, [Scope.ACCESS])  # creates the tenant with the example catalogue
    record = processing_record(services, tenant)
    service = _by(record, "customer_service")
    assert service[("agent", "read_masked")] == ("email", "person_name", "phone", "postal_address")
    assert service[("bot", "read_masked")] == ("email", "person_name", "phone")
    assert ("bot", "detokenize") not in service  # bot-never-clear
    assert "card_pan" not in service[("expert", "detokenize")]  # stepped up, never card numbers
    expert = next(
        r
        for a in record.activities
        if a.purpose == "customer_service"
        for r in a.recipients
        if (r.caller_kind, r.action) == ("expert", "detokenize")
    )
    assert expert.assurance == "substantial" and expert.policies == (
        "expert-detokenize-stepped-up",
    )
    assert _by(record, "analytics")[("analytics", "read_masked")] == ("email", "phone")
    assert ("analytics", "read_masked") not in service  # analytics only for its own purpose
    assert _by(record, "payment")[("payments", "detokenize")] == ("card_pan",)
    assert all("card_pan" not in cats for (kind, _), cats in service.items() if kind == "agent")
    marketing = next(a for a in record.activities if a.purpose == "marketing_sms")
    assert marketing.legal_basis == "consent" and marketing.consents == {}
    assert "tenant-wall" in record.policies_in_force
    assert record.controller["name"] == "Demo Bank SA"


def test_a_changed_policy_and_purpose_change_the_record(tmp_path: Path, services, tenant) -> None:
    _issue(services, tenant, [Scope.ACCESS])
    purpose = services.catalogue.get(tenant, "customer_service")
    before = {
        (r.caller_kind, r.action): r.categories
        for r in allowed_recipients(services.policies, tenant, purpose)
    }
    assert ("bot", "read_masked") in before
    # The tenant's own policy set: the default one, without bots on customer service.
    folder = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, folder)
    own = folder / "tenants" / tenant
    own.mkdir(parents=True)
    text = (DEFAULT_POLICY_DIR / "contact_centre.cedar").read_text("utf-8")
    start = text.index('@id("bot-masked-contact")')
    end = text.index("};", start) + 2
    (own / "contact_centre.cedar").write_text(text[:start] + text[end:], "utf-8")
    engine = CedarPolicyEngine(folder)
    after = {
        (r.caller_kind, r.action): r.categories for r in allowed_recipients(engine, tenant, purpose)
    }
    assert ("bot", "read_masked") not in after
    assert after[("agent", "read_masked")] == before[("agent", "read_masked")]
    # The purpose loses a category: no recipient reaches it any more.
    spec = parse_purpose(
        {
            "id": "customer_service",
            "legal_basis": "contract",
            "data_categories": ["person_name", "email"],
            "retention_days": 1825,
            "name": purpose.names,
            "description": purpose.descriptions,
        }
    )
    assert isinstance(spec, PurposeSpec)
    services.catalogue.define(tenant, spec)
    record = processing_record(services, tenant)
    assert _by(record, "customer_service")[("agent", "read_masked")] == ("email", "person_name")


def test_every_observed_caller_kind_is_among_the_recipients(services, tenant, issue) -> None:
    api = TestClient(create_app(services))
    agent = _issue(
        services,
        tenant,
        [Scope.TOKENIZE, Scope.ACCESS, Scope.AUTH_MANAGE, Scope.CONSENT_WRITE],
        "agent",
    )
    customer(api, agent, "c-rec")
    api.post(
        "/v1/consents",
        json={
            "subject": "c-rec",
            "purpose": "analytics",
            "kind": "given",
            "channel": "voice_ivr",
            "evidence": IVR_EVIDENCE,
        },
        headers=agent,
    )
    callers = {
        "agent": (agent, "customer_service"),
        "bot": (issue(tenant, ["access"], "bot"), "customer_service"),
        "expert": (issue(tenant, ["access"], "expert"), "customer_service"),
        "analytics": (issue(tenant, ["access"], "analytics"), "analytics"),
    }
    for headers, purpose in callers.values():
        r = api.post(
            "/v1/access",
            json={
                "action": "read_masked",
                "purpose": purpose,
                "channel": "chat",
                "subject": "c-rec",
                "categories": ["email"],
            },
            headers=headers,
        )
        assert r.status_code == 200, r.text
    record = processing_record(services, tenant)
    observed = {(a.purpose, o.caller_kind) for a in record.activities for o in a.observed}
    assert {(p, k) for k, (_, p) in callers.items()} <= observed
    for activity in record.activities:
        kinds = {r.caller_kind for r in activity.recipients}
        assert {o.caller_kind for o in activity.observed} <= kinds
        assert activity.observed_outside == ()
    analytics = next(a for a in record.activities if a.purpose == "analytics")
    assert analytics.consents == {"given": 1}
    assert record.categories_held == {"email": 1, "phone": 1}
    # The three formats say the same.
    rows = list(csv.DictReader(io.StringIO(as_csv(record))))
    assert any(
        r["recipient"] == "bot"
        and r["purpose"] == "customer_service"
        and r["observed_accesses"] == "1"
        for r in rows
    )
    html = as_html(record)
    assert "Record of processing activities" in html and "bot-masked-contact" in html
    assert as_json(record)["format"] == "tessera-processing-record/1"


def test_the_record_over_http_needs_the_audit_scope(services, tenant, issue) -> None:
    api = TestClient(create_app(services))
    reader = issue(tenant, ["audit:read"], "dpo")
    other = issue(tenant, ["access"], "agent")
    r = api.get("/v1/processing-record", headers=reader)
    assert r.status_code == 200 and r.json()["tenant"] == tenant
    assert api.get("/v1/processing-record?format=csv", headers=reader).text.startswith("purpose,")
    assert (
        "<h1>Record of processing activities</h1>"
        in api.get("/v1/processing-record?format=html", headers=reader).text
    )
    assert api.get("/v1/processing-record", headers=other).status_code == 403
    bad = api.get("/v1/processing-record?format=pdf&days=0", headers=reader)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("fmt", ["json", "csv", "html"])
def test_the_cli_exports_the_record(fmt: str, cli_env_of, tmp_path: Path) -> None:
    env, tenant = cli_env_of
    target = tmp_path / f"record.{fmt}"
    done = run(
        [
            "processing-record",
            "export",
            "--tenant",
            tenant,
            "--format",
            fmt,
            "--output",
            str(target),
        ],
        env,
    )
    assert "written to" in done.stdout
    text = target.read_text("utf-8")
    assert {"json": '"activities"', "csv": "purpose,legal_basis", "html": "<h1>"}[fmt] in text


def test_the_cli_says_in_one_line_that_a_tenant_is_unknown(cli_env_of) -> None:
    env, _ = cli_env_of
    done = run(["processing-record", "export", "--tenant", "nobody-here"], env, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error: ")]


@pytest.fixture
def cli_env_of(store_factory, tmp_path: Path):
    from tests.cli import cli_env
    from tests.conftest import PASSPHRASE

    stores = store_factory.make(migrated=False)
    env = cli_env(stores.env, tmp_path, tmp_path / "keyring.json", PASSPHRASE)
    run(["tenants", "create", "rec-bank"], env)
    run(
        [
            "consent",
            "load",
            str(Path(__file__).parents[3] / "trust" / "cli" / "examples" / "purposes.toml"),
            "--tenant",
            "rec-bank",
        ],
        env,
    )
    return env, "rec-bank"
