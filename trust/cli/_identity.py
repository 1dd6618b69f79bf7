"""`tessera tenants` and `tessera apikeys`: who may call, for which tenant."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from ._common import JsonOpt, err, every_region, listing, open_services, operator, out

__all__ = ["apikeys_app", "tenants_app"]

# Said here in words (`--help` loads no package); a test holds them to `Scope` and `CallerKind`.
SCOPES = (
    "tokens:write, tokens:reveal_masked, tokens:detokenize, tokens:search, subjects:erase, "
    "access, audit:read, consent:write, consent:read, purposes:write, dsr:manage, auth, "
    "auth:manage, auth:assert, payments, payments:card, webhooks, redact"
)
CALLER_KINDS = "service, agent, expert, bot, analytics, payments, dpo, customer, analyst, auditor"

tenants_app = typer.Typer(help="Tenants.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys of calling services.", no_args_is_help=True)


@tenants_app.command("create")
def tenants_create(
    tenant_id: Annotated[str, typer.Argument(help="Short id: a-z, 0-9, '-', '_'.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a tenant."""
    tenant = open_services(tenant_id).identity.create_tenant(tenant_id, name=name, actor=operator())
    out.print(f"tenant {tenant.id} created")


@tenants_app.command("list")
def tenants_list(as_json: JsonOpt = False) -> None:
    """List tenants."""
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "region": region,
            "created": t.created_at.isoformat(timespec="seconds"),
        }
        for region, services in every_region()
        for t in services.identity.list_tenants()
    ]
    listing(rows, as_json=as_json)


@apikeys_app.command("create")
def apikeys_create(
    tenant_id: Annotated[str, typer.Argument(help="The tenant the key acts for.")],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            "-s",
            help=f"Repeat for each scope: {SCOPES}.",
        ),
    ],
    name: Annotated[str, typer.Option(help="What calls with this key.")] = "",
    valid_days: Annotated[
        int | None, typer.Option(min=1, help="Expire the key after this many days.")
    ] = None,
    kind: Annotated[
        str,
        typer.Option(help=f"What the caller is, for policies: {CALLER_KINDS}."),
    ] = "service",
    role: Annotated[list[str] | None, typer.Option("--role", help="Extra policy roles.")] = None,
) -> None:
    """Issue an API key. Its secret is printed once and cannot be shown again."""
    valid_for = dt.timedelta(days=valid_days) if valid_days else None
    issued = open_services(tenant_id).identity.issue_key(
        tenant_id,
        scopes=scope,
        name=name,
        valid_for=valid_for,
        kind=kind,
        roles=role or [],
        actor=operator(),
    )
    err.print(
        f"API key {issued.key_id} for tenant {issued.tenant} "
        f"(scopes: {', '.join(sorted(issued.scopes))}); the secret is shown only now:"
    )
    print(issued.secret)


@apikeys_app.command("list")
def apikeys_list(tenant_id: Annotated[str, typer.Argument()], as_json: JsonOpt = False) -> None:
    """List a tenant's API keys (never their secrets)."""

    def when(moment: dt.datetime | None) -> str | None:
        return moment.isoformat(timespec="seconds") if moment else None

    rows = [
        {
            "id": key.id,
            "name": key.name,
            "scopes": key.scopes,
            "created": when(key.created_at),
            "expires": when(key.expires_at),
            "revoked": when(key.revoked_at),
        }
        for key in open_services(tenant_id).identity.list_keys(tenant_id)
    ]
    listing(rows, as_json=as_json)


@apikeys_app.command("revoke")
def apikeys_revoke(key_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke an API key at once."""
    from tessera.vault import InvalidValue

    regions = every_region()
    for i, (_, services) in enumerate(regions):  # a key is kept in its tenant's region
        try:
            services.identity.revoke_key(key_id, actor=operator())
        except InvalidValue:
            if i == len(regions) - 1:
                raise
            continue
        out.print(f"API key {key_id} revoked")
        return
