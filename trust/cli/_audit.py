"""`tessera audit`: checkpoints, exports and the offline check a DPO runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonOpt, TenantOpt, listing, open_services, out, progress

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The audit log: checkpoints, exports, offline checks.", no_args_is_help=True
)


@audit_app.command("checkpoint")
def audit_checkpoint(
    tenant: TenantOpt,
    output: Annotated[
        Path | None, typer.Option(help="Keep it in this file, to verify a later export against.")
    ] = None,
) -> None:
    """Sign the current tree head of the tenant's audit log."""
    import json

    cp = open_services(tenant).audit.checkpoint(tenant)
    if output is not None:
        output.write_text(json.dumps(cp), encoding="utf-8")
    out.print(f"checkpoint: {cp['size']} entries, root {cp['root']}")


@audit_app.command("export")
def audit_export(
    tenant: TenantOpt,
    output: Annotated[Path, typer.Option(help="Where the export goes (JSON).")],
) -> None:
    """Export the log with a fresh signed checkpoint and the proofs between checkpoints."""
    import json

    services = open_services(tenant)
    with progress("exported", "exporting the audit log") as on_progress:
        export = services.audit.export(tenant, on_progress=on_progress)
    output.write_text(json.dumps(export), encoding="utf-8")
    out.print(
        f"{len(export['entries'])} entries and {len(export['checkpoints'])} checkpoints "
        f"exported to {output}"
    )


@audit_app.command("public-key")
def audit_public_key(tenant: TenantOpt) -> None:
    """Print the key (JWK) that checkpoints are signed with, for offline verification."""
    import json

    print(json.dumps(open_services(tenant).audit.public_jwk(tenant), indent=2))


@audit_app.command("verify")
def audit_verify(
    export: Annotated[Path, typer.Argument(help="An export from `tessera audit export`.")],
    public_key: Annotated[Path, typer.Option(help="The tenant's audit key (JWK JSON).")],
    trusted_checkpoint: Annotated[
        Path | None,
        typer.Option(help="A checkpoint you kept from before: the export must extend it."),
    ] = None,
) -> None:
    """Check an export offline (no database, no passphrase); names the first entry that fails."""
    import json

    from tessera.trust._errors import AuditTampered
    from tessera.trust.audit import verify_export

    try:
        data = json.loads(export.read_text("utf-8"))
        jwk = json.loads(public_key.read_text("utf-8"))
        trusted = json.loads(trusted_checkpoint.read_text("utf-8")) if trusted_checkpoint else None
    except (OSError, ValueError) as exc:
        raise AuditTampered(f"cannot read the files given: {type(exc).__name__}") from None
    report = verify_export(data, jwk, trusted=trusted)
    extends = f"; it extends your checkpoint of {report['extends']}" if trusted else ""
    out.print(
        f"audit export valid: {report['entries']} entries, root {report['root']}, "
        f"checkpoints at {report['checkpoints']}{extends}"
    )


@audit_app.command("events")
def audit_events(tenant: TenantOpt, as_json: JsonOpt = False) -> None:
    """Security events: tenants, API keys, webhook endpoints, key rotations, policy loads."""
    events = open_services(tenant).audit.security_events(tenant)
    if as_json:
        listing(events, as_json=True)
        return
    rows = []
    for e in events:
        what = {k: v for k, v in e.items() if k not in ("seq", "at", "tenant", "event", "actor")}
        rows.append(
            {
                "#": e["seq"],
                "when": e["at"][:19],
                "event": e["event"],
                "by": e["actor"],
                "what": ", ".join(
                    f"{k}={v}" for k, v in sorted(what.items()) if v not in (None, [], {})
                ),
            }
        )
    listing(rows, as_json=False, whole=("#", "by"))


@audit_app.command("who")
def audit_who(
    tenant: TenantOpt,
    subject: Annotated[str, typer.Option(help="The subject.")],
    as_json: JsonOpt = False,
) -> None:
    """Who accessed this subject's data, when, for which purpose, under which policy."""
    entries = open_services(tenant).audit.for_subject(tenant, subject)
    if as_json:
        listing(entries, as_json=True)
        return
    rows = [
        {
            "#": e["seq"],
            "when": e["at"][:19],
            "caller": f"{e['caller_kind']} {e['caller']}",
            "action": e["action"],
            "categories": e["categories"],
            "purpose": e["purpose"],
            "outcome": e["outcome"],
            "policies": e["policies"],
        }
        for e in entries
    ]
    listing(rows, as_json=False, whole=("#", "caller"))
