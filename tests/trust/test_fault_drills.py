"""Fault drills, over HTTP on a live app: a dependency fails while the service runs. Each time
nothing is released or changed, the answer is a clear 503, and the service recovers by itself
once the dependency does: no restart.

The faults are real ones, not stand-ins: the audit table refusing inserts (a trigger, as a full
disk or a revoked grant would), the keyring file unreadable (a volume gone), the database
behind a lock (tests/trust/test_locked_store.py), the processor down (tests/payments).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tessera.trust import PROBLEM_JSON, Scope, Services, create_app
from tessera.vault import LocalKeyring
from tests.conftest import Stores
from tests.trust.conftest import settings_for

READ = {
    "purpose": "customer_service",
    "channel": "chat",
    "auth_context": {"assurance": "substantial"},
}


@pytest.fixture
def live(
    fresh_stores: Stores, keyring: LocalKeyring, tmp_path: Path, tenant: str
) -> Iterator[tuple[TestClient, dict[str, str], Services]]:
    services = Services.from_settings(
        settings_for(fresh_stores, tmp_path / "data"), key_provider=keyring
    )
    from tessera.consent import load_catalogue_file
    from tests.consent.conftest import EXAMPLE

    services.identity.create_tenant(tenant)
    services.catalogue.load(tenant, load_catalogue_file(EXAMPLE))
    key = services.identity.issue_key(tenant, scopes=list(Scope), kind="expert")
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {key.secret}"}, services
    services.close()


@contextlib.contextmanager
def audit_refuses_writes(stores: Stores) -> Iterator[None]:
    """Every insert into the audit log fails, until the block ends."""
    with stores.data.engine.begin() as conn:
        if stores.data.is_postgresql:
            conn.execute(
                text(
                    "CREATE FUNCTION drill_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'drill: audit store refuses writes'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER drill_refuse BEFORE INSERT ON audit_entries "
                    "FOR EACH ROW EXECUTE FUNCTION drill_refuse()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER drill_refuse BEFORE INSERT ON audit_entries "
                    "BEGIN SELECT RAISE(ABORT, 'drill: audit store refuses writes'); END"
                )
            )
    try:
        yield
    finally:
        with stores.data.engine.begin() as conn:
            if stores.data.is_postgresql:
                conn.execute(text("DROP TRIGGER drill_refuse ON audit_entries"))
                conn.execute(text("DROP FUNCTION drill_refuse()"))
            else:
                conn.execute(text("DROP TRIGGER drill_refuse"))


def _problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"] == f"urn:tessera:problem:{slug}"
    return body


def test_an_audit_store_that_refuses_writes_releases_nothing_then_recovers(
    live, fresh_stores: Stores
) -> None:
    client, auth, _ = live
    made = client.post(
        "/v1/tokens",
        json={"value": "jean@example.fr", "category": "email", "subject": "c1"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    read = {"tokens": [token], **READ}
    with audit_refuses_writes(fresh_stores):
        refused = client.post("/v1/tokens/detokenize", json=read, headers=auth)
        body = _problem(refused, 503, "audit-unavailable")
        assert "jean" not in refused.text and "drill" not in body["detail"]
        _problem(client.post("/v1/tokens/reveal-masked", json=read, headers=auth), 503,
                 "audit-unavailable")  # fmt: skip
    # The trigger is gone: the same app, not restarted, answers again.
    again = client.post("/v1/tokens/detokenize", json=read, headers=auth)
    assert again.status_code == 200 and again.json()[0]["value"] == "jean@example.fr"


def test_an_unreadable_keyring_is_a_503_and_its_return_is_picked_up(
    live, keyring: LocalKeyring
) -> None:
    client, auth, _ = live
    saved = keyring.path.read_bytes()
    keyring.path.write_text("{ not a keyring")  # the volume holding it went bad
    try:
        refused = client.post(
            "/v1/tokens",
            json={"value": "marie@example.fr", "category": "email", "subject": "c2"},
            headers=auth,
        )
        _problem(refused, 503, "key-provider-unavailable")
        assert "marie" not in refused.text
    finally:
        keyring.path.write_bytes(saved)
    made = client.post(
        "/v1/tokens",
        json={"value": "marie@example.fr", "category": "email", "subject": "c2"},
        headers=auth,
    )
    assert made.status_code == 201, made.text


def test_a_processor_that_answers_too_late_is_a_503_and_the_retry_charges_once(
    client: TestClient, issue, tenant: str, processor_url: str
) -> None:
    """The shared app's processor times out after 0.5 s; the simulator's slow card answers
    after 1.5 s, having made the charge. The retry finds it: one charge, not two."""
    from tessera.payments.simulator import SLOW
    from tests.payments.test_payments import charges
    from tests.trust.http.test_api_payments import FLOW, create_payment

    headers = issue(tenant, FLOW)
    created = create_payment(client, headers, 1250, f"slow-{tenant}")
    card = {"number": SLOW, "expiry": "12/34", "cvc": "123"}
    late = client.post(f"/v1/payments/{created['id']}/card", json=card, headers=headers)
    _problem(late, 503, "processor-unavailable")
    assert SLOW not in late.text
    retried = client.post(f"/v1/payments/{created['id']}/card", json=card, headers=headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "authorized"
    made = [c for c in charges(processor_url, "0259") if c["key"] == f"{created['id']}:authorize"]
    assert len(made) == 1 and made[0]["amount"] == 1250


@contextlib.contextmanager
def token_removed(conf: Path, label: str) -> Iterator[None]:
    """The token's directory is taken away (SoftHSM2's way of pulling a token), then put back."""
    tokens = Path(conf.read_text().split("=", 1)[1].split("\n", 1)[0].strip())
    (folder,) = [d for d in tokens.iterdir() if label.encode() in (d / "token.object").read_bytes()]
    away = tokens.parent / f"pulled-{label}"
    folder.rename(away)
    try:
        yield
    finally:
        away.rename(folder)


def test_a_removed_pkcs11_token_is_a_503_and_its_return_is_picked_up(
    fresh_stores: Stores, softhsm_conf: Path, softhsm: str, tmp_path: Path, tenant: str
) -> None:
    """Nothing that needs the token is answered without it: new data keys can't be wrapped and
    stored ones can't be unwrapped (the vault's short-lived key cache is emptied first, as its
    TTL would); nothing is stored meanwhile, and the token's return needs no restart."""
    from tessera.vault import Pkcs11KeyProvider
    from tests.conftest import HSM_MODULE, HSM_PIN

    hsm = Pkcs11KeyProvider(module=HSM_MODULE, token_label=softhsm, pin=HSM_PIN)
    services = Services.from_settings(
        settings_for(fresh_stores, tmp_path / "data"), key_provider=hsm
    )
    from tessera.consent import load_catalogue_file
    from tests.consent.conftest import EXAMPLE

    services.identity.create_tenant(tenant)
    services.catalogue.load(tenant, load_catalogue_file(EXAMPLE))
    key = services.identity.issue_key(tenant, scopes=list(Scope), kind="expert")
    auth = {"Authorization": f"Bearer {key.secret}"}
    new = {"value": "lucie@example.fr", "category": "email", "subject": "c3"}
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        made = client.post(
            "/v1/tokens",
            json={"value": "paul@example.fr", "category": "email", "subject": "c4"},
            headers=auth,
        )
        assert made.status_code == 201, made.text
        read = {"tokens": [made.json()["token"]], **READ}
        with token_removed(softhsm_conf, softhsm):
            services.vault.clear_cache()
            refused = client.post("/v1/tokens", json=new, headers=auth)
            body = _problem(refused, 503, "key-provider-unavailable")
            assert "lucie" not in refused.text and "246810" not in body["detail"]
            unread = client.post("/v1/tokens/detokenize", json=read, headers=auth)
            _problem(unread, 503, "key-provider-unavailable")
            assert "paul" not in unread.text
        with fresh_stores.data.engine.connect() as conn:
            kept = conn.execute(text("SELECT count(*) FROM vault_items")).scalar_one()
        assert kept == 1  # the refused value left no row
        again = client.post("/v1/tokens", json=new, headers=auth)
        assert again.status_code == 201, again.text
        answered = client.post("/v1/tokens/detokenize", json=read, headers=auth)
        assert answered.status_code == 200 and answered.json()[0]["value"] == "paul@example.fr"
    services.close()
    hsm.close()
