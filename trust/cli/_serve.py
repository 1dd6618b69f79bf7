"""`tessera version`, `tessera serve` and `tessera demo`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from tessera import __version__

from ._common import err, open_services, out

__all__ = ["demo", "serve", "version"]


def version() -> None:
    """Print the version."""
    out.print(__version__)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8700).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes; the API is stateless.")] = 1,
    access_log: Annotated[
        bool | None,
        typer.Option(help="A log line per request (default: TESSERA_ACCESS_LOG, off)."),
    ] = None,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="A throw-away server to try Tessera: temporary data and keyring, the example "
            "tenant, a key with every scope printed once. Nothing is kept.",
        ),
    ] = False,
) -> None:
    """Run the HTTP API with uvicorn (several worker processes with --workers)."""
    if dev:
        from tessera.trust._settings import Settings

        from ._dev import dev_environment, welcome

        defaults = Settings()
        try:
            with dev_environment(host or defaults.host, port or defaults.port) as workdir:
                welcome(out, workdir)
                _serve(host, port, workers, access_log)
        finally:
            err.print("development server stopped: its data and keys are gone")
        return
    _serve(host, port, workers, access_log)


def _serve(host: str | None, port: int | None, workers: int, access_log: bool | None) -> None:
    import uvicorn

    from tessera.trust.http import create_app
    from tessera.trust.telemetry import configure_logging

    services = open_services()  # also migrates, and checks the key provider opens
    settings = services.settings
    # Every logger through one handler (uvicorn's too: `log_config=None` below), JSON lines
    # unless a person reads the terminal; SQLAlchemy's statements never.
    configure_logging(settings.log_level, settings.log_format)
    # uvicorn never below INFO: at DEBUG its WebSocket protocol prints each handshake's headers,
    # the caller's bearer key among them.
    server_level = "info" if settings.log_level == "debug" else settings.log_level
    err.print(
        f"Tessera {__version__}: data {services.data.describe()}, "
        f"keys via {services.key_provider.name}, {workers} worker(s)"
    )
    common: dict[str, Any] = dict(
        host=host or settings.host,
        port=port or settings.port,
        log_level=server_level,
        access_log=settings.access_log if access_log is None else access_log,
        server_header=False,
        log_config=None,
    )
    if workers == 1:
        uvicorn.run(create_app(services, own_process=True), **common)
        return
    services.close()
    # Each worker builds its services from the same environment. The schema was migrated here,
    # once: workers never race to migrate. Several processes on one SQLite file wait for each
    # other's write lock: not on the event loop. Their metrics meet in one folder.
    os.environ["TESSERA_AUTO_MIGRATE"] = "false"
    os.environ.setdefault("TESSERA_ACCESS_ON_EVENT_LOOP", "false")
    with _metrics_folder():
        uvicorn.run(
            "tessera.trust.http:app_from_environment",
            factory=True,
            workers=workers,
            # A worker loading the redaction model takes seconds: it is not hung.
            timeout_worker_healthcheck=120,
            **common,
        )


@contextmanager
def _metrics_folder() -> Iterator[None]:
    """prometheus-client's multiprocess folder for the workers (the operator's, if set)."""
    from tessera.trust.telemetry import MULTIPROCESS_DIR

    if os.environ.get(MULTIPROCESS_DIR):
        yield
        return
    folder = tempfile.mkdtemp(prefix="tessera-metrics-")
    os.environ[MULTIPROCESS_DIR] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR]
        shutil.rmtree(folder, ignore_errors=True)


def demo(
    keep: Annotated[bool, typer.Option(help="Keep the demo's data directory.")] = False,
    serve: Annotated[
        bool, typer.Option(help="Keep serving at the end, to open the customer's portal link.")
    ] = False,
) -> None:
    """A scripted walk-through of Tessera on a throw-away embedded database."""
    from ._demo import run_demo

    run_demo(out, keep=keep, serve=serve)
