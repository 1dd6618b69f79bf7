"""`tessera payments`: what an agent sees of a payment, links, cards on file."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ._common import JsonOpt, TenantOpt, err, every_region, open_services, out

__all__ = ["payments_app"]

payments_app = typer.Typer(
    help=(
        "Payments in the conversation: show one, expire the overdue, reconcile with the "
        "processor after a crash, run a test processor."
    ),
    no_args_is_help=True,
)


@payments_app.command("show")
def payments_show(
    tenant: TenantOpt,
    payment_id: Annotated[str, typer.Argument(help="A payment id (pay_…).")],
    as_json: JsonOpt = False,
) -> None:
    """A payment's state, masked card and SCA decision with its article: what an agent sees."""
    p = open_services(tenant).payments.get(tenant, payment_id)
    if as_json:
        shown = {
            "id": p.id,
            "state": str(p.state),
            "amount": p.amount.amount,
            "currency": p.amount.currency,
            "payee": p.payee,
            "channel": p.channel,
            "card": p.card,
            "captured": p.captured,
            "refunded": p.refunded,
            "sca": None
            if p.sca is None
            else {"exemption": p.sca.exemption, "article": p.sca.article, "reason": p.sca.reason},
            "authenticated": p.authenticated,
        }
        print(json.dumps(shown, default=str, indent=2))
        return
    out.print(f"{p.id}: [bold]{p.state}[/bold], {p.amount} to {p.payee} ({p.channel})")
    out.print(f"card: {p.card or '—'}; captured {p.captured}, refunded {p.refunded} (minor units)")
    if p.sca is not None:
        how = p.sca.exemption or ("authenticated" if p.authenticated else "SCA required")
        out.print(f"SCA: {how}; {p.sca.article}: {p.sca.reason}")


@payments_app.command("link")
def payments_link(
    tenant: TenantOpt,
    payment_id: Annotated[str, typer.Argument(help="A payment id (pay_…).")],
) -> None:
    """A signed single-use link to the card page, to paste into a conversation."""
    services = open_services(tenant)
    link = services.payments.issue_link(tenant, payment_id)
    print(f"{services.settings.public_url.rstrip('/')}/pay/{link.token}")
    err.print(f"expires {link.expires_at.isoformat(timespec='seconds')}; a new link replaces it")


@payments_app.command("cards")
def payments_cards(
    tenant: TenantOpt,
    subject: Annotated[str, typer.Argument(help="The customer's subject id.")],
    remove: Annotated[
        str | None, typer.Option(help="Remove this card on file (card_…), as the customer asked.")
    ] = None,
) -> None:
    """A customer's cards on file, masked (kept only while their consent for card_on_file
    stands); `--remove` takes one away."""
    cards = open_services(tenant).payments.cards
    if remove is not None:
        cards.remove(tenant, subject, remove)
        out.print(f"removed {remove}")
        return
    kept = cards.cards(tenant, subject)
    if not kept:
        out.print("no cards on file (none kept, or no consent for card_on_file)")
        return
    table = Table("id", "card", "expiry", "kept", "last used")
    for c in kept:
        used = c.last_used_at.isoformat(timespec="seconds") if c.last_used_at else "—"
        table.add_row(c.id, c.card, c.expiry, c.created_at.isoformat(timespec="seconds"), used)
    out.print(table)


@payments_app.command("expire")
def payments_expire() -> None:
    """End payments past their expiry and wipe any security code held for them."""
    expired = sum(services.payments.expire_due() for _, services in every_region())
    out.print(f"{expired} payments expired")


@payments_app.command("reconcile")
def payments_reconcile() -> None:
    """After a crash: payments the processor captured whose answer was lost become captured
    here too (each recorded); the others are left as they are."""
    done = sum(services.payments.reconcile() for _, services in every_region())
    out.print(f"{done} payments reconciled with the processor")


@payments_app.command("simulator")
def payments_simulator(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8701,
) -> None:
    """Run the simulated card processor (tests and demo; never a real one)."""
    import uvicorn

    from tessera.payments.simulator import create_simulator

    uvicorn.run(create_simulator(), host="127.0.0.1", port=port, log_level="warning")
