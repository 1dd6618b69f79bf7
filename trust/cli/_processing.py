"""`tessera processing-record`: the record of processing activities (GDPR Art. 30), generated
from the purposes, policies, data and audit trail the tenant runs on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from ._common import TenantOpt, open_services, out

__all__ = ["processing_app"]

processing_app = typer.Typer(
    help="The record of processing activities (Art. 30), generated, never typed.",
    no_args_is_help=True,
)


@processing_app.command("export")
def processing_export(
    tenant: TenantOpt,
    format: Annotated[
        Literal["json", "csv", "html"], typer.Option("--format", help="json, csv or html.")
    ] = "json",
    days: Annotated[
        int, typer.Option(min=1, max=3660, help="Recipients observed over these last days.")
    ] = 365,
    output: Annotated[Path | None, typer.Option(help="Write it here (else to stdout).")] = None,
) -> None:
    """Generate the tenant's record of processing from what is enforced."""
    import datetime as dt
    import json

    from tessera.trust.processing import as_csv, as_html, as_json, processing_record

    services = open_services(tenant)
    record = processing_record(services, tenant, since=services.clock() - dt.timedelta(days=days))
    text = (
        json.dumps(as_json(record), indent=2, ensure_ascii=False)
        if format == "json"
        else as_csv(record)
        if format == "csv"
        else as_html(record)
    )
    if output is None:
        print(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"record of processing ({len(record.activities)} purposes) written to {output}")
