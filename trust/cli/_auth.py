"""`tessera auth`: risk decisions explained, numbers bound, thresholds, retention."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ._common import JsonOpt, TenantOpt, listing, open_services, out

__all__ = ["auth_app"]

auth_app = typer.Typer(
    help="Invisible strong authentication: explain decisions, bind numbers, purge.",
    no_args_is_help=True,
)


@auth_app.command("explain")
def auth_explain(
    tenant: TenantOpt,
    decision_id: Annotated[str, typer.Argument(help="A decision id (dec_…) from /v1/auth/assess.")],
) -> None:
    """Why a sign-in or action was allowed, stepped up or denied: per signal, in words."""
    d = open_services().authenticator.decision(tenant, decision_id)
    out.print(
        f"{d.id}: [bold]{d.decision}[/bold] ({d.status}) for {d.action} on {d.channel}, "
        f"subject {d.subject}, {d.created_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    out.print(f"score {d.score:.2f}: {d.explanation}")
    table = Table("signal", "weight", "effect")
    for signal, weight in sorted(d.contributions.items(), key=lambda kv: -kv[1]):
        effect = "raised the risk" if weight > 0 else "lowered it" if weight < 0 else "neutral"
        table.add_row(signal, f"{weight:+.2f}", effect)
    out.print(table)


@auth_app.command("bind")
def auth_bind(
    tenant: TenantOpt,
    subject: Annotated[str, typer.Option(help="The customer.")],
    caller_number: Annotated[
        str | None, typer.Option(help="Their registered phone number (voice).")
    ] = None,
    sender_id: Annotated[
        str | None, typer.Option(help="Their messaging account (WhatsApp, RCS…).")
    ] = None,
) -> None:
    """Register a customer's caller number or messaging sender (stored as keyed hashes)."""
    auth = open_services().authenticator
    if caller_number is None and sender_id is None:
        raise typer.BadParameter("give --caller-number or --sender-id")
    if caller_number is not None:
        out.print(
            f"bound caller number: {auth.bind_caller(tenant, subject, 'caller', caller_number).id}"
        )
    if sender_id is not None:
        out.print(f"bound sender: {auth.bind_caller(tenant, subject, 'sender', sender_id).id}")


@auth_app.command("thresholds")
def auth_thresholds(tenant: TenantOpt, as_json: JsonOpt = False) -> None:
    """The risk scores at which this tenant's sign-ins and actions step up or are denied."""
    limits = open_services().authenticator.settings.thresholds_for(tenant)
    rows = [
        {"action": action.value, "step up at": t.step_up, "deny at": t.deny}
        for action, t in limits.items()
    ]
    listing(rows, as_json=as_json, whole=("action",))


@auth_app.command("purge")
def auth_purge() -> None:
    """Drop risk decisions past the retention period (TESSERA_AUTH_RETENTION_DAYS)."""
    out.print(f"{open_services().authenticator.purge()} decisions past retention removed")
