"""`tessera` command line: operators' entry point. Errors are one line on stderr, exit code 1."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tessera import TesseraError, __version__
from tessera.storage import Store, current_revision, head_revision, migrate
from tessera.vault import key_status, rotate_keys, tokenize_file

from ._services import Services, build_key_provider, open_stores
from ._settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(
    help="Tessera: privacy, consent and payment trust for contact centres.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Key-encryption keys and data keys.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys of calling services.", no_args_is_help=True)
tokens_app = typer.Typer(help="Tokens in bulk.", no_args_is_help=True)
consent_app = typer.Typer(help="Purposes, the consent ledger and receipts.", no_args_is_help=True)
dsr_app = typer.Typer(help="Data-subject requests.", no_args_is_help=True)
policy_app = typer.Typer(help="Access policies (Cedar).", no_args_is_help=True)
audit_app = typer.Typer(
    help="The audit log: checkpoints, exports, offline checks.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(tenants_app, name="tenants")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(tokens_app, name="tokens")
app.add_typer(consent_app, name="consent")
app.add_typer(dsr_app, name="dsr")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
auth_app = typer.Typer(
    help="Invisible strong authentication: explain decisions, bind numbers, purge.",
    no_args_is_help=True,
)
app.add_typer(auth_app, name="auth")
payments_app = typer.Typer(
    help="Payments in the conversation: show one, expire the overdue, run a test processor.",
    no_args_is_help=True,
)
app.add_typer(payments_app, name="payments")
webhooks_app = typer.Typer(
    help="Webhooks: where payment status is sent; deliver what is due; replay failures.",
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhooks")

out = Console()
err = Console(stderr=True)


@contextmanager
def _progress(verb: str, title: str, *, unit: str = "") -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal; elsewhere (CI, logs) one plain line per step."""
    if not sys.stderr.isatty():

        def line(done: int, total: int) -> None:
            print(f"{verb} {done}/{total}{unit}", file=sys.stderr, flush=True)

        yield line
        return
    progress = Progress(
        TextColumn(title), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    )
    task = progress.add_task(title, total=None)
    with progress:
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _services() -> Services:
    return Services.from_settings(Settings())


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8700).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes; the API is stateless.")] = 1,
    access_log: Annotated[
        bool | None,
        typer.Option(help="A log line per request (default: TESSERA_ACCESS_LOG, off)."),
    ] = None,
) -> None:
    """Run the HTTP API with uvicorn (several worker processes with --workers)."""
    import uvicorn

    from ._api import create_app

    services = _services()  # also migrates, and checks the key provider opens
    settings = services.settings
    err.print(
        f"Tessera {__version__}: data {services.data.describe()}, "
        f"keys via {services.key_provider.name}, {workers} worker(s)"
    )
    common = dict(
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=settings.access_log if access_log is None else access_log,
        server_header=False,
    )
    if workers == 1:
        uvicorn.run(create_app(services), **common)  # type: ignore[arg-type]
    else:
        services.close()
        # Each worker builds its services from the same environment. Several processes on one
        # SQLite file wait for each other's write lock: not on the event loop.
        os.environ.setdefault("TESSERA_ACCESS_ON_EVENT_LOOP", "false")
        uvicorn.run(
            "tessera.trust._api:app_from_environment", factory=True, workers=workers, **common
        )  # type: ignore[arg-type]


@app.command()
def demo(
    keep: Annotated[bool, typer.Option(help="Keep the demo's data directory.")] = False,
) -> None:
    """A scripted walk-through of Tessera on a throw-away embedded database."""
    from ._demo import run_demo

    run_demo(out, keep=keep)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply schema migrations to the data store and the key store."""
    settings = Settings()
    data, keys = open_stores(settings)
    migrate(data, Store.DATA)
    migrate(keys, Store.KEYS)
    out.print(f"data store at {current_revision(data)}, key store at {current_revision(keys)}")


@db_app.command("status")
def db_status() -> None:
    """Show each store's schema revision against the newest one."""
    settings = Settings()
    for db, store in zip(open_stores(settings), (Store.DATA, Store.KEYS), strict=True):
        out.print(
            f"{store.value}: {db.describe()} at {current_revision(db)} "
            f"(head {head_revision(store)})"
        )


@keys_app.command("init")
def keys_init() -> None:
    """Create the keyring (or first PKCS#11 key) if there is none."""
    settings = Settings()
    provider = build_key_provider(settings, create=True)
    out.print(f"{provider.name}: current key-encryption key version {provider.current_version()}")


@keys_app.command("status")
def keys_status() -> None:
    """KEK versions and how many data keys still wait for a rewrap."""
    services = _services()
    status = key_status(services.keys, services.key_provider)
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
    """Add a KEK version and rewrap every data key under it. Resumes an unfinished rotation."""
    services = _services()
    with _progress("rewrapped", "rewrapping data keys") as on_progress:
        report = rotate_keys(
            services.keys,
            services.key_provider,
            batch_size=batch_size,
            pause=pause,
            on_progress=on_progress,
        )
    verb = "resumed and finished" if report.resumed else "finished"
    out.print(
        f"rotation to KEK version {report.target_version} {verb}: "
        f"{report.rewrapped} data keys rewrapped, {report.total} in all"
    )


@tenants_app.command("create")
def tenants_create(
    tenant_id: Annotated[str, typer.Argument(help="Short id: a-z, 0-9, '-', '_'.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a tenant."""
    tenant = _services().identity.create_tenant(tenant_id, name=name)
    out.print(f"tenant {tenant.id} created")


@tenants_app.command("list")
def tenants_list() -> None:
    """List tenants."""
    table = Table("id", "name", "created")
    for tenant in _services().identity.list_tenants():
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
    issued = _services().identity.issue_key(
        tenant_id, scopes=scope, name=name, valid_for=valid_for, kind=kind, roles=role or []
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
    for key in _services().identity.list_keys(tenant_id):
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
    _services().identity.revoke_key(key_id)
    out.print(f"API key {key_id} revoked")


@tokens_app.command("import")
def tokens_import(
    source: Annotated[Path, typer.Argument(help="Records to tokenize: .jsonl/.ndjson or .csv.")],
    tenant: Annotated[str, typer.Option(help="The tenant the values belong to.")],
    output: Annotated[Path, typer.Option(help="Where tokens go (JSON lines, never values).")],
    batch_size: Annotated[int, typer.Option(min=1, help="Records per transaction.")] = 5000,
    pause: Annotated[float, typer.Option(min=0.0, help="Seconds between batches.")] = 0.0,
) -> None:
    """Tokenize a file of values (fields: value, category, subject, ref). Resumes if interrupted.

    Each input record yields one output line: its line number, its `ref`, and its token or the
    reason it was refused. Run the same command again after a crash: it goes on where it stopped.
    """
    if not source.is_file():
        raise typer.BadParameter(f"{source} is not a file", param_hint="SOURCE")
    services = _services()
    services.identity.get_tenant(tenant)
    with _progress("read", f"tokenizing {source.name}", unit=" bytes") as on_progress:
        report = tokenize_file(
            services.vault,
            tenant,
            source,
            output,
            batch_size=batch_size,
            pause=pause,
            on_progress=on_progress,
        )
    resumed = f" (resumed after line {report.resumed_at_line})" if report.resumed_at_line else ""
    out.print(
        f"{report.tokenized} values tokenized, {report.rejected} refused, "
        f"{report.lines} lines read{resumed}; tokens in {output}"
    )


TenantOpt = Annotated[str, typer.Option("--tenant", help="The tenant.")]


@consent_app.command("load")
def consent_load(
    catalogue: Annotated[Path, typer.Argument(help="TOML: [controller] and [[purpose]] tables.")],
    tenant: TenantOpt,
) -> None:
    """Load or update a tenant's purpose catalogue; changed notices get new versions."""
    from tessera.consent import load_catalogue_file

    spec = load_catalogue_file(catalogue)
    services = _services()
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
) -> None:
    """Verify the tenant's hash chain; names the first event that fails."""
    services = _services()
    with _progress("verified", "verifying the consent ledger") as on_progress:
        report = services.consents.verify(tenant, deep=deep, on_progress=on_progress)
    out.print(f"ledger intact: {report.events} events, head {report.head}")


@consent_app.command("rebuild")
def consent_rebuild(tenant: TenantOpt) -> None:
    """Recompute the current-state projection from the ledger alone."""
    count = _services().consents.rebuild(tenant)
    out.print(f"projection rebuilt from {count} events")


@consent_app.command("export")
def consent_export(
    tenant: TenantOpt,
    output: Annotated[Path, typer.Option(help="JSON lines: one event with its receipt a line.")],
) -> None:
    """Export the tenant's whole ledger for a DPO, each event with its signed receipt."""
    import json

    services = _services()
    total = services.consents.count(tenant)
    with (
        output.open("w", encoding="utf-8") as fh,
        _progress("exported", "exporting the consent ledger") as on_progress,
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

    print(json.dumps(_services().receipts.public_jwk(tenant), indent=2))


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
) -> None:
    """Data-subject requests, soonest due first."""
    services = _services()
    now = services.dsr.clock()
    table = Table("id", "subject", "kind", "state", "received", "due", "overdue")
    for r in services.dsr.list(tenant, overdue=overdue):
        table.add_row(
            r.id,
            r.subject,
            r.kind.value,
            r.state.value,
            r.received_at.date().isoformat(),
            r.due_at.date().isoformat(),
            "yes" if r.overdue(now) else "",
        )
    out.print(table)


PolicyDirOpt = Annotated[
    Path | None, typer.Option("--policies", help="Policy folder (default: the shipped set).")
]


@policy_app.command("validate")
def policy_validate(policies: PolicyDirOpt = None) -> None:
    """Parse and validate a policy folder against the schema, as start-up would."""
    from tessera.policies import DEFAULT_POLICY_DIR, CedarPolicyEngine

    engine = CedarPolicyEngine(policies or DEFAULT_POLICY_DIR)
    ids = engine.policies_for("").policy_ids
    out.print(f"{len(ids)} policies valid in {engine.policy_dir}: {', '.join(ids)}")


@policy_app.command("test")
def policy_test(
    cases: Annotated[
        Path | None, typer.Argument(help="TOML of [[case]] (default: shipped).")
    ] = None,
    policies: PolicyDirOpt = None,
) -> None:
    """Run allow/deny cases against a policy folder; exit 1 if any case fails."""
    from tessera.policies import DEFAULT_POLICY_DIR, CedarPolicyEngine, load_cases, run_cases

    engine = CedarPolicyEngine(policies or DEFAULT_POLICY_DIR)
    results = run_cases(engine, load_cases(cases or DEFAULT_POLICY_DIR / "cases.toml"))
    table = Table("", "case", "expected", "got", "policies")
    for r in results:
        got = r.decision.outcome.value + (
            f":{r.decision.required_assurance.name.lower()}"
            if r.decision.required_assurance
            else ""
        )
        expected = r.case.expect.value + (
            f":{r.case.expect_assurance.name.lower()}" if r.case.expect_assurance else ""
        )
        table.add_row(
            "[green]ok[/green]" if r.passed else "[red]FAIL[/red]",
            r.case.name,
            expected,
            got,
            ", ".join(r.decision.policy_ids),
        )
    out.print(table)
    failed = [r for r in results if not r.passed]
    out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(tenant: TenantOpt) -> None:
    """Sign the current tree head of the tenant's audit log."""
    cp = _services().audit.checkpoint(tenant)
    out.print(f"checkpoint: {cp['size']} entries, root {cp['root']}")


@audit_app.command("export")
def audit_export(
    tenant: TenantOpt,
    output: Annotated[Path, typer.Option(help="Where the export goes (JSON).")],
) -> None:
    """Export the log with a fresh signed checkpoint and the proofs between checkpoints."""
    import json

    services = _services()
    with _progress("exported", "exporting the audit log") as on_progress:
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

    print(json.dumps(_services().audit.public_jwk(tenant), indent=2))


@audit_app.command("verify")
def audit_verify(
    export: Annotated[Path, typer.Argument(help="An export from `tessera audit export`.")],
    public_key: Annotated[Path, typer.Option(help="The tenant's audit key (JWK JSON).")],
) -> None:
    """Check an export offline (no database, no passphrase); names the first entry that fails."""
    import json

    from ._audit import AuditTampered, verify_export

    try:
        data = json.loads(export.read_text("utf-8"))
        jwk = json.loads(public_key.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise AuditTampered(f"cannot read the export or the key: {type(exc).__name__}") from None
    report = verify_export(data, jwk)
    out.print(
        f"audit export valid: {report['entries']} entries, root {report['root']}, "
        f"checkpoints at {report['checkpoints']}"
    )


@audit_app.command("who")
def audit_who(
    tenant: TenantOpt, subject: Annotated[str, typer.Option(help="The subject.")]
) -> None:
    """Who accessed this subject's data, when, for which purpose, under which policy."""
    table = Table("#", "when", "caller", "action", "categories", "purpose", "outcome", "policies")
    for e in _services().audit.for_subject(tenant, subject):
        table.add_row(
            str(e["seq"]),
            e["at"][:19],
            f"{e['caller_kind']} {e['caller']}",
            e["action"],
            ", ".join(e["categories"]),
            e["purpose"],
            e["outcome"],
            ", ".join(e["policies"]),
        )
    out.print(table)


@auth_app.command("explain")
def auth_explain(
    tenant: TenantOpt,
    decision_id: Annotated[str, typer.Argument(help="A decision id (dec_…) from /v1/auth/assess.")],
) -> None:
    """Why a sign-in or action was allowed, stepped up or denied: per signal, in words."""
    d = _services().authenticator.decision(tenant, decision_id)
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
    auth = _services().authenticator
    if caller_number is None and sender_id is None:
        raise typer.BadParameter("give --caller-number or --sender-id")
    if caller_number is not None:
        out.print(
            f"bound caller number: {auth.bind_caller(tenant, subject, 'caller', caller_number).id}"
        )
    if sender_id is not None:
        out.print(f"bound sender: {auth.bind_caller(tenant, subject, 'sender', sender_id).id}")


@auth_app.command("thresholds")
def auth_thresholds(tenant: TenantOpt) -> None:
    """The risk scores at which this tenant's sign-ins and actions step up or are denied."""
    table = Table("action", "step up at", "deny at")
    for action, limits in _services().authenticator.settings.thresholds_for(tenant).items():
        table.add_row(action.value, f"{limits.step_up:g}", f"{limits.deny:g}")
    out.print(table)


@auth_app.command("purge")
def auth_purge() -> None:
    """Drop risk decisions past the retention period (TESSERA_AUTH_RETENTION_DAYS)."""
    out.print(f"{_services().authenticator.purge()} decisions past retention removed")


@app.command("redact")
def redact(
    source: Annotated[Path, typer.Argument(help="A transcript file or a folder of them.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the redacted files.")],
    language: Annotated[str, typer.Option(help="fr or en (a turn may say its own).")] = "fr",
    mode: Annotated[str, typer.Option(help="tag (<CARD>) or mask (•••).")] = "tag",
    workers: Annotated[
        int, typer.Option(min=1, max=32, help="Processes (each loads the model).")
    ] = 1,
) -> None:
    """Redact transcripts (.txt, .jsonl turns, .vtt, .srt) into OUTPUT, the same tree; run it
    again after an interruption and it goes on where it stopped."""
    from ._redact_files import RedactionJob
    from ._redactor import RedactionMode

    if mode not in ("tag", "mask"):
        raise typer.BadParameter("tag or mask (token mode needs a tenant: use the API)")
    if language not in ("fr", "en"):
        raise typer.BadParameter("fr or en")
    job = RedactionJob(
        source,
        output,
        language=language,
        mode=RedactionMode(mode),
        model=Settings().redaction_model,
        workers=workers,
    )
    with _progress("redacted", f"redacting {source.name}", unit=" files") as on_progress:
        outcomes = job.run(on_progress=on_progress)
    done = [o for o in outcomes if o.status == "redacted"]
    skipped = [o for o in outcomes if o.status == "skipped"]
    failed = [o for o in outcomes if o.status == "failed"]
    out.print(
        f"{len(done)} redacted ({sum(o.findings for o in done)} findings), "
        f"{len(skipped)} already done, {len(failed)} failed"
    )
    for o in failed:
        err.print(f"{o.source}: {o.error}")
    if failed:
        raise typer.Exit(1)


@payments_app.command("show")
def payments_show(
    tenant: TenantOpt,
    payment_id: Annotated[str, typer.Argument(help="A payment id (pay_…).")],
) -> None:
    """A payment's state, masked card and SCA decision with its article: what an agent sees."""
    p = _services().payments.get(tenant, payment_id)
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
    services = _services()
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
    cards = _services().payments.cards
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
    out.print(f"{_services().payments.expire_due()} payments expired")


@payments_app.command("simulator")
def payments_simulator(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8701,
) -> None:
    """Run the simulated card processor (tests and demo; never a real one)."""
    import uvicorn

    from tessera.payments.simulator import create_simulator

    uvicorn.run(create_simulator(), host="127.0.0.1", port=port, log_level="warning")


@webhooks_app.command("add")
def webhooks_add(
    tenant: TenantOpt,
    url: Annotated[str, typer.Argument(help="https://… (http only to this machine).")],
    event: Annotated[
        list[str] | None, typer.Option("--event", help="payment.authorized, payment.*, …")
    ] = None,
) -> None:
    """Register an endpoint; prints its signing secret, once."""
    endpoint = _services().webhooks.add_endpoint(tenant, url, event)
    err.print(f"{endpoint.id} → {endpoint.url} ({', '.join(endpoint.events)}); signing secret:")
    print(endpoint.secret)


@webhooks_app.command("list")
def webhooks_list(tenant: TenantOpt) -> None:
    """Endpoints, and their deliveries that are pending or failed."""
    services = _services()
    table = Table("endpoint", "url", "events")
    for e in services.webhooks.endpoints(tenant):
        table.add_row(e.id, e.url, ", ".join(e.events))
    out.print(table)
    for state in ("pending", "failed"):
        for d in services.webhooks.deliveries(tenant, state=state):
            out.print(f"{d.id} {d.type} {state} after {d.attempts} attempts: {d.last_error or ''}")


@webhooks_app.command("remove")
def webhooks_remove(
    tenant: TenantOpt, endpoint_id: Annotated[str, typer.Argument(help="whe_…")]
) -> None:
    _services().webhooks.remove_endpoint(tenant, endpoint_id)
    out.print(f"{endpoint_id} removed")


@webhooks_app.command("deliver")
def webhooks_deliver(
    redeliver: Annotated[
        list[str] | None, typer.Option("--redeliver", help="Queue this delivery again first.")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Of --redeliver.")] = None,
) -> None:
    """Send every delivery that is due, once (the server does this every second)."""
    services = _services()
    for delivery_id in redeliver or []:
        if tenant is None:
            raise typer.BadParameter("--redeliver needs --tenant")
        services.webhooks.redeliver(tenant, delivery_id)
    out.print(f"{services.webhooks.deliver_due()} deliveries made")


def main() -> None:
    try:
        app()
    except TesseraError as exc:
        # Plain print: one line, never wrapped to the terminal's width.
        print(f"error: {exc.detail}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
