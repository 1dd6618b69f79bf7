"""`tessera tokens`: tokenizing files of values in bulk, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import open_services, out, progress

__all__ = ["tokens_app"]

tokens_app = typer.Typer(help="Tokens in bulk.", no_args_is_help=True)


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
    from tessera.vault import tokenize_file

    if not source.is_file():
        raise typer.BadParameter(f"{source} is not a file", param_hint="SOURCE")
    services = open_services(tenant)
    services.identity.get_tenant(tenant)
    with progress("read", f"tokenizing {source.name}", unit=" bytes") as on_progress:
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
