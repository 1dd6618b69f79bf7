"""Traces with OpenTelemetry: the FastAPI instrumentation, a span per SQL statement, and the
spans the gateway and the redaction service open for their own stages.

Off unless an OTLP endpoint is configured (`TESSERA_OTLP_ENDPOINT`, or OpenTelemetry's own
`OTEL_EXPORTER_OTLP_ENDPOINT`): then spans go there over OTLP/HTTP, in batches. No attribute
holds a personal value: the server span keeps the route's template, never the path or query
a caller sent (a subject id, a search), and statements are traced without their parameters.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from tessera import __version__

__all__ = ["SCRUBBED", "install_tracing", "trace_statements", "tracing_provider"]

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

_provider: TracerProvider | None = None


def tracing_provider(
    endpoint: str | None, exporter: SpanExporter | None = None, *, sample_ratio: float = 1.0
) -> TracerProvider | None:
    """This process's provider, made once: spans to `exporter` (tests: an in-memory one),
    else to the OTLP endpoint; None when neither is set (tracing off, spans are no-ops)."""
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
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


class _Discard(SpanExporter):
    """Spans recorded and dropped: the cost of tracing without a collector."""

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS


def _scrub(span: Any, scope: dict[str, Any]) -> None:
    if span is not None and span.is_recording():
        for name in SCRUBBED:
            span.set_attribute(name, "-")


def install_tracing(app: Any, engines: list[Any], provider: TracerProvider | None) -> None:
    """Instrument the app and the store engines when tracing is on."""
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        server_request_hook=_scrub,
        excluded_urls="healthz,readyz,metrics,docs",
        exclude_spans=["receive", "send"],
    )
    tracer = provider.get_tracer("tessera.storage")
    for engine in engines:
        trace_statements(engine, tracer)


def trace_statements(engine: Any, tracer: Any) -> None:
    """A span per statement inside a recorded trace, with the statement's text (placeholders,
    never its parameters) and, on failure, the error's type only: a database's message can
    quote the values that broke a constraint. Outside a recorded trace nothing is done, so an
    unsampled request pays one check a statement. (OpenTelemetry's SQLAlchemy instrumentation
    opens a span for every statement, sampled or not, and puts the error's message in it.)"""
    from opentelemetry.trace import SpanKind, Status, StatusCode
    from sqlalchemy import event

    system = engine.dialect.name

    @event.listens_for(engine, "before_cursor_execute")
    def _before(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if context is None or not trace.get_current_span().is_recording():
            return
        words = statement.split(None, 1)
        operation = words[0].upper() if words else "SQL"
        context._tessera_span = tracer.start_span(
            f"{operation} {system}",
            kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.operation": operation, "db.statement": statement},
        )

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, *_: Any) -> None:
        span = getattr(context, "_tessera_span", None)
        if span is not None:
            span.end()
            context._tessera_span = None

    @event.listens_for(engine, "handle_error")
    def _failed(failure: Any) -> None:
        context = failure.execution_context
        span = getattr(context, "_tessera_span", None) if context is not None else None
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, type(failure.original_exception).__name__))
            span.end()
            context._tessera_span = None
