"""`tessera tokens`: tokenizing files of values in bulk, resumable."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._common import open_services, out, progress

if TYPE_CHECKING:
    from tessera.trust._services import Services
    from tessera.vault import BatchMapper, BulkRecord

__all__ = ["tokens_app"]

tokens_app = typer.Typer(help="Tokens in bulk.", no_args_is_help=True)


@tokens_app.command("import")
def tokens_import(
    source: Annotated[Path, typer.Argument(help="Records to tokenize: .jsonl/.ndjson or .csv.")],
    tenant: Annotated[str, typer.Option(help="The tenant the values belong to.")],
    output: Annotated[Path, typer.Option(help="Where tokens go (JSON lines, never values).")],
    batch_size: Annotated[int, typer.Option(min=1, help="Records per transaction.")] = 5000,
    pause: Annotated[float, typer.Option(min=0.0, help="Seconds between batches.")] = 0.0,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Tokenize the batches on a Dask cluster: local (WORKERS processes here), or a "
            "scheduler's tls://host:port (tcp:// on 127.0.0.1 only). Workers need this "
            "deployment's TESSERA_* settings (stores, key provider); the file stays here."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="With --cluster local.")] = 2,
) -> None:
    """Tokenize a file of values (fields: value, category, subject, ref). Resumes if interrupted.

    Each input record yields one output line: its line number, its `ref`, and its token or the
    reason it was refused. Run the same command again after a crash: it goes on where it stopped.
    """
    from tessera.vault import tokenize_file

    if not source.is_file():
        raise typer.BadParameter(f"{source} is not a file", param_hint="SOURCE")
    from tessera.trust.cluster import check_cluster_address, connect, in_flight, ordered_map

    if cluster is not None:
        check_cluster_address(cluster)
    services = open_services(tenant)
    services.identity.get_tenant(tenant)
    with contextlib.ExitStack() as stack:
        mapper: BatchMapper | None = None  # here, one batch after another
        if cluster is not None:
            client = stack.enter_context(connect(cluster, workers=workers))
            window = in_flight(client, workers)

            def on_cluster(batches: Iterator[list[BulkRecord]]) -> Any:
                return ordered_map(client, _tokenize_on_worker, batches, tenant, in_flight=window)

            mapper = on_cluster

        on_progress = stack.enter_context(
            progress("read", f"tokenizing {source.name}", unit=" bytes")
        )
        report = tokenize_file(
            services.vault,
            tenant,
            source,
            output,
            batch_size=batch_size,
            pause=pause,
            on_progress=on_progress,
            mapper=mapper,
        )
    resumed = f" (resumed after line {report.resumed_at_line})" if report.resumed_at_line else ""
    out.print(
        f"{report.tokenized} values tokenized, {report.rejected} refused, "
        f"{report.lines} lines read{resumed}; tokens in {output}"
    )


_WORKER_SERVICES: dict[str, Services] = {}


def _tokenize_on_worker(batch: list[BulkRecord], tenant: str) -> list[bytes]:
    """One batch tokenized on a Dask worker, with the services its own settings describe (the
    tenant's region's), built once per worker."""
    from tessera.trust._services import Services
    from tessera.trust._settings import Settings
    from tessera.vault import tokenize_records

    settings = Settings()
    region = settings.region_of(tenant)
    if region not in _WORKER_SERVICES:
        _WORKER_SERVICES[region] = Services.from_settings(settings.for_tenant(tenant))
    return tokenize_records(_WORKER_SERVICES[region].vault, tenant, batch)
