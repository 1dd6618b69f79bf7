"""HTTP API: `/v1`, JSON in, JSON or problem+json out, one code path with the in-process API."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera import TesseraError, __version__
from tessera.trust._errors import RequestTooLarge
from tessera.trust._services import Regions, Services
from tessera.trust.console import console_router
from tessera.trust.identity import RateLimiter
from tessera.trust.portal import portal_router
from tessera.trust.telemetry import (
    RequestTelemetry,
    configure_logging,
    metrics_router,
    server_telemetry,
    trace_stores,
    tracing_provider,
)
from tessera.vault import InvalidValue

from ._docs import install_docs
from ._openapi import install_openapi
from ._pay_page import router as pay_page_router
from ._problems import CatchAll, install_problem_handlers, problem_for, problem_response
from .routes.auth import router as auth_router
from .routes.consent import router as consent_router
from .routes.gateway import router as gateway_router
from .routes.operations import router as operations_router
from .routes.oversight import router as oversight_router
from .routes.payments import router as payments_router
from .routes.portal import router as portal_api_router
from .routes.processing import router as processing_router
from .routes.redact import router as redact_router
from .routes.requests import router as requests_router
from .routes.vault import router as vault_router
from .routes.webhooks import router as webhooks_router

__all__ = ["app_from_environment", "create_app"]

_log = logging.getLogger("tessera.audit")

_DESCRIPTION = """\
Every other component of the contact centre calls Tessera for every access to customer data:
tokens instead of values, consent per purpose and channel, invisible authentication with a
step-up only when the risk calls for it, payments inside the conversation with PSD2 SCA, and a
tamper-evident audit trail of every decision.

Authenticate with a tenant's API key (`Authorization: Bearer tsk_…`, from `tessera apikeys
create`). Errors are `application/problem+json` (RFC 9457): `type` is stable for programs,
`detail` is for people and never repeats an input value. Lists take `limit` and `cursor` and
answer `data` and `next_cursor` (null on the last page).
"""


class _BodyLimit:
    """Refuse bodies over the limit, whether declared by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        # Read the body here, up to the limit, so that an oversized stream gets a 413 of ours.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = RequestTooLarge(f"request body exceeds {self.max_bytes} bytes")
        await _refused(exc, scope, receive, send)


class _PlainQuery:
    """Refuse a NUL character in a query string, for every route: no store keeps one
    (PostgreSQL refuses it mid-request), and no parameter needs one. Bodies are held to the
    same by `Strict`, paths by their patterns."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if b"\x00" in query or b"%00" in query:
            exc = InvalidValue("a query parameter must not contain a NUL character")
            await _refused(exc, scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _refused(exc: TesseraError, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a request refused before it reached a route, as the routes answer it."""
    response = problem_response(problem_for(exc), exc.detail, Request(scope, receive))
    await response(scope, receive, send)


class _Checkpointer:
    """Signs audit checkpoints periodically, in a background thread of the server."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.interval = services.settings.checkpoint_interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, name="audit-checkpoints", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.services.audit.checkpoint_all()
            except Exception as exc:  # a tampered or unreachable log: say so, keep going
                _log.error("periodic audit checkpoint failed: %s", type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Courier:
    """Delivers due webhooks, in a background thread of the server (leased: several workers
    or servers never send one delivery twice at once)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.interval = services.settings.webhook_poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.services.webhooks.deliver_due()
            except Exception as exc:  # the store is down: say so, try again next time
                _log.error("webhook delivery round failed: %s", type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _warm(services: Services) -> None:
    """Load the redaction model and read a conversation in each language once."""
    services.redactions.redactor.warm()
    logging.getLogger("tessera.redaction").info(
        "redaction model %s loaded", services.settings.redaction_model
    )


# Young collections once this many container objects have been made and not yet freed, not
# CPython's 700: a request's transient objects (parsed bodies, rows, models) cross 700 at
# once, so collections ran five times a request, a sixteenth of a server's time, and each
# promoted live requests' objects toward the costly older generations.
_YOUNG_COLLECTION_AT = 10_000


def _settle_heap() -> None:
    """After start, the objects of modules, services and the redaction model stay for the
    process's life: they are set out of the collector's reach (`gc.freeze`), so that a full
    collection no longer walks them (a tenth of a second each, under load), and young
    collections are made rarer. Reference counting still frees nearly everything at once;
    cycles wait a little longer."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(_YOUNG_COLLECTION_AT, middle, old)


def _status_and_slug(exc: BaseException) -> tuple[int, str]:
    """How a page answers an error: the status and the slug of the API's problem for it."""
    problem = problem_for(exc)
    return problem.status, problem.slug


def create_app(
    services: Services, regions: Regions | None = None, *, own_process: bool = False
) -> FastAPI:
    """The API, the pages and the docs over `services`; with regions in its settings (or
    `regions` given), each request is served from its tenant's region's services.

    `own_process`: the app is a server's, alone in its process (not a test's or a demo's
    among others): once started, its heap is settled (`_settle_heap`)."""
    if regions is None and services.settings.regions:
        regions = Regions.around(services)
    every = list(regions) if regions is not None else [services]
    workers = [w for s in every for w in (_Checkpointer(s), _Courier(s))]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if services.settings.warm_redaction:
            # Before the server takes a request (and /readyz says ready): the first redaction
            # must not wait seconds for the model.
            await run_in_threadpool(_warm, services)
        for each in every:
            each.announce_policies(actor="server start")
        if own_process:
            _settle_heap()
        for worker in workers:
            worker.start()
        yield
        for worker in reversed(workers):
            worker.stop()
        if regions is not None:
            regions.close()

    tracing = tracing_provider(services.settings.otlp_endpoint)
    app = FastAPI(
        lifespan=lifespan,
        telemetry=server_telemetry(
            tracing,
            sample_ratio=services.settings.trace_sample_ratio,
            traces_per_second=services.settings.traces_per_second,
        ),
        title="Tessera",
        version=__version__,
        summary="Privacy, consent and payment-trust layer for contact centres.",
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    app.state.regions = regions if regions is not None and regions.pinned else None
    inline = services.settings.access_on_event_loop
    app.state.access_on_event_loop = services.data.is_sqlite if inline is None else inline
    install_problem_handlers(app)
    # Routes are matched in order: the gateway, which every data access goes through, first.
    app.include_router(gateway_router)
    app.include_router(consent_router)
    app.include_router(requests_router)
    app.include_router(auth_router)
    app.include_router(payments_router)
    app.include_router(pay_page_router)
    app.include_router(portal_router(_status_and_slug))
    app.include_router(console_router(_status_and_slug))
    app.include_router(webhooks_router)
    app.include_router(portal_api_router)
    app.include_router(processing_router)
    app.include_router(oversight_router)
    app.include_router(redact_router)
    app.include_router(vault_router)
    app.include_router(operations_router)
    if services.settings.metrics:
        app.include_router(metrics_router())
    app.state.rate_limiter = RateLimiter(
        per_second=services.settings.rate_limit_per_second, burst=services.settings.rate_limit_burst
    )
    app.add_middleware(_BodyLimit, max_bytes=services.settings.max_body_bytes)
    app.add_middleware(_PlainQuery)
    app.add_middleware(CatchAll)  # whatever escapes the rest
    if services.settings.metrics:
        app.add_middleware(RequestTelemetry)  # outermost: every answer counted, with its id
    install_openapi(app)
    install_docs(app)
    trace_stores([e for s in every for e in (s.data.engine, s.keys.engine)], tracing)
    return app


def app_from_environment() -> FastAPI:
    """The app of one server worker, its services built from `TESSERA_*` settings (each
    worker is its own process: its logs are set up here)."""
    services = Services.from_settings()
    configure_logging(services.settings.log_level, services.settings.log_format)
    return create_app(services, own_process=True)
