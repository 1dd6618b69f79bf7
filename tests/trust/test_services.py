from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from fastapi.testclient import TestClient

from tessera.storage import Database
from tessera.trust import Services, Settings, create_app


def test_settings_come_from_the_environment_and_hide_secrets(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TESSERA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TESSERA_KEYRING_PASSPHRASE", "very secret words")
    monkeypatch.setenv("TESSERA_KEY_PROVIDER", "pkcs11")
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'tessera.db'}"
    assert settings.resolved_keystore_url == f"sqlite:///{tmp_path / 'keys.db'}"
    assert settings.key_provider == "pkcs11"
    assert "very secret words" not in repr(settings) + str(settings.model_dump())


def test_database_errors_never_show_a_password() -> None:
    db = Database("postgresql+psycopg://user:hunter2@127.0.0.1:1/x")
    assert "hunter2" not in db.describe()


def test_readiness_is_503_when_a_store_is_down(services: Services) -> None:
    broken = dataclasses.replace(
        services, data=Database("postgresql+psycopg://postgres:pw@127.0.0.1:1/nowhere")
    )
    response = TestClient(create_app(broken)).get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["type"] == "urn:tessera:problem:storage-unavailable"
    assert "pw" not in body["detail"].replace("postgresql", "")


def test_rate_limit_per_caller_answers_429_with_retry_after(
    services: Services, tenant: str, other_tenant: str
) -> None:
    from tessera.trust import Scope

    limited = dataclasses.replace(
        services,
        settings=services.settings.model_copy(
            update={"rate_limit_per_second": 0.5, "rate_limit_burst": 2}
        ),
    )
    client = TestClient(create_app(limited))
    keys = []
    for t in (tenant, other_tenant):
        services.identity.create_tenant(t)
        keys.append(
            {
                "Authorization": "Bearer "
                + services.identity.issue_key(t, scopes=[Scope.SEARCH]).secret
            }
        )
    for _ in range(2):
        assert client.get("/v1/subjects/s1/tokens", headers=keys[0]).status_code == 200
    limited_reply = client.get("/v1/subjects/s1/tokens", headers=keys[0])
    assert limited_reply.status_code == 429
    assert limited_reply.headers["retry-after"] == "2"
    assert limited_reply.json()["type"] == "urn:tessera:problem:rate-limited"
    assert client.get("/v1/subjects/s1/tokens", headers=keys[1]).status_code == 200  # per caller


def test_checkpoints_are_signed_periodically_by_the_server(services: Services, tenant: str) -> None:
    import time

    from tessera.trust import AuditRecord

    fast = dataclasses.replace(
        services,
        settings=services.settings.model_copy(update={"checkpoint_interval_seconds": 0.05}),
    )
    services.audit.record([AuditRecord(tenant, "access", {"n": 1})])
    with TestClient(create_app(fast)):  # the lifespan runs the checkpointer
        deadline = time.monotonic() + 10
        while not services.audit.checkpoints(tenant) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert services.audit.checkpoints(tenant)[-1]["size"] == 1


def test_one_clock_is_read_by_every_part(shared_stores, shared_keyring, tmp_path) -> None:
    """`Services.from_settings(clock=...)`: decisions, records and the local outbox all carry
    the time it gives, for tests and for replays of past traffic."""
    import datetime as dt

    from tessera.auth import Observation
    from tessera.consent import load_catalogue_file
    from tests.consent.conftest import EXAMPLE
    from tests.trust.conftest import settings_for

    then = dt.datetime(2026, 3, 14, 9, 26, 53, tzinfo=dt.UTC)
    fixed = Services.from_settings(
        settings_for(shared_stores, tmp_path), key_provider=shared_keyring, clock=lambda: then
    )
    try:
        fixed.identity.create_tenant("clocked")
        fixed.catalogue.load("clocked", load_catalogue_file(EXAMPLE))
        token = fixed.vault.tokenize("clocked", "+33612345678", category="phone", subject="c1")
        assessed = fixed.authenticator.assess(
            "clocked", "c1", Observation(channel="app", at=fixed.clock(), device_id="d1")
        )
        decision = fixed.authenticator.decision("clocked", assessed.decision_id)
        assert decision.created_at == then
        fixed.authenticator.register_destination("clocked", "c1", "sms", token.token)
        fixed.authenticator.begin_step_up("clocked", "otp", decision_id=assessed.decision_id)
        sent = fixed.authenticator.notifier.last()
        assert sent is not None and sent.sent_at == then.isoformat()
        bodies = [e["body"] for e in fixed.audit.export_lines("clocked") if "seq" in e]
        assert bodies and all("2026-03-14T09:26:53" in json.dumps(b) for b in bodies)
    finally:
        fixed.close()
