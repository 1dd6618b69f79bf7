"""`tessera` command line: operators' entry point. Errors are one line on stderr, exit code 1."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import click
import typer
from typer.core import TyperGroup

from tessera import TesseraError

from . import (
    _audit,
    _auth,
    _consent,
    _identity,
    _keys,
    _payments,
    _policy,
    _processing,
    _staff,
    _tokens,
    _webhooks,
)
from ._common import err, out
from ._redact import redact
from ._serve import demo, serve, version
from ._stream import stream_app

__all__ = ["app", "main"]


class _OneLineErrors(TyperGroup):
    """Tessera's errors end any command the same way, in a process or in-process (the tests'
    `CliRunner`): `error: <detail>` on stderr, exit code 1, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        columns = os.environ.get("COLUMNS", "")
        for console in (out, err):  # read at each run: one process may run several
            # None: rich measures the terminal again (its setter is typed int only).
            console.width = int(columns) if columns.isdigit() else None  # type: ignore[assignment]
        try:
            return super().invoke(ctx)
        except TesseraError as exc:
            # Plain print: one line, never wrapped to the terminal's width.
            print(f"error: {exc.detail}", file=sys.stderr)
            ctx.exit(1)
        except Exception as exc:
            said = _said(exc)
            if said is None:
                raise
            print(f"error: {said}", file=sys.stderr)
            ctx.exit(1)


def _said(exc: Exception) -> str | None:
    """One line for what an operator meets before any of Tessera's errors can be raised: a
    setting that does not parse, a database that is not there. None for anything else."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, ValidationError):
        return _setting_problem(exc)
    if isinstance(exc, SettingsError):  # a structured setting (JSON) that does not parse
        found = re.search(r'field "(\w+)"', str(exc))
        name = f"TESSERA_{found.group(1).upper()}" if found else "a setting"
        return f"{name}: not valid JSON (a list or an object is expected)"
    if isinstance(exc, DBAPIError):
        reason = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
        return (
            f"the database cannot be reached ({reason}) at {_stores()}: check "
            "TESSERA_DATABASE_URL and TESSERA_KEYSTORE_URL, and that the server runs"
        )
    return None


def _stores() -> str:
    """Where the stores are, as an operator checks them: host, port and database, never a
    password."""
    from sqlalchemy.engine import make_url

    from tessera.trust._settings import Settings

    settings = Settings()
    shown = []
    for url in dict.fromkeys((settings.resolved_database_url, settings.resolved_keystore_url)):
        parsed = make_url(url)
        if parsed.host:
            shown.append(f"{parsed.host}:{parsed.port or 5432}/{parsed.database or ''}")
        else:
            shown.append(parsed.get_backend_name())
    return " and ".join(shown)


def _setting_problem(exc: Any) -> str:
    """Which setting is wrong and why, never its value (it may be a secret)."""
    first = exc.errors()[0]
    where = first.get("loc") or ()
    name = f"TESSERA_{str(where[0]).upper()}" if where else "a setting"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{name}: {first.get('msg', 'invalid')}{more}"


app = typer.Typer(
    cls=_OneLineErrors,
    help="Tessera: privacy, consent and payment trust for contact centres.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(version)
app.command()(serve)
app.command()(demo)
app.add_typer(_keys.db_app, name="db")
app.add_typer(_keys.keys_app, name="keys")
app.add_typer(_identity.tenants_app, name="tenants")
app.add_typer(_identity.apikeys_app, name="apikeys")
app.add_typer(_tokens.tokens_app, name="tokens")
app.add_typer(_consent.consent_app, name="consent")
app.add_typer(_consent.dsr_app, name="dsr")
app.add_typer(_policy.policy_app, name="policy")
app.add_typer(_audit.audit_app, name="audit")
app.add_typer(_auth.auth_app, name="auth")
app.add_typer(_payments.payments_app, name="payments")
app.add_typer(_webhooks.webhooks_app, name="webhooks")
app.add_typer(_processing.processing_app, name="processing-record")
app.add_typer(_staff.staff_app, name="staff")
app.command("redact")(redact)
app.add_typer(stream_app, name="stream")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
