"""Operations' view of a running server: `/metrics`, traces, and logs one JSON object a line.

The counts themselves are defined in `tessera.metrics`, below every package; this package
exposes them, instruments the app and the stores for tracing, and formats the logs.
"""

from __future__ import annotations

from ._context import REQUEST_ID, TENANT
from ._logging import JsonLines, PersonalDataFilter, TextLines, configure_logging
from ._metrics import MULTIPROCESS_DIR, RequestTelemetry, metrics_router
from ._tracing import SCRUBBED, install_tracing, trace_statements, tracing_provider

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
    "install_tracing",
    "metrics_router",
    "trace_statements",
    "tracing_provider",
]
