"""Tenants pinned to a region: two pairs of stores stand for two regions (two PostgreSQL schemas
each on PostgreSQL). A pinned tenant is created only in its region, its tokens, consents, audit
entries, payments and data keys land only in that region's stores, its requests are served from
them whichever region's server they reach, and its creation records the region."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tessera.consent import load_catalogue_file
from tessera.storage import Database
from tessera.trust import Scope, Services, create_app
from tessera.trust._services import Regions
from tessera.trust._settings import RegionStores
from tessera.vault import InvalidValue
from tests.cli import run
from tests.conftest import StoreFactory, Stores
from tests.consent.conftest import EXAMPLE
from tests.trust.conftest import settings_for

EU, HOME = "acme-eu", "acme-home"


@pytest.fixture
def two_regions(
    store_factory: StoreFactory, tmp_path: Path, processor_url: str
) -> Iterator[tuple[Regions, Stores, Stores]]:
    home, eu = store_factory.make(), store_factory.make()
    regions = {
        "eu": RegionStores(
            database_url=eu.env["TESSERA_DATABASE_URL"],
            database_schema=eu.env.get("TESSERA_DATABASE_SCHEMA"),
            keystore_url=eu.env["TESSERA_KEYSTORE_URL"],
            keystore_schema=eu.env.get("TESSERA_KEYSTORE_SCHEMA"),
        )
    }
    settings = settings_for(
        home,
        tmp_path / "data",
        regions=regions,
        tenant_regions={EU: "eu"},
        processor_url=processor_url,
        warm_redaction=False,
    )
    services = Services.from_settings(settings)
    routed = Regions.around(services, create_keys=True)
    for tenant in (HOME, EU):
        here = routed.for_tenant(tenant)
        here.identity.create_tenant(tenant)
        here.catalogue.load(tenant, load_catalogue_file(EXAMPLE))
    yield routed, home, eu
    routed.close()
    services.close()
    home.dispose()
    eu.dispose()


def _tenants_in(db: Database) -> set[str]:
    """Every tenant id any table of a store holds a row for."""
    found: set[str] = set()
    with db.read() as conn:
        inspector = sa.inspect(conn)
        for table in inspector.get_table_names():
            columns = {c["name"] for c in inspector.get_columns(table)}
            for column in ("tenant_id", "tenant"):
                if column in columns:
                    rows = conn.execute(sa.text(f'SELECT DISTINCT "{column}" FROM "{table}"'))
                    found |= {str(r[0]) for r in rows}
    return found


def _key(regions: Regions, tenant: str, scopes: list[Scope], kind: str = "expert") -> dict:
    issued = regions.for_tenant(tenant).identity.issue_key(tenant, scopes=scopes, kind=kind)
    return {"Authorization": f"Bearer {issued.secret}"}


def test_a_pinned_tenant_is_created_only_in_its_region_and_that_is_recorded(two_regions) -> None:
    regions, _, _ = two_regions
    with pytest.raises(InvalidValue, match="pinned to region 'eu'"):
        regions.home.identity.create_tenant("acme-eu")
    (created,) = [
        e
        for e in regions.for_tenant(EU).audit.security_events(EU)
        if e["event"] == "tenant_created"
    ]
    assert created["region"] == "eu"
    (home_created,) = [
        e for e in regions.home.audit.security_events(HOME) if e["event"] == "tenant_created"
    ]
    assert home_created["region"] == "default"


def test_each_tenants_data_and_keys_land_only_in_its_regions_stores(two_regions) -> None:
    regions, home, eu = two_regions
    app = create_app(regions.home, regions)
    scopes = [Scope.TOKENIZE, Scope.ACCESS, Scope.CONSENT_WRITE, Scope.PAYMENTS, Scope.AUDIT]
    with TestClient(app) as client:
        for tenant in (HOME, EU):
            headers = _key(regions, tenant, scopes)
            made = client.post(
                "/v1/tokens",
                json={"value": f"ann@{tenant}.example", "category": "email", "subject": "c1"},
                headers=headers,
            )
            assert made.status_code == 201, made.text
            consent = client.post(
                "/v1/consents",
                json={
                    "subject": "c1",
                    "purpose": "marketing_sms",
                    "kind": "given",
                    "channel": "voice_ivr",
                    "evidence": {"recording_ref": "rec-1"},
                },
                headers=headers,
            )
            assert consent.status_code == 201, consent.text
            read = client.post(
                "/v1/access",
                json={
                    "action": "read_masked",
                    "purpose": "customer_service",
                    "channel": "chat",
                    "tokens": [made.json()["token"]],
                },
                headers=headers,
            )
            assert read.status_code == 200, read.text
            assert read.json()["items"][0]["value"].endswith(f"@{tenant}.example")
            paid = client.post(
                "/v1/payments",
                json={
                    "subject": "c1",
                    "amount": 1_000,
                    "currency": "EUR",
                    "payee": "Shop",
                    "reference": "r-1",
                    "channel": "chat",
                },
                headers={**headers, "Idempotency-Key": f"pay-{tenant}"},
            )
            assert paid.status_code == 201, paid.text
            # The customer has only the link: its page is found in the payment's region.
            link = client.post(f"/v1/payments/{paid.json()['id']}/link", headers=headers)
            assert link.status_code == 201, link.text
            page = client.get("/pay/" + link.json()["url"].rsplit("/pay/", 1)[1])
            assert page.status_code == 200 and "10,00" in page.text.replace(".", ","), page.text
            # Its security events are read from its region: its creation, with the region.
            events = client.get("/v1/audit/events", headers=headers)
            assert events.status_code == 200, events.text
            created = [e for e in events.json()["data"] if e["event"] == "tenant_created"]
            assert [e["region"] for e in created] == ["eu" if tenant == EU else "default"]
        ready = client.get("/readyz").json()
        assert set(ready["checks"]) == {"default", "eu"}
    assert EU in _tenants_in(eu.data) and EU in _tenants_in(eu.keys)
    assert HOME in _tenants_in(home.data) and HOME in _tenants_in(home.keys)
    assert EU not in _tenants_in(home.data) | _tenants_in(home.keys)
    assert HOME not in _tenants_in(eu.data) | _tenants_in(eu.keys)


def test_a_key_of_no_region_is_refused_once(two_regions) -> None:
    regions, _, _ = two_regions
    with TestClient(create_app(regions.home, regions)) as client:
        r = client.get("/v1/audit/events", headers={"Authorization": "Bearer tsk_nope"})
        assert r.status_code == 401


def test_unknown_regions_are_refused_at_start(tmp_path: Path, fresh_stores: Stores) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="pinned to an unknown region 'us'"):
        settings_for(fresh_stores, tmp_path, tenant_regions={EU: "us"})
    with pytest.raises(ValidationError, match="lower case"):
        settings_for(fresh_stores, tmp_path, regions={"EU West": RegionStores()})


def test_the_cli_routes_a_pinned_tenant_to_its_region(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    from tests.cli import cli_env
    from tests.conftest import PASSPHRASE

    home, eu = store_factory.make(migrated=False), store_factory.make(migrated=False)
    env = cli_env(home.env, tmp_path / "data", tmp_path / "keyring.json", PASSPHRASE)
    env["TESSERA_REGIONS"] = json.dumps(
        {
            "eu": {
                "database_url": eu.env["TESSERA_DATABASE_URL"],
                "database_schema": eu.env.get("TESSERA_DATABASE_SCHEMA"),
                "keystore_url": eu.env["TESSERA_KEYSTORE_URL"],
                "keystore_schema": eu.env.get("TESSERA_KEYSTORE_SCHEMA"),
            }
        }
    )
    env["TESSERA_TENANT_REGIONS"] = json.dumps({EU: "eu"})
    initialized = run(["keys", "init"], env).stdout
    assert "region default:" in initialized and "region eu:" in initialized
    run(["tenants", "create", EU], env)
    run(["tenants", "create", HOME], env)
    listed = json.loads(run(["tenants", "list", "--json"], env).stdout)
    assert {(t["id"], t["region"]) for t in listed} == {(EU, "eu"), (HOME, "default")}
    assert EU in _tenants_in(eu.data) and EU not in _tenants_in(home.data)
    # A key is issued in its tenant's region, and revoked there by id alone.
    secret = run(["apikeys", "create", EU, "-s", "audit:read"], env).stdout.strip()
    key_id = secret.split("_")[1]
    run(["apikeys", "revoke", key_id], env)
    listed_keys = json.loads(run(["apikeys", "list", EU, "--json"], env).stdout)
    assert [k["revoked"] is not None for k in listed_keys if k["id"] == key_id] == [True]
    home.dispose()
    eu.dispose()


def test_a_key_found_outside_its_tenants_region_is_refused(two_regions) -> None:
    """A key issued before its tenant was pinned elsewhere (or a row written into another
    region's store) opens nothing: its tenant's data must not be written outside its region."""
    regions, _, _ = two_regions
    regions.home.identity.create_tenant("acme-moved")
    headers = _key(regions, "acme-moved", [Scope.AUDIT])
    with TestClient(create_app(regions.home, regions)) as client:
        assert client.get("/v1/audit/events", headers=headers).status_code == 200
        regions.home.settings.tenant_regions["acme-moved"] = "eu"  # pinned to eu since
        try:
            refused = client.get("/v1/audit/events", headers=headers)
        finally:
            del regions.home.settings.tenant_regions["acme-moved"]
        assert refused.status_code == 401
