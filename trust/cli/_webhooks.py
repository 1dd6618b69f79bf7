"""`tessera webhooks`: endpoints, due deliveries, replays."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ._common import JsonOpt, TenantOpt, err, listing, open_services, operator, out

__all__ = ["webhooks_app"]

webhooks_app = typer.Typer(
    help="Webhooks: where payment status is sent; deliver what is due; replay failures.",
    no_args_is_help=True,
)


@webhooks_app.command("add")
def webhooks_add(
    tenant: TenantOpt,
    url: Annotated[str, typer.Argument(help="https://… (http only to this machine).")],
    event: Annotated[
        list[str] | None, typer.Option("--event", help="payment.authorized, payment.*, …")
    ] = None,
) -> None:
    """Register an endpoint; prints its signing secret, once."""
    endpoint = open_services(tenant).webhooks.add_endpoint(tenant, url, event, actor=operator())
    err.print(f"{endpoint.id} → {endpoint.url} ({', '.join(endpoint.events)}); signing secret:")
    print(endpoint.secret)


@webhooks_app.command("list")
def webhooks_list(tenant: TenantOpt, as_json: JsonOpt = False) -> None:
    """Endpoints, and their deliveries that are pending or failed."""
    services = open_services(tenant)
    endpoints = [
        {"endpoint": e.id, "url": e.url, "events": list(e.events)}
        for e in services.webhooks.endpoints(tenant)
    ]
    if as_json:
        waiting = [
            {
                "id": d.id,
                "type": d.type,
                "state": state,
                "attempts": d.attempts,
                "last_error": d.last_error,
            }
            for state in ("pending", "failed")
            for d in services.webhooks.deliveries(tenant, state=state)
        ]
        print(json.dumps({"endpoints": endpoints, "deliveries": waiting}, indent=2))
        return
    listing(endpoints, as_json=False, whole=("endpoint", "url"))
    for state in ("pending", "failed"):
        for d in services.webhooks.deliveries(tenant, state=state):
            out.print(f"{d.id} {d.type} {state} after {d.attempts} attempts: {d.last_error or ''}")


@webhooks_app.command("remove")
def webhooks_remove(
    tenant: TenantOpt, endpoint_id: Annotated[str, typer.Argument(help="whe_…")]
) -> None:
    open_services(tenant).webhooks.remove_endpoint(tenant, endpoint_id, actor=operator())
    out.print(f"{endpoint_id} removed")


@webhooks_app.command("deliver")
def webhooks_deliver(
    redeliver: Annotated[
        list[str] | None, typer.Option("--redeliver", help="Queue this delivery again first.")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Of --redeliver.")] = None,
) -> None:
    """Send every delivery that is due, once (the server does this every second)."""
    services = open_services(tenant)
    for delivery_id in redeliver or []:
        if tenant is None:
            raise typer.BadParameter("--redeliver needs --tenant")
        services.webhooks.redeliver(tenant, delivery_id)
    out.print(f"{services.webhooks.deliver_due()} deliveries made")
