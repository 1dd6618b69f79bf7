"""A store another writer keeps locked: the request waits at most the documented time, then
fails closed with a 503; liveness keeps answering; nothing is released or lost."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy import text

from tessera.trust import Scope, Services, create_app
from tests.conftest import Stores
from tests.trust.conftest import _issue, settings_for


@contextlib.contextmanager
def held_lock(stores: Stores, tenant: str) -> Iterator[None]:
    """Another writer holding the lock the audit append needs: SQLite's write lock on the file,
    or PostgreSQL's row lock on the tenant's audit head."""
    if stores.data.is_sqlite:
        other = sqlite3.connect(stores.data.url.database, timeout=0.1, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
    else:
        with stores.data.engine.connect() as conn:
            conn.execute(
                text("SELECT size FROM audit_heads WHERE tenant_id = :t FOR UPDATE"),
                {"t": tenant},
            )
            yield
            conn.rollback()


def test_a_locked_store_answers_503_within_the_bound_and_liveness_answers(
    shared_stores: Stores, shared_keyring, tmp_path, tenant: str
) -> None:
    settings = settings_for(shared_stores, tmp_path, database_lock_timeout_seconds=0.3)
    services = Services.from_settings(settings, key_provider=shared_keyring)
    try:
        client = TestClient(create_app(services), raise_server_exceptions=False)
        headers = _issue(services, tenant, [Scope.TOKENIZE, Scope.ACCESS, Scope.AUDIT], "agent")
        token = client.post(
            "/v1/tokens",
            json={"value": "jean@example.fr", "category": "email", "subject": "c1"},
            headers=headers,
        ).json()["token"]
        ask = {
            "action": "read_masked",
            "purpose": "customer_service",
            "channel": "chat",
            "tokens": [token],
        }
        assert client.post("/v1/access", json=ask, headers=headers).status_code == 200
        before = services.audit.size(tenant)
        with held_lock(shared_stores, tenant):
            refused = client.post("/v1/access", json=ask, headers=headers)
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "j•••" not in refused.text  # nothing released
            assert client.get("/healthz").status_code == 200
        assert services.audit.size(tenant) == before  # nothing half-written
        assert client.post("/v1/access", json=ask, headers=headers).status_code == 200
    finally:
        services.close()
