"""`tessera staff`: the people who sign in at the DPO console, and their roles."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import JsonOpt, err, listing, open_services, operator, out

__all__ = ["staff_app"]

staff_app = typer.Typer(
    help="Staff of the DPO console (dpo, analyst, auditor).", no_args_is_help=True
)


@staff_app.command("create")
def staff_create(
    login: Annotated[str, typer.Argument(help="What they sign in with: a-z, 0-9, '.', '_', '-'.")],
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant they work for.")],
    role: Annotated[
        str,
        typer.Option(
            help="dpo (acts on requests, exports), analyst (searches, no clear values), "
            "auditor (verifies the logs, reads the record of processing)."
        ),
    ],
    name: Annotated[str, typer.Option(help="Their name, as the console shows it.")] = "",
) -> None:
    """Create a member of staff with an authenticator app (TOTP). Its secret is printed once:
    hand it over in person; they add a passkey once signed in."""
    member, enrolment = open_services(tenant).staff.create(
        tenant, login, role, name=name, actor=operator()
    )
    err.print(
        f"staff {member.id} ({member.login}, {member.role.value}) for tenant {tenant}; "
        "add this to their authenticator app, shown only now:"
    )
    print(enrolment.uri)


@staff_app.command("list")
def staff_list(tenant: Annotated[str, typer.Option("--tenant")], as_json: JsonOpt = False) -> None:
    """The tenant's staff and their roles."""
    rows = [
        {
            "id": member.id,
            "login": member.login,
            "name": member.name,
            "role": member.role.value,
            "active": member.active,
            "created": member.created_at.isoformat(timespec="seconds"),
        }
        for member in open_services(tenant).staff.list(tenant)
    ]
    listing(rows, as_json=as_json, whole=("id", "login"))


@staff_app.command("disable")
def staff_disable(
    staff_id: Annotated[str, typer.Argument(help="stf_… (see `tessera staff list`).")],
    tenant: Annotated[str, typer.Option("--tenant")],
) -> None:
    """Stop a member of staff from signing in; their past acts stay in the trail."""
    member = open_services(tenant).staff.disable(tenant, staff_id, actor=operator())
    out.print(f"staff {member.id} ({member.login}) disabled")
