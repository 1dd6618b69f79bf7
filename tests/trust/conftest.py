from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tessera.trust import Scope, Services, Settings, create_app
from tessera.vault import LocalKeyring
from tests.conftest import PASSPHRASE, Stores


def settings_for(stores: Stores, data_dir: Path, **overrides: object) -> Settings:
    env = stores.env
    given: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": env["TESSERA_DATABASE_URL"],
        "database_schema": env.get("TESSERA_DATABASE_SCHEMA"),
        "keystore_url": env["TESSERA_KEYSTORE_URL"],
        "keystore_schema": env.get("TESSERA_KEYSTORE_SCHEMA"),
        "keyring_passphrase": SecretStr(PASSPHRASE),
    }
    return Settings(**{**given, **overrides})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def services(
    shared_stores: Stores,
    shared_keyring: LocalKeyring,
    tmp_path_factory: pytest.TempPathFactory,
    processor_url: str,
) -> Iterator[Services]:
    settings = settings_for(
        shared_stores,
        tmp_path_factory.mktemp("data"),
        max_body_bytes=256 * 1024,
        processor_url=processor_url,
        processor_timeout_seconds=0.5,
    )
    built = Services.from_settings(settings, key_provider=shared_keyring)
    yield built


@pytest.fixture(scope="session")
def app(services: Services):
    return create_app(services)


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def _issue(
    services: Services, tenant: str, scopes: list[Scope], kind: str = "expert"
) -> dict[str, str]:
    """A key of `kind` in `tenant` (created, with the example purposes, on first use)."""
    from tessera.consent import load_catalogue_file
    from tessera.trust import UnknownTenant
    from tests.consent.conftest import EXAMPLE

    try:
        services.identity.get_tenant(tenant)
    except UnknownTenant:
        services.identity.create_tenant(tenant)
        services.catalogue.load(tenant, load_catalogue_file(EXAMPLE))
    issued = services.identity.issue_key(tenant, scopes=scopes, name="tests", kind=kind)
    return {"Authorization": f"Bearer {issued.secret}"}


@pytest.fixture
def auth(services: Services, tenant: str) -> dict[str, str]:
    """Headers of a key holding every scope in a new tenant."""
    return _issue(services, tenant, list(Scope))


@pytest.fixture
def other_auth(services: Services, other_tenant: str) -> dict[str, str]:
    return _issue(services, other_tenant, list(Scope))


@pytest.fixture
def issue(services: Services):
    return lambda tenant, scopes, kind="expert": _issue(services, tenant, scopes, kind)


CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser). One per
    module: Playwright's sync API keeps an event loop running in the main thread while it is
    open, and a later test that runs its own loop (`asyncio.run`) must not find it there."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: scripts/install installs it")
        pytest.skip("chromium is not installed (scripts/install installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TESSERA_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
