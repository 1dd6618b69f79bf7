"""`GET /metrics` in Prometheus' text format, and the HTTP layer's own counts.

Counts only, by closed words: open by default, or behind `TESSERA_METRICS_TOKEN` (a bearer
token of its own, not an API key: a scraper is no tenant's caller). Under several workers the
values of every process are added up from `PROMETHEUS_MULTIPROC_DIR`.
"""

from __future__ import annotations

import hmac
import os
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import REGISTRY as _PROCESS_REGISTRY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera.metrics import HTTP_REQUESTS, HTTP_SECONDS, OPEN_REQUESTS

from ._context import REQUEST_ID, TENANT, request_id_from

__all__ = ["MULTIPROCESS_DIR", "RequestTelemetry", "metrics_router"]

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


# A method outside these is counted as `_OTHER` (as OpenTelemetry's conventions do): a caller
# choosing the method's word must not make a new series of it.
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def _route_of(scope: Scope) -> str:
    """The route's template (`/v1/consents/{subject}`), never the path a caller sent."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else "unmatched"


class RequestTelemetry:
    """Each HTTP request: an id (the caller's `X-Request-Id` if plain, else a new one) for the
    logs and the answer's header, and its count and latency by route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The labelled children by (route, method, status), found once: `labels()` checks and
        # locks on every call, a third of this middleware's cost. Bounded: routes are
        # templates, methods a closed set, statuses the server's own.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = next((v for k, v in scope.get("headers", []) if k == b"x-request-id"), None)
        request_id = request_id_from(given.decode("latin-1") if given else None)
        id_token, tenant_token = REQUEST_ID.set(request_id), TENANT.set(None)
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            route, method = _route_of(scope), str(scope.get("method", ""))
            if method not in _METHODS:
                method = "_OTHER"
            series = self._series.get((route, method, status))
            if series is None:
                series = (
                    HTTP_REQUESTS.labels(route, method, str(status)),
                    HTTP_SECONDS.labels(route, method),
                )
                self._series[(route, method, status)] = series
            series[0].inc()
            series[1].observe(time.perf_counter() - started)
            REQUEST_ID.reset(id_token)
            TENANT.reset(tenant_token)


def _registry() -> Any:
    """This process's registry, or every worker's values under multiprocess mode."""
    if os.environ.get(MULTIPROCESS_DIR):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return _PROCESS_REGISTRY


def _read_at_scrape(services: Any) -> None:
    """Gauges that are a state of the stores, not a count of events: read when scraped."""
    try:
        counts = services.dsr.open_counts()
    except Exception:  # a store down: the scrape still answers, with what it has
        return
    OPEN_REQUESTS.clear()
    for (state, overdue), n in counts.items():
        OPEN_REQUESTS.labels(state, "true" if overdue else "false").set(n)


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "the metrics"}},
    )
    def metrics(request: Request) -> Response:
        """Prometheus' text format: counts and latencies by closed words, never personal data.
        With `TESSERA_METRICS_TOKEN` set, scrapers send it as a bearer token."""
        services = request.app.state.services
        token = services.settings.metrics_token
        if token is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            expected = token.get_secret_value().encode()
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
                from tessera.trust._errors import AuthenticationRequired

                raise AuthenticationRequired("the metrics need their token (TESSERA_METRICS_TOKEN)")
        _read_at_scrape(services)
        return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)

    return router
