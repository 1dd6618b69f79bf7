"""Traces with OpenTelemetry: FastAPI's own server spans, a span per SQL statement, and the
spans the gateway and the redaction service open for their own stages.

Off unless an OTLP endpoint is configured (`TESSERA_OTLP_ENDPOINT`, or OpenTelemetry's own
`OTEL_EXPORTER_OTLP_ENDPOINT`): then spans go there over OTLP/HTTP, in batches. No attribute
holds a personal value: the server span keeps the route's template, never the path or query
a caller sent (a subject id, a search), and statements are traced without their parameters.

FastAPI's native telemetry makes the server spans (`server_telemetry`): it knows the matched
route, so it does not match it a second time, nor decode every header, as the contrib ASGI
instrumentation did; with a tenth of requests sampled, that middleware alone cost a fifth of
the gateway's throughput.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import SpanKind

from tessera import __version__

__all__ = [
    "SCRUBBED",
    "server_telemetry",
    "stage",
    "trace_statements",
    "trace_stores",
    "tracing_provider",
]

# Attributes of a server span that would carry what the caller sent; the route's template
# (`http.route`) says the same without it.
SCRUBBED = (
    "http.target",
    "http.url",
    "url.full",
    "url.path",
    "url.query",
    "http.client_ip",
    "client.address",
    "net.peer.ip",
    "http.user_agent",
    "user_agent.original",
)
# Requests that are not worth a trace: probes, scrapes and the API's own documentation.
_UNTRACED = ("/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")

_provider: TracerProvider | None = None


def tracing_provider(
    endpoint: str | None, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """This process's provider, made once: spans to `exporter` (tests: an in-memory one),
    else to the OTLP endpoint; None when neither is set (tracing off, spans are no-ops).

    Its sampler keeps every root span it is asked for, and follows a parent's choice: which
    requests are traced is decided before any span is made (`server_telemetry`)."""
    global _provider
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if exporter is None and not endpoint:
        return None
    if _provider is not None:  # OpenTelemetry's global provider is set once per process
        return _provider
    processor: SpanProcessor
    if exporter is None and endpoint == "discard":
        processor = BatchSpanProcessor(_Discard())
    elif exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"{str(endpoint).rstrip('/')}/v1/traces")
        processor = BatchSpanProcessor(exporter)
    else:
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        processor = SimpleSpanProcessor(exporter)
    provider = TracerProvider(
        resource=Resource.create({"service.name": "tessera", "service.version": __version__}),
        sampler=ParentBased(ALWAYS_ON),
    )
    provider.add_span_processor(_Scrub())  # first: before any processor sees the span
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


@contextmanager
def stage(tracer: trace.Tracer, name: str) -> Iterator[None]:
    """A span for one stage of the work (a gateway decision's policy, its audit; a redaction)
    inside the caller's trace when that trace is recorded (the server's request span, sampled);
    otherwise nothing is made: an unsampled span still costs the sampler's work, seven times
    an access, and a stage outside any request is no trace of its own. Spans name stages,
    never a value.

    The span is not made current: attaching and detaching its context cost a fifth of a
    stage span, and what runs inside a stage (a traced statement) hangs off the request's
    span instead, in the same trace."""
    if not trace.get_current_span().is_recording():
        yield
        return
    span = tracer.start_span(name)
    try:
        yield
    finally:
        span.end()


class _Discard(SpanExporter):
    """Spans recorded and dropped: the cost of tracing without a collector."""

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS


class _Scrub(SpanProcessor):
    """Blanks what a server span would carry of the request as sent (its path holds a subject
    id, its query a search); the route's template stays. Only recorded spans reach it, and
    only server spans hold those attributes."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if span.kind is not SpanKind.SERVER:  # only a server span quotes the request
            return
        attributes = span.attributes or {}
        for name in SCRUBBED:
            if name in attributes:
                span.set_attribute(name, "-")


class _HeadSampling:
    """Which requests are traced, decided from the request alone before any span is made:
    FastAPI's `exclude` skips the rest for those that are not. A caller's `traceparent` is
    followed (its sampled flag); otherwise a share `ratio` of requests is chosen at random,
    at most `per_second` of them a second (0: no cap), one second's worth at once.
    (Left to the SDK's sampler, an unsampled request still cost a context, a propagation, a
    non-recording span and its bookkeeping: an eighth of a gateway access.)

    The cap keeps tracing's cost bounded under load, as X-Ray's reservoir and Jaeger's
    rate-limiting sampler do: a traced access costs about half again an untraced one (seven
    spans), so a tenth of a saturated server's requests would take 5-10% of its throughput,
    while ten traces a second show its latencies as well. At a quiet server's pace the share
    alone decides."""

    def __init__(
        self,
        ratio: float,
        per_second: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.per_second = per_second
        self.clock = clock
        self._burst = max(per_second, 1.0)  # one second's worth
        self._allowance = self._burst  # a full bucket
        self._at = clock()

    def __call__(self, scope: MutableMapping[str, Any]) -> bool:
        if str(scope.get("path", "")).startswith(_UNTRACED):
            return True
        for name, value in scope.get("headers") or ():
            if name == b"traceparent":
                sampled = _sampled_flag(value)
                if sampled is not None:
                    return not sampled
                break
        if random.random() >= self.ratio:  # noqa: S311 (a share of requests, not a secret)
            return True
        return not self._within_cap()

    def _within_cap(self) -> bool:
        """One more trace this second? (Called on the event loop only: no lock.)"""
        if self.per_second <= 0:
            return True
        now = self.clock()
        self._allowance = min(self._burst, self._allowance + (now - self._at) * self.per_second)
        self._at = now
        if self._allowance < 1.0:
            return False
        self._allowance -= 1.0
        return True


def _sampled_flag(traceparent: bytes) -> bool | None:
    """The sampled flag of a W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`); None
    when it is not one (then the request is sampled as if it had none)."""
    parts = traceparent.split(b"-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16 or len(parts[3]) < 2:
        return None
    try:
        return bool(int(parts[3][:2], 16) & 1)
    except ValueError:
        return None


def server_telemetry(
    provider: TracerProvider | None,
    *,
    sample_ratio: float,
    traces_per_second: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
) -> TelemetryConfig:
    """FastAPI's `telemetry=` settings: server spans to `provider` for a share `sample_ratio`
    of requests, at most `traces_per_second` of them (0: no cap), and those whose caller
    sampled them; or none at all when tracing is off (a provider set in the process by
    someone else is not followed). FastAPI's metrics and logs stay off: Prometheus counts
    requests, and its logs would quote a failed request's exception message; the
    per-operation spans (dependencies, serialization) cost more than they tell, beside the
    gateway's own stages."""
    if provider is None:
        return {"tracing": False, "metrics": False, "logs": False}
    return {
        "tracer_provider": provider,
        "tracing": True,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "exclude": _HeadSampling(sample_ratio, traces_per_second, clock),
    }


def trace_stores(engines: list[Any], provider: TracerProvider | None) -> None:
    """A span per statement on each store engine when tracing is on."""
    if provider is None:
        return
    tracer = provider.get_tracer("tessera.storage")
    for engine in engines:
        trace_statements(engine, tracer)


def trace_statements(engine: Any, tracer: Any) -> None:
    """A span per statement inside a recorded trace, with the statement's text (placeholders,
    never its parameters) and, on failure, the error's type only: a database's message can
    quote the values that broke a constraint. Outside a recorded trace nothing is done, so an
    unsampled request pays one check a statement. (OpenTelemetry's SQLAlchemy instrumentation
    opens a span for every statement, sampled or not, and puts the error's message in it.)

    The span wraps the driver's own call through the dialect's `do_execute` events: a
    connection's events (`before_cursor_execute`) would have every connection of every request,
    traced or not, set up its listeners, a twentieth of a gateway access."""
    from opentelemetry.trace import Status, StatusCode, get_current_span
    from sqlalchemy import event

    dialect = engine.dialect
    system = dialect.name

    def traced(statement: str, run: Callable[[], Any]) -> bool:
        words = statement.split(None, 1)
        operation = words[0].upper() if words else "SQL"
        span = tracer.start_span(
            f"{operation} {system}",
            kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.operation": operation, "db.statement": statement},
        )
        try:
            run()
        except BaseException as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            span.end()
        return True  # run here: the dialect does not run it again

    # Outside a recorded trace each returns None at once: the dialect runs the statement as it
    # would without us.
    @event.listens_for(engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        if not get_current_span().is_recording():
            return None
        return traced(statement, lambda: dialect.do_execute(cursor, statement, parameters, context))

    @event.listens_for(engine, "do_executemany")
    def _executemany(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        if not get_current_span().is_recording():
            return None
        return traced(
            statement, lambda: dialect.do_executemany(cursor, statement, parameters, context)
        )

    @event.listens_for(engine, "do_execute_no_params")
    def _execute_no_params(cursor: Any, statement: str, context: Any) -> bool | None:
        if not get_current_span().is_recording():
            return None
        return traced(statement, lambda: dialect.do_execute_no_params(cursor, statement, context))
