"""Operations' view of a running server: `/metrics`, traces, and logs one JSON object a line.

The counts themselves are defined in `tessera.metrics`, below every package; this package
exposes them, instruments the app and the stores for tracing, and formats the logs.
"""

from __future__ import annotations

from ._context import REQUEST_ID, TENANT
from ._logging import JsonLines, PersonalDataFilter, TextLines, configure_logging
from ._metrics import MULTIPROCESS_DIR, RequestTelemetry, metrics_router
from ._tracing import (
    SCRUBBED,
    server_telemetry,
    stage,
    trace_statements,
    trace_stores,
    tracing_provider,
)

__all__ = [
    "MULTIPROCESS_DIR",
    "REQUEST_ID",
    "SCRUBBED",
    "TENANT",
    "JsonLines",
    "PersonalDataFilter",
    "RequestTelemetry",
    "TextLines",
    "configure_logging",
    "metrics_router",
    "server_telemetry",
    "stage",
    "trace_statements",
    "trace_stores",
    "tracing_provider",
]
