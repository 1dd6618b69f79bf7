"""`tessera serve --dev`: a server to try Tessera with, in one command and nothing exported.

A throw-away data directory, a keyring whose passphrase lives only in this process, the example
tenant with its purposes, an API key holding every scope and a DPO's console account (each
printed once), and a loud warning: nothing is kept. Vault's `server -dev` answers the same need.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

__all__ = ["DEV_TENANT", "dev_environment", "welcome"]

DEV_TENANT = "demo-bank"
EXAMPLE_CATALOGUE = Path(__file__).parent / "examples" / "purposes.toml"
# Settings that would point a throw-away server at real stores or keys: never read in dev mode.
_NOT_IN_DEV = (
    "TESSERA_DATABASE_URL",
    "TESSERA_KEYSTORE_URL",
    "TESSERA_DATABASE_SCHEMA",
    "TESSERA_KEYSTORE_SCHEMA",
    "TESSERA_KEYRING_PATH",
    "TESSERA_KEY_PROVIDER",
    "TESSERA_PKCS11_PIN",
    "TESSERA_REGION",
    "TESSERA_REGIONS",  # other regions' stores and key providers
    "TESSERA_TENANT_REGIONS",
)


@contextmanager
def dev_environment(host: str, port: int) -> Iterator[Path]:
    """This process's settings for a dev server (its workers inherit them), its data directory
    removed when the server stops."""
    workdir = Path(tempfile.mkdtemp(prefix="tessera-dev-"))
    saved = {k: v for k, v in os.environ.items() if k.startswith("TESSERA_")}
    for name in _NOT_IN_DEV:
        os.environ.pop(name, None)
    shown = "localhost" if host in ("127.0.0.1", "localhost") else host
    os.environ.update(
        {
            "TESSERA_DATA_DIR": str(workdir),
            # In memory only: the process's environment, gone with it (as is the data).
            "TESSERA_KEYRING_PASSPHRASE": secrets.token_urlsafe(32),
            "TESSERA_PUBLIC_URL": f"http://{shown}:{port}",
            "TESSERA_WEBAUTHN_ORIGINS": f'["http://{shown}:{port}"]',
            "TESSERA_WEBHOOK_POLL_SECONDS": saved.get("TESSERA_WEBHOOK_POLL_SECONDS", "0"),
        }
    )
    # uvicorn hands a SIGTERM back to the process once it has stopped: let it end this
    # context (and remove the data) rather than the process where it stands.
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield workdir
    finally:
        signal.signal(signal.SIGTERM, previous)
        for name in [k for k in os.environ if k.startswith("TESSERA_")]:
            del os.environ[name]
        os.environ.update(saved)
        shutil.rmtree(workdir, ignore_errors=True)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def welcome(console: Console, workdir: Path) -> None:
    """Make the keyring, the tenant, its purposes, a key and a DPO; say what they are, once."""
    from tessera.trust._services import Services, build_key_provider
    from tessera.trust._settings import Settings
    from tessera.trust.identity import Scope

    settings = Settings()
    build_key_provider(settings, create=True)
    services = Services.from_settings(settings)
    try:
        services.identity.create_tenant(DEV_TENANT, name="Demo Bank")
        from tessera.consent import parse_catalogue

        spec = parse_catalogue(tomllib.loads(EXAMPLE_CATALOGUE.read_text("utf-8")))
        purposes = services.catalogue.load(DEV_TENANT, spec)
        key = services.identity.issue_key(
            DEV_TENANT, scopes=list(Scope), name="dev: every scope", kind="dpo"
        )
        _, enrolment = services.staff.create(
            DEV_TENANT, "dpo", "dpo", name="Dev DPO", actor="serve --dev"
        )
    finally:
        services.close()
    base = settings.public_url
    console.rule("[bold red]DEVELOPMENT SERVER: NOTHING IS KEPT")
    console.print(
        f"[bold red]Data in {workdir} and the keyring's passphrase (in this process only) are "
        "destroyed when the server stops. Never put real customer data here.[/bold red]"
    )
    lines = [
        f"tenant {DEV_TENANT}, {len(purposes)} purposes",
        "API key (every scope, caller kind dpo), shown once:",
        f"  {key.secret}",
        f"API      {base}/v1",
        f"docs     {base}/docs  (reference: {base}/redoc)",
        f"portal   {base}/portal/{DEV_TENANT}/  (a customer's link: POST /v1/portal/links)",
        f"console  {base}/console/{DEV_TENANT}/  as dpo, with this authenticator app key:",
        f"  {enrolment.uri}",
        f'try      curl -H "Authorization: Bearer $KEY" {base}/v1/purposes',
    ]
    for line in lines:  # whole lines: an address or a key cut by the terminal is no use
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.rule()
