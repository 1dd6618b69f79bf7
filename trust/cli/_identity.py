"""`tessera tenants` and `tessera apikeys`: who may call, for which tenant."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from ._common import err, open_services, operator, out

__all__ = ["apikeys_app", "tenants_app"]

tenants_app = typer.Typer(help="Tenants.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys of calling services.", no_args_is_help=True)


@tenants_app.command("create")
def tenants_create(
    tenant_id: Annotated[str, typer.Argument(help="Short id: a-z, 0-9, '-', '_'.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a tenant."""
    tenant = open_services().identity.create_tenant(tenant_id, name=name, actor=operator())
    out.print(f"tenant {tenant.id} created")


@tenants_app.command("list")
def tenants_list() -> None:
    """List tenants."""
    table = Table("id", "name", "created")
    for tenant in open_services().identity.list_tenants():
        table.add_row(tenant.id, tenant.name, tenant.created_at.isoformat(timespec="seconds"))
    out.print(table)


@apikeys_app.command("create")
def apikeys_create(
    tenant_id: Annotated[str, typer.Argument(help="The tenant the key acts for.")],
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="Repeat for each scope.")],
    name: Annotated[str, typer.Option(help="What calls with this key.")] = "",
    valid_days: Annotated[
        int | None, typer.Option(min=1, help="Expire the key after this many days.")
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            help="What the caller is, for policies: service, agent, expert, bot, "
            "analytics, payments, dpo, customer."
        ),
    ] = "service",
    role: Annotated[list[str] | None, typer.Option("--role", help="Extra policy roles.")] = None,
) -> None:
    """Issue an API key. Its secret is printed once and cannot be shown again."""
    valid_for = dt.timedelta(days=valid_days) if valid_days else None
    issued = open_services().identity.issue_key(
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
def apikeys_list(tenant_id: Annotated[str, typer.Argument()]) -> None:
    """List a tenant's API keys (never their secrets)."""

    def when(moment: dt.datetime | None) -> str:
        return moment.isoformat(timespec="seconds") if moment else ""

    table = Table("id", "name", "scopes", "created", "expires", "revoked")
    for key in open_services().identity.list_keys(tenant_id):
        table.add_row(
            key.id,
            key.name,
            key.scopes,
            when(key.created_at),
            when(key.expires_at),
            when(key.revoked_at),
        )
    out.print(table)


@apikeys_app.command("revoke")
def apikeys_revoke(key_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke an API key at once."""
    open_services().identity.revoke_key(key_id, actor=operator())
    out.print(f"API key {key_id} revoked")
