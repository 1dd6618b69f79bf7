"""HTTP API: `/v1`, JSON in, JSON or problem+json out, one code path with the in-process API."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from pydantic import BaseModel, Field, StrictStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera import __version__
from tessera.vault import TokenizeRequest, TokenRecord

from ._api_auth import router as auth_router
from ._api_consent import router as consent_router
from ._api_gateway import router as gateway_router
from ._api_payments import router as payments_router
from ._api_redact import router as redact_router
from ._api_webhooks import router as webhooks_router
from ._errors import RequestTooLarge
from ._http import CallerDep, Strict
from ._identity import Scope as ApiScope
from ._pay_page import router as pay_page_router
from ._problems import PROBLEM_JSON, install_problem_handlers, problem_for, problem_response
from ._ratelimit import RateLimiter
from ._services import Services

__all__ = ["app_from_environment", "create_app"]

_log = logging.getLogger("tessera.audit")


class TokenizeIn(Strict):
    value: StrictStr = Field(description="The value to vault (at most 4 KiB).")
    category: StrictStr = Field(default="generic", description="Data category, e.g. card_pan.")
    subject: StrictStr | None = Field(default=None, description="Pseudonymous subject id.")


class TokenOut(BaseModel):
    token: str
    category: str
    subject: str | None

    @classmethod
    def of(cls, record: TokenRecord) -> TokenOut:
        return cls(token=record.token, category=record.category.value, subject=record.subject)


class BatchTokenizeIn(Strict):
    items: list[TokenizeIn]


class TokensOut(BaseModel):
    tokens: list[TokenOut]


class SearchIn(Strict):
    value: StrictStr
    category: StrictStr


class ErasureOut(BaseModel):
    subject: str
    erased_at: str
    keys_destroyed: int
    items_destroyed: int


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
        request = Request(scope, receive)
        exc = RequestTooLarge(f"request body exceeds {self.max_bytes} bytes")
        response = problem_response(problem_for(exc), exc.detail, request)
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


def create_app(services: Services) -> FastAPI:
    checkpointer = _Checkpointer(services)
    courier = _Courier(services)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        checkpointer.start()
        courier.start()
        yield
        courier.stop()
        checkpointer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Tessera",
        version=__version__,
        summary="Privacy, consent and payment-trust layer for contact centres.",
        responses={400: {"content": {PROBLEM_JSON: {}}}},
    )
    app.state.services = services
    inline = services.settings.access_on_event_loop
    app.state.access_on_event_loop = services.data.is_sqlite if inline is None else inline
    install_problem_handlers(app)
    # Routes are matched in order: the gateway, which every data access goes through, first.
    app.include_router(gateway_router)
    app.include_router(consent_router)
    app.include_router(auth_router)
    app.include_router(payments_router)
    app.include_router(pay_page_router)
    app.include_router(webhooks_router)
    app.include_router(redact_router)
    app.state.rate_limiter = RateLimiter(
        per_second=services.settings.rate_limit_per_second, burst=services.settings.rate_limit_burst
    )
    app.add_middleware(_BodyLimit, max_bytes=services.settings.max_body_bytes)
    vault = services.vault

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> dict[str, Any]:
        """Readiness: both stores reachable and migrated, key provider answering."""
        return {"status": "ready", "checks": services.check_ready()}

    @app.post(
        "/v1/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenOut, tags=["vault"]
    )
    def tokenize(body: TokenizeIn, who: CallerDep) -> TokenOut:
        """Vault one value; the same value for the same subject returns the same token."""
        who.require(ApiScope.TOKENIZE)
        return TokenOut.of(
            vault.tokenize(who.tenant, body.value, category=body.category, subject=body.subject)
        )

    @app.post("/v1/tokens/batch", response_model=TokensOut, tags=["vault"])
    def tokenize_batch(body: BatchTokenizeIn, who: CallerDep) -> TokensOut:
        """Vault up to 10,000 values; one invalid item rejects the batch and names its index."""
        who.require(ApiScope.TOKENIZE)
        records = vault.tokenize_batch(
            who.tenant, [TokenizeRequest(i.value, i.category, i.subject) for i in body.items]
        )
        return TokensOut(tokens=[TokenOut.of(r) for r in records])

    @app.post("/v1/tokens/search", response_model=TokensOut, tags=["vault"])
    def search(body: SearchIn, who: CallerDep) -> TokensOut:
        """Tokens holding this value, matched on the blind index (nothing is decrypted)."""
        who.require(ApiScope.SEARCH)
        found = vault.find(who.tenant, body.value, category=body.category)
        return TokensOut(tokens=[TokenOut.of(r) for r in found])

    @app.get("/v1/subjects/{subject_id}/tokens", response_model=TokensOut, tags=["subjects"])
    def subject_tokens(subject_id: str, who: CallerDep) -> TokensOut:
        """Every token held for a subject."""
        who.require(ApiScope.SEARCH)
        return TokensOut(
            tokens=[TokenOut.of(r) for r in vault.subject_tokens(who.tenant, subject_id)]
        )

    @app.delete("/v1/subjects/{subject_id}", response_model=ErasureOut, tags=["subjects"])
    def erase_subject(subject_id: str, who: CallerDep) -> ErasureOut:
        """Crypto-shred a subject: its data key is destroyed, every copy becomes unreadable."""
        who.require(ApiScope.ERASE)
        erasure = vault.erase_subject(who.tenant, subject_id)
        return ErasureOut(
            subject=erasure.subject,
            erased_at=erasure.erased_at.isoformat(),
            keys_destroyed=erasure.keys_destroyed,
            items_destroyed=erasure.items_destroyed,
        )

    return app


def app_from_environment() -> FastAPI:
    """The app of one server worker, its services built from `TESSERA_*` settings."""
    return create_app(Services.from_settings())
