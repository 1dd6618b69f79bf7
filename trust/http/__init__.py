"""The HTTP API: `/v1`, JSON in, JSON or problem+json out, one code path with the in-process
API; the card page under `/pay`. One router per area in `routes/`."""

from __future__ import annotations

from ._app import app_from_environment, create_app
from ._problems import PROBLEM_JSON, ProblemType, problem_for
from ._serving import serve_in_thread

__all__ = [
    "PROBLEM_JSON",
    "ProblemType",
    "app_from_environment",
    "create_app",
    "problem_for",
    "serve_in_thread",
]
