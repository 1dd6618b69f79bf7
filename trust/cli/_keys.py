"""`tessera db` and `tessera keys`: the schema of both stores, and the key-encryption keys."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ._common import JsonOpt, every_region, listing, open_services, operator, out, progress

__all__ = ["db_app", "keys_app"]

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Key-encryption keys and data keys.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply schema migrations to the data store and the key store."""
    from tessera.storage import Store, current_revision, migrate
    from tessera.trust._services import open_stores
    from tessera.trust._settings import Settings

    home = Settings()
    for name in home.region_names:
        settings = home.for_region(name)
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        data, keys = open_stores(settings)
        try:
            migrate(data, Store.DATA)
            migrate(keys, Store.KEYS)
            where = f"region {name}: " if home.regions else ""
            out.print(
                f"{where}data store at {current_revision(data)}, "
                f"key store at {current_revision(keys)}"
            )
        finally:
            data.dispose()
            keys.dispose()


@db_app.command("status")
def db_status(as_json: JsonOpt = False) -> None:
    """Show each store's schema revision against the newest one."""
    from tessera.storage import Store, current_revision, head_revision
    from tessera.trust._services import open_stores
    from tessera.trust._settings import Settings

    settings = Settings()
    stores = open_stores(settings)
    try:
        rows = [
            {
                "store": store.value,
                "where": db.describe(),
                "revision": current_revision(db),
                "head": head_revision(store),
            }
            for db, store in zip(stores, (Store.DATA, Store.KEYS), strict=True)
        ]
    finally:
        for db in stores:
            db.dispose()
    if as_json:
        listing(rows, as_json=True)
        return
    for r in rows:
        out.print(f"{r['store']}: {r['where']} at {r['revision']} (head {r['head']})")


@keys_app.command("init")
def keys_init() -> None:
    """Create the keyring (or first PKCS#11 key) if there is none; each region's its own."""
    from tessera.trust._services import build_key_provider
    from tessera.trust._settings import Settings

    home = Settings()
    for name in home.region_names:
        settings = home.for_region(name)
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        provider = build_key_provider(settings, create=True)
        where = f"region {name}: " if home.regions else ""
        out.print(
            f"{where}{provider.name}: current key-encryption key version "
            f"{provider.current_version()}"
        )


@keys_app.command("status")
def keys_status(as_json: JsonOpt = False) -> None:
    """KEK versions and how many data keys still wait for a rewrap."""
    from tessera.vault import key_status

    services = open_services()
    status = key_status(services.keys, services.key_provider)
    if as_json:
        shown = {
            "provider": status.provider,
            "current_version": status.current_version,
            "versions": list(status.versions),
            "data_keys": status.data_keys,
            "pending_rewrap": status.pending_rewrap,
        }
        print(json.dumps(shown, default=str, indent=2))
        return
    out.print(
        f"provider {status.provider}, current version {status.current_version}, "
        f"versions {status.versions}, data keys {status.data_keys}, "
        f"pending rewrap {status.pending_rewrap}"
    )


@keys_app.command("rotate")
def keys_rotate(
    batch_size: Annotated[int, typer.Option(min=1, help="Data keys per transaction.")] = 500,
    pause: Annotated[float, typer.Option(min=0.0, help="Seconds between batches.")] = 0.0,
) -> None:
    """Add a KEK version and rewrap every data key under it (in each region, under its own
    key provider). Resumes an unfinished rotation."""
    regions = every_region()
    for name, services in regions:
        with progress("rewrapped", "rewrapping data keys") as on_progress:
            report = services.rotate_keys(
                actor=operator(), batch_size=batch_size, pause=pause, on_progress=on_progress
            )
        verb = "resumed and finished" if report.resumed else "finished"
        where = f"region {name}: " if len(regions) > 1 else ""
        out.print(
            f"{where}rotation to KEK version {report.target_version} {verb}: "
            f"{report.rewrapped} data keys rewrapped, {report.total} in all"
        )


@keys_app.command("erasures")
def keys_erasures(
    vouch_unsealed: Annotated[
        bool,
        typer.Option(
            "--vouch-unsealed",
            help="Seal the journal rows written before revision 0012 (once, after upgrading).",
        ),
    ] = False,
) -> None:
    """The erasure journal: rows sealed by the service, rows from before sealing, forged rows.

    Only sealed rows are applied at start against a restored key store; forged ones destroy
    nothing and are recorded as a security event at every start until removed.
    """
    services = open_services()
    if vouch_unsealed:
        vouched, refused = services.vouch_for_erasures(actor=operator())
        out.print(f"vouched for {sum(vouched.values())} unsealed rows")
        if refused:
            out.print(
                f"refused {sum(refused.values())} rows that would destroy a live key "
                "(not the service's: look into them)"
            )
    status = services.vault.journal.status()
    tenants = sorted(set(status.sealed) | set(status.unsealed) | set(status.forged))
    if not tenants:
        out.print("the erasure journal is empty")
    for tenant in tenants:
        out.print(
            f"{tenant}: {status.sealed.get(tenant, 0)} sealed, "
            f"{status.unsealed.get(tenant, 0)} unsealed, {status.forged.get(tenant, 0)} forged"
        )
