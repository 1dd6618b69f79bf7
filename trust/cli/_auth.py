"""`tessera auth`: risk decisions explained, numbers bound, histories loaded, thresholds,
retention."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tessera import TesseraError

from ._common import JsonOpt, TenantOpt, err, every_region, listing, open_services, out, progress

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
    d = open_services(tenant).authenticator.decision(tenant, decision_id)
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
    auth = open_services(tenant).authenticator
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
    limits = open_services(tenant).authenticator.settings.thresholds_for(tenant)
    rows = [
        {"action": action.value, "step up at": t.step_up, "deny at": t.deny}
        for action, t in limits.items()
    ]
    listing(rows, as_json=as_json, whole=("action",))


@auth_app.command("purge")
def auth_purge() -> None:
    """Drop risk decisions past the retention period (TESSERA_AUTH_RETENTION_DAYS)."""
    purged = sum(services.authenticator.purge() for _, services in every_region())
    out.print(f"{purged} decisions past retention removed")


_OBSERVED = frozenset(
    {
        "channel",
        "ip",
        "user_agent",
        "device_id",
        "caller_number",
        "attestation",
        "sim_swapped",
        "sender_id",
        "typing_ms",
    }
)


@auth_app.command("seal-factors")
def auth_seal_factors(tenant: TenantOpt) -> None:
    """Seal the tenant's second factors and bound lines written before factor seals: until
    then they are not trusted. Run it once, right after the upgrade to migration 0015: it seals
    every unsealed row it finds, each recorded in the audit trail as vouched for by you, so a
    later run would also seal a row someone added to the database by hand."""
    sealed = open_services(tenant).authenticator.seal_factors(tenant)
    out.print(f"{sealed} factors sealed")


@auth_app.command("load-history")
def auth_load_history(
    tenant: TenantOpt,
    source: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="NDJSON, one strong authentication a line: subject, method, "
            "authenticated_at (ISO 8601 with its offset), event_id, observation {channel, ip, …}.",
        ),
    ],
) -> None:
    """Load customers' profiles from your identity provider's log of strong authentications
    (as POST /v1/auth/strong-authentications does, line by line). Run it again after a stop:
    lines already loaded are skipped (a line without event_id is known by its own hash)."""
    from tessera.auth import Observation, ReplayedCode

    auth = open_services(tenant).authenticator
    lines = source.read_text(encoding="utf-8").splitlines()
    loaded = skipped = 0
    failed: list[str] = []
    with progress("loaded", f"loading {source.name}", unit=" lines") as on_progress:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    given = _history_line(line)
                    observed = given["observation"]
                    auth.report_strong_authentication(
                        tenant,
                        str(given["subject"]),
                        Observation(at=given["authenticated_at"], **observed),
                        method=str(given["method"]),
                        event_id=str(
                            given.get("event_id") or hashlib.sha256(line.encode()).hexdigest()
                        ),
                    )
                    loaded += 1
                except ReplayedCode:
                    skipped += 1
                except (TesseraError, ValueError, TypeError, KeyError) as exc:
                    failed.append(f"line {number}: {str(exc).splitlines()[0][:160]}")
            if number % 100 == 0 or number == len(lines):
                on_progress(number, len(lines))
    out.print(
        f"{loaded} strong authentications loaded, {skipped} already loaded, {len(failed)} refused"
    )
    for reason in failed[:20]:
        err.print(reason)
    if failed:
        raise typer.Exit(1)


def _history_line(line: str) -> dict[str, Any]:
    """One line of a history, checked for shape (the authenticator checks the values)."""
    given = json.loads(line)
    if not isinstance(given, dict):
        raise ValueError("each line is a JSON object")
    for name in ("subject", "method", "authenticated_at", "observation"):
        if name not in given:
            raise ValueError(f"{name} is missing")
    observed = given["observation"]
    if not isinstance(observed, dict) or "channel" not in observed:
        raise ValueError("observation is an object with at least a channel")
    unknown = set(observed) - _OBSERVED
    if unknown:
        raise ValueError(f"unknown observation fields: {', '.join(sorted(unknown))[:80]}")
    at = dt.datetime.fromisoformat(str(given["authenticated_at"]))
    return {**given, "authenticated_at": at}
