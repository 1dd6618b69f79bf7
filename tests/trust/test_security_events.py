"""The changes an auditor asks about are in the trail before they take effect: tenants, API keys,
webhook endpoints, key rotations, the policy set in force. With who did them, never a secret."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tessera.storage import Database
from tessera.trust import AuditLog, AuditUnavailable, Scope, ServiceIdentity, Services, create_app
from tessera.trust.gateway import AuditSecurityEvents


def _events(services: Services, tenant: str) -> list[dict]:
    return services.audit.security_events(tenant)


def test_tenants_and_api_keys_are_recorded_with_their_actor_and_no_secret(
    services: Services, tenant: str
) -> None:
    services.identity.create_tenant(tenant, actor="cli:alice")
    issued = services.identity.issue_key(
        tenant, scopes=[Scope.TOKENIZE], kind="agent", actor="cli:alice"
    )
    services.identity.revoke_key(issued.key_id, actor="cli:bob")
    services.identity.revoke_key(issued.key_id, actor="cli:bob")  # already revoked: no event
    events = _events(services, tenant)
    assert [(e["event"], e["actor"]) for e in events] == [
        ("tenant_created", "cli:alice"),
        ("api_key_issued", "cli:alice"),
        ("api_key_revoked", "cli:bob"),
    ]
    assert events[1]["key"] == issued.key_id and events[1]["scopes"] == ["tokens:write"]
    assert events[1]["caller_kind"] == "agent" and events[1]["kind"] == "security"
    secret = issued.secret.split("_")[2]
    assert secret not in str(services.audit.export(tenant))


def test_a_key_that_cannot_be_recorded_is_not_issued(services: Services, tenant: str) -> None:
    services.identity.create_tenant(tenant)
    unrecorded = ServiceIdentity(
        services.data,
        events=AuditSecurityEvents(
            AuditLog(
                Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"),
                vault=services.vault,
            )
        ),
    )
    with pytest.raises(AuditUnavailable):
        unrecorded.issue_key(tenant, scopes=[Scope.TOKENIZE])
    with pytest.raises(AuditUnavailable):
        unrecorded.create_tenant(tenant + "-2")
    assert services.identity.list_keys(tenant) == []
    assert tenant + "-2" not in [t.id for t in services.identity.list_tenants()]


def test_webhook_endpoints_are_recorded_by_host_only(services: Services, tenant: str) -> None:
    services.identity.create_tenant(tenant)
    endpoint = services.webhooks.add_endpoint(
        tenant, "https://crm.example.com/hooks?token=s3cr3t", ["payment.*"], actor="key k1"
    )
    services.webhooks.remove_endpoint(tenant, endpoint.id, actor="key k1")
    added, removed = _events(services, tenant)[1:]
    assert added["event"] == "webhook_endpoint_added" and added["host"] == "crm.example.com"
    assert removed == {**removed, "event": "webhook_endpoint_removed", "endpoint": endpoint.id}
    trail = str(services.audit.export(tenant))
    assert "s3cr3t" not in trail and endpoint.secret not in trail


def test_a_key_rotation_is_told_to_every_tenant_when_it_starts_and_finishes(
    store_factory, keyring, tmp_path, tenant: str, other_tenant: str
) -> None:
    # Its own stores and keyring: a rotation of the shared ones would reach every other test.
    from tests.trust.conftest import settings_for

    own = Services.from_settings(settings_for(store_factory.make(), tmp_path), key_provider=keyring)
    try:
        for t in (tenant, other_tenant):
            own.identity.create_tenant(t)
        report = own.rotate_keys(actor="cli:ops")
        for t in (tenant, other_tenant):
            started, finished = [e for e in _events(own, t) if "rotation" in e["event"]][-2:]
            assert started["event"] == "key_rotation_started"
            assert finished["to_version"] == report.target_version
            assert finished["actor"] == "cli:ops"
    finally:
        own.close()


def test_the_server_says_which_policy_set_it_enforces_when_it_starts(
    services: Services, tenant: str
) -> None:
    services.identity.create_tenant(tenant)
    with TestClient(create_app(services)):
        pass
    loaded = [e for e in _events(services, tenant) if e["event"] == "policies_loaded"][-1]
    digest = services.policies.policies_for(tenant).digest
    assert loaded["policy_set"] == digest and len(digest) == 64
    assert loaded["thresholds"]["pay"] == [1.0, 16.0]
    services.reload_policies(actor="cli:ops")
    assert _events(services, tenant)[-1]["actor"] == "cli:ops"


def test_the_dpo_reads_them_over_http(
    client: TestClient, issue, services: Services, tenant: str
) -> None:
    headers = issue(tenant, [Scope.AUDIT])
    listed = client.get("/v1/audit/events", headers=headers).json()["data"]
    assert listed[0]["event"] == "tenant_created" and listed[1]["event"] == "api_key_issued"
    assert (
        client.get("/v1/audit/events", headers=issue(tenant, [Scope.TOKENIZE])).status_code == 403
    )


def test_failed_authentications_of_a_key_past_a_rate_are_recorded(
    services: Services, tenant: str
) -> None:
    from tessera.trust import AuthenticationRequired

    services.identity.create_tenant(tenant)
    issued = services.identity.issue_key(tenant, scopes=[Scope.TOKENIZE])
    wrong = issued.secret[:-4] + ("aaaa" if not issued.secret.endswith("aaaa") else "bbbb")
    for _ in range(6):
        with pytest.raises(AuthenticationRequired):
            services.identity.authenticate(wrong)
    (event,) = [e for e in _events(services, tenant) if e["event"] == "authentication_failures"]
    assert event["key"] == issued.key_id and event["failures"] == 5
    assert event["last_reason"] == "wrong secret" and wrong not in str(event)


def test_an_expired_key_presented_is_recorded_once(services: Services, tenant: str) -> None:
    import datetime as dt

    from tessera.trust import AuthenticationRequired

    services.identity.create_tenant(tenant)
    issued = services.identity.issue_key(
        tenant, scopes=[Scope.TOKENIZE], valid_for=dt.timedelta(seconds=1)
    )
    services.identity.clock = lambda: issued.expires_at + dt.timedelta(seconds=1)  # type: ignore[operator]
    try:
        for _ in range(2):
            with pytest.raises(AuthenticationRequired, match="expired"):
                services.identity.authenticate(issued.secret)
    finally:
        from tessera.storage import utcnow

        services.identity.clock = utcnow
    expired = [e for e in _events(services, tenant) if e["event"] == "api_key_expired"]
    assert [e["key"] for e in expired] == [issued.key_id]
