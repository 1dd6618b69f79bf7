"""`tessera consent` and `tessera dsr`: purposes, the ledger, receipts, requests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonOpt, TenantOpt, listing, open_services, out, progress

__all__ = ["consent_app", "dsr_app"]

consent_app = typer.Typer(help="Purposes, the consent ledger and receipts.", no_args_is_help=True)
dsr_app = typer.Typer(help="Data-subject requests.", no_args_is_help=True)


@consent_app.command("load")
def consent_load(
    catalogue: Annotated[Path, typer.Argument(help="TOML: [controller] and [[purpose]] tables.")],
    tenant: TenantOpt,
) -> None:
    """Load or update a tenant's purpose catalogue; changed notices get new versions."""
    from tessera.consent import load_catalogue_file

    spec = load_catalogue_file(catalogue)
    services = open_services(tenant)
    services.identity.get_tenant(tenant)
    for purpose in services.catalogue.load(tenant, spec):
        out.print(
            f"{purpose.id}: {purpose.legal_basis.value}, notice v{purpose.notice_version}"
            f" (material v{purpose.material_version})"
        )


@consent_app.command("verify")
def consent_verify(
    tenant: TenantOpt,
    deep: Annotated[bool, typer.Option(help="Also check indexed columns against content.")] = False,
    trusted_head: Annotated[
        Path | None,
        typer.Option(
            help="A head you kept (`tessera consent head --output`): the ledger must extend it."
        ),
    ] = None,
) -> None:
    """Verify the tenant's hash chain and seals; names the first event that fails."""
    from tessera.consent import InvalidReceipt, verify_head

    services = open_services(tenant)
    trusted = None
    if trusted_head is not None:
        try:
            signed = trusted_head.read_text("utf-8").strip()
        except OSError as exc:
            raise InvalidReceipt(f"cannot read the head: {type(exc).__name__}") from None
        kept = verify_head(signed, services.receipts.public_jwk(tenant))
        if kept.get("tenant") != tenant:
            raise InvalidReceipt("the head you kept belongs to another tenant")
        trusted = (int(kept["seq"]), str(kept["hash"]))
    with progress("verified", "verifying the consent ledger") as on_progress:
        report = services.consents.verify(
            tenant, deep=deep, on_progress=on_progress, trusted=trusted
        )
    extends = f"; it extends your head of {trusted[0]}" if trusted else ""
    out.print(f"ledger intact: {report.events} events, head {report.head}{extends}")


@consent_app.command("head")
def consent_head(
    tenant: TenantOpt,
    output: Annotated[Path | None, typer.Option(help="Keep it in this file.")] = None,
) -> None:
    """Sign the ledger's head (size and last hash), to keep and verify a later ledger against."""
    services = open_services(tenant)
    seq, head = services.consents.head(tenant)
    signed = services.receipts.sign_head(tenant, seq, head)
    if output is not None:
        output.write_text(signed + "\n", encoding="utf-8")
        out.print(f"head of {seq} events signed into {output}")
    else:
        print(signed)


@consent_app.command("rebuild")
def consent_rebuild(tenant: TenantOpt) -> None:
    """Recompute the current-state projection from the ledger alone."""
    count = open_services(tenant).consents.rebuild(tenant)
    out.print(f"projection rebuilt from {count} events")


@consent_app.command("export")
def consent_export(
    tenant: TenantOpt,
    output: Annotated[Path, typer.Option(help="JSON lines: one event with its receipt a line.")],
) -> None:
    """Export the tenant's whole ledger for a DPO, each event with its signed receipt."""
    import json

    services = open_services(tenant)
    total = services.consents.count(tenant)
    with (
        output.open("w", encoding="utf-8") as fh,
        progress("exported", "exporting the consent ledger") as on_progress,
    ):
        on_progress(0, total)
        for done, event in enumerate(services.consents.events(tenant), start=1):
            fh.write(
                json.dumps(
                    {
                        **event.body(),
                        "prev_hash": event.prev_hash,
                        "hash": event.hash,
                        "receipt": services.receipts.issue(tenant, event),
                    }
                )
                + "\n"
            )
            if done % 1000 == 0 or done == total:
                on_progress(done, total)
    out.print(f"{total} events exported to {output}")


@consent_app.command("public-key")
def consent_public_key(tenant: TenantOpt) -> None:
    """Print the tenant's receipt-verification key (JWK) for offline checks."""
    import json

    print(json.dumps(open_services(tenant).receipts.public_jwk(tenant), indent=2))


@consent_app.command("verify-receipt")
def consent_verify_receipt(
    receipt: Annotated[Path, typer.Argument(help="A file holding the receipt (compact JWS).")],
    public_key: Annotated[Path, typer.Option(help="The tenant's public key (JWK JSON).")],
) -> None:
    """Check a receipt offline: no database, no passphrase, only the public key."""
    import json

    from tessera.consent import InvalidReceipt, verify_receipt

    try:
        jwk = json.loads(public_key.read_text("utf-8"))
        token = receipt.read_text("utf-8").strip()
    except (OSError, ValueError) as exc:
        raise InvalidReceipt(f"cannot read the receipt or the key: {type(exc).__name__}") from None
    record = verify_receipt(token, jwk)
    event = record.get("event", {})
    out.print(
        f"receipt valid: {record.get('consentReceiptID')} - {event.get('type')} "
        f"{record['services'][0]['service']} on {event.get('channel')} at "
        f"{event.get('occurredAt')} (ledger seq {record.get('ledger', {}).get('seq')})"
    )


@dsr_app.command("list")
def dsr_list(
    tenant: TenantOpt,
    overdue: Annotated[bool, typer.Option(help="Only requests past their due date.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Data-subject requests, soonest due first."""
    services = open_services(tenant)
    now = services.dsr.clock()
    rows = [
        {
            "id": r.id,
            "subject": r.subject,
            "kind": r.kind.value,
            "state": r.state.value,
            "received": r.received_at.date().isoformat(),
            "due": r.due_at.date().isoformat(),
            "overdue": r.overdue(now),
        }
        for r in services.dsr.list(tenant, overdue=overdue)
    ]
    listing(rows, as_json=as_json, whole=("id", "subject"))
