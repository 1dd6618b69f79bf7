"""The gateway in-process, with real services: each caller gets exactly what policy, consent
and assurance allow, and every call is in the audit log."""

from __future__ import annotations

import json

import pytest

from tessera.consent import ConsentRequest, UnknownPurpose, load_catalogue_file
from tessera.policies import Assurance, PolicyOutcome
from tessera.storage import Database
from tessera.trust import (
    AccessRequest,
    AuditLog,
    AuditUnavailable,
    AuthContext,
    AuthContextRequired,
    Gateway,
    ReplayedRequest,
    Scope,
    Services,
)
from tessera.vault import InvalidToken, InvalidValue
from tests.consent.conftest import EXAMPLE

S = "cust-1"


@pytest.fixture
def world(services: Services, tenant: str):
    services.identity.create_tenant(tenant)
    services.catalogue.load(tenant, load_catalogue_file(EXAMPLE))
    v = services.vault
    tokens = {
        c: v.tokenize(tenant, value, category=c, subject=S).token
        for value, c in [
            ("jean@example.fr", "email"),
            ("06 12 34 56 78", "phone"),
            ("FR14 2004 1010 0505 0001 3M02 606", "iban"),
            ("4970101234567893", "card_pan"),
        ]
    }

    def caller(kind: str):
        issued = services.identity.issue_key(
            tenant, scopes=[Scope.ACCESS, Scope.AUTH_ASSERT], kind=kind
        )
        return services.identity.authenticate(issued.secret)

    return services, tokens, caller


def ask(services: Services, who, **kw) -> object:
    kw.setdefault("purpose", "customer_service")
    kw.setdefault("channel", "chat")
    kw.setdefault("action", "read_masked")
    return services.gateway.access(who, AccessRequest(**kw))


def test_an_agent_gets_masked_contact_data(world) -> None:
    services, _, caller = world
    agent = caller("agent")
    result = ask(services, agent, subject=S, categories=("email", "phone"))
    assert result.allowed and result.policy_ids == ("agent-masked-contact",)
    assert sorted(i.value for i in result.items) == ["+33 •••••••78", "j•••@example.fr"]
    entry = services.audit.for_subject(agent.tenant, S)[-1]
    assert (entry["caller"], entry["outcome"], entry["released"]) == (agent.key_id, "allow", 2)
    assert "jean" not in str(entry)


def test_a_bot_never_gets_clear_values(world) -> None:
    services, _, caller = world
    result = ask(
        services,
        caller("bot"),
        action="detokenize",
        subject=S,
        categories=("phone",),
        auth=AuthContext(Assurance.HIGH),
    )
    assert (result.outcome, result.policy_ids, result.items) == (
        PolicyOutcome.DENY,
        ("bot-never-clear",),
        (),
    )


def test_an_expert_steps_up_then_reads(world) -> None:
    services, tokens, caller = world
    expert = caller("expert")
    low = ask(
        services,
        expert,
        action="detokenize",
        tokens=(tokens["iban"],),
        auth=AuthContext(Assurance.LOW),
    )
    assert (low.outcome, low.required_assurance, low.items) == (
        PolicyOutcome.STEP_UP,
        Assurance.SUBSTANTIAL,
        (),
    )
    high = ask(
        services,
        expert,
        action="detokenize",
        tokens=(tokens["iban"],),
        auth=AuthContext(Assurance.SUBSTANTIAL),
    )
    assert [i.value for i in high.items] == ["FR1420041010050500013M02606"]


def test_purpose_limitation_wins_over_any_role(world) -> None:
    services, _, caller = world
    result = ask(
        services, caller("expert"), purpose="marketing_sms", subject=S, categories=("iban",)
    )
    assert result.outcome is PolicyOutcome.DENY
    assert result.reason == "purpose limitation: marketing_sms does not use iban"


def test_analytics_follows_the_subjects_consent(world, tenant: str) -> None:
    services, _, caller = world
    analytics = caller("analytics")
    refused = ask(services, analytics, purpose="analytics", subject=S, categories=("email",))
    assert (refused.outcome, refused.reason) == (PolicyOutcome.DENY, "no consent recorded")
    services.consents.record(
        tenant,
        ConsentRequest(
            S, "analytics", "given", "app", {"form_id": "form-1", "session_id": "sess-1"}
        ),
    )
    assert ask(services, analytics, purpose="analytics", subject=S, categories=("email",)).allowed
    services.consents.record(
        tenant, ConsentRequest(S, "analytics", "withdrawn", "sms", {"message_id": "msg-1"})
    )
    assert not ask(
        services, analytics, purpose="analytics", subject=S, categories=("email",)
    ).allowed


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"purpose": "nope"}, UnknownPurpose),
        ({"action": "peek"}, InvalidValue),
        ({"channel": "telepathy"}, InvalidValue),
        ({"categories": ("shoe_size",)}, InvalidValue),
        ({"categories": ()}, InvalidValue),
        ({"action": "detokenize"}, AuthContextRequired),
        ({"action": "pay", "auth": AuthContext()}, InvalidValue),
    ],
)
def test_bad_requests_are_refused_before_any_decision(world, kw, error) -> None:
    services, _, caller = world
    agent = caller("agent")
    before = services.audit.size(agent.tenant)
    with pytest.raises(error):
        ask(services, agent, **{"subject": S, "categories": ("email",), **kw})
    assert services.audit.size(agent.tenant) == before


def test_another_tenants_tokens_are_unknown(world, other_tenant: str) -> None:
    services, tokens, _ = world
    services.identity.create_tenant(other_tenant)
    services.catalogue.load(other_tenant, load_catalogue_file(EXAMPLE))
    stranger = services.identity.authenticate(
        services.identity.issue_key(other_tenant, scopes=[Scope.ACCESS], kind="expert").secret
    )
    with pytest.raises(InvalidToken):
        ask(services, stranger, tokens=(tokens["email"],))


def test_a_replayed_request_releases_nothing_and_the_log_stays_whole(world) -> None:
    services, tokens, caller = world
    agent = caller("agent")
    first = ask(services, agent, tokens=(tokens["email"],), request_id="desk-req-1")
    assert first.allowed
    with pytest.raises(ReplayedRequest):
        ask(services, agent, tokens=(tokens["email"],), request_id="desk-req-1")
    assert services.audit.verify(agent.tenant)["entries"] == services.audit.size(agent.tenant)


def test_fail_closed_when_the_audit_record_cannot_be_written(world) -> None:
    services, tokens, caller = world
    broken = AuditLog(
        Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"), vault=services.vault
    )
    gateway = Gateway(
        vault=services.vault,
        catalogue=services.catalogue,
        consents=services.consents,
        policies=services.policies,
        audit=broken,
    )
    with pytest.raises(AuditUnavailable, match="nothing was released"):
        gateway.access(
            caller("agent"),
            AccessRequest("read_masked", "customer_service", "chat", tokens=(tokens["email"],)),
        )


def test_the_subject_sees_accesses_in_their_dsr_export(world, tenant: str) -> None:
    services, _, caller = world
    ask(services, caller("agent"), subject=S, categories=("email",))
    dpo = services.identity.authenticate(
        services.identity.issue_key(
            tenant, scopes=[Scope.DSR, Scope.AUTH_ASSERT], kind="dpo"
        ).secret
    )
    high = AuthContext(assurance=Assurance.HIGH)
    request = services.requests.open(dpo, S, "access", channel="web", auth=high)
    services.requests.verify_by_hand(dpo, request.id, "letter with ID", channel="web", auth=high)
    services.requests.execute(dpo, request.id, channel="web", auth=high)
    export = services.requests.export(dpo, request.id, channel="web", auth=high)
    accesses = [(a["action"], a["outcome"]) for a in export["access_history"]]
    assert accesses[0] == ("read_masked", "allow")
    assert [a for a, _ in accesses[1:]] == ["dsr_open", "dsr_verify", "dsr_execute", "export"]


def test_consent_events_reach_the_audit_log_in_the_same_transaction(world, tenant: str) -> None:
    services, _, _ = world
    before = services.audit.size(tenant)
    event = services.consents.record(
        tenant,
        ConsentRequest(
            S, "analytics", "given", "app", {"form_id": "form-1", "session_id": "sess-1"}
        ),
    )
    keyed = ConsentRequest(
        S,
        "analytics",
        "given",
        "app",
        {"form_id": "form-1", "session_id": "sess-1"},
        idempotency_key="k-1",
    )
    replay = services.consents.record(tenant, keyed)
    services.consents.record(tenant, keyed)  # a replay
    entries = [e for e in services.audit.export(tenant)["entries"][before:]]
    hashes = [json.loads(e["body"])["event"]["hash"] for e in entries]
    assert hashes == [event.hash, replay.hash]  # each new event once, replays not again
    with pytest.raises(UnknownPurpose):  # a refused event leaves no audit entry either
        services.consents.record(
            tenant,
            ConsentRequest(
                S, "nope", "given", "app", {"form_id": "form-1", "session_id": "sess-1"}
            ),
        )
    assert services.audit.size(tenant) == before + 2


def test_access_on_an_event_loop_answers_and_records_as_access_does(world) -> None:
    import asyncio

    services, tokens, caller = world
    agent = caller("agent")
    asked = AccessRequest("read_masked", "customer_service", "chat", tokens=(tokens["email"],))
    before = services.audit.size(agent.tenant)

    async def both() -> list:
        return [
            await services.gateway.access_soon(agent, asked),
            services.gateway.access(agent, asked),
        ]

    on_loop, in_thread = asyncio.run(both())
    assert on_loop.items == in_thread.items and on_loop.items[0].value == "j•••@example.fr"
    assert (on_loop.audit_seq, in_thread.audit_seq) == (before, before + 1)
    refused = asyncio.run(
        services.gateway.access_soon(
            agent, AccessRequest("read_masked", "marketing_sms", "chat", tokens=(tokens["iban"],))
        )
    )
    assert not refused.allowed and refused.audit_seq == before + 2
    entries = services.audit.for_subject(agent.tenant, S)
    assert [e["outcome"] for e in entries[-3:]] == ["allow", "allow", "deny"]


def test_an_erasure_is_recorded_before_the_key_is_destroyed(world, tenant: str) -> None:
    services, tokens, caller = world
    dpo = caller("dpo")
    erase = AccessRequest(
        "erase",
        "dsr",
        "web",
        subject=S,
        categories=("email", "phone"),
        auth=AuthContext(assurance=Assurance.HIGH),
    )
    unrecordable = Gateway(
        vault=services.vault,
        catalogue=services.catalogue,
        consents=services.consents,
        policies=services.policies,
        audit=AuditLog(
            Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"), vault=services.vault
        ),
    )
    with pytest.raises(AuditUnavailable):
        unrecordable.access(dpo, erase)
    assert services.vault.detokenize(tenant, tokens["email"]).value == "jean@example.fr"
    result = services.gateway.access(dpo, erase)
    assert result.allowed and result.erasures[0].items_destroyed == len(tokens)
    entry = services.audit.for_subject(tenant, S)[-1]
    assert (entry["seq"], entry["action"], entry["released"]) == (result.audit_seq, "erase", 0)
    with pytest.raises(InvalidToken):
        services.vault.detokenize(tenant, tokens["email"])
