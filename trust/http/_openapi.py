"""The OpenAPI document tells the truth: every operation declares the statuses it can answer
with, each as `application/problem+json` of one shared `Problem` schema; the operations that
need an API key say so (a bearer security scheme); each has a summary and a description.

FastAPI documents only the success and its own 422 (as `application/json`, which the server
never sends). Generated clients and schema fuzzers read the document, so here it is completed
once, after FastAPI builds it: what any operation can answer (bad request, authentication,
permission, validation, rate limit, an unavailable store or key provider), what any operation
with a body can answer (too large), and what each area's domain errors map to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from ._problems import PROBLEM_JSON

__all__ = ["Problem", "install_openapi"]


class Problem(BaseModel):
    """An error, as RFC 9457 has it; some problems carry more members (listed here)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="urn:tessera:problem:<slug>; stable, for programs")
    title: str
    status: int
    detail: str = Field(description="what went wrong, for people; never an input value")
    instance: str = Field(description="the request path")
    request_id: str | None = Field(default=None, description="for an internal error: quote it")
    errors: list[dict[str, Any]] | None = Field(default=None, description="validation errors")
    retry_after: int | None = None
    attempts_left: int | None = None
    required_assurance: str | None = None
    policy_ids: list[str] | None = None
    audit_seq: int | None = None


_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    402: "Payment declined",
    403: "Refused: permission, policy or step-up",
    404: "Not found (or not this tenant's)",
    409: "Conflict: already exists, already used, or an idempotency key reused",
    410: "Expired or ended",
    413: "Too large",
    422: "Invalid input",
    423: "Temporarily blocked",
    429: "Too many requests",
    500: "Integrity failure of a ledger or the audit log",
    503: "A store, the key provider, the audit trail or the processor is unavailable",
}

# What every operation under /v1 can answer, and what each area adds (its domain errors).
_ANY = (400, 401, 403, 422, 429, 503)
_WITH_BODY = (413,)
_BY_TAG: dict[str, tuple[int, ...]] = {
    "gateway": (404, 409, 500),
    "vault": (404, 409),
    "subjects": (404, 409, 500),
    "audit": (404, 409, 500),
    "oversight": (404, 500),
    "purposes": (404, 409),
    "consents": (404, 409, 500),
    "dsr": (404, 409, 410, 500),
    "auth": (404, 409, 410, 423),
    "payments": (402, 404, 409, 410, 500),
    "webhooks": (404, 409),
    "redaction": (404,),
    "portal": (404, 409),
    "operations": (),
}
_OPERATIONS = {
    "/healthz": (),
    "/readyz": (503,),
    "/metrics": (401,),
    "/.well-known/gpc.json": (503,),
}
# The areas, in the order a reader meets them.
_TAGS = [
    {"name": "gateway", "description": "Every data access, decided by policy and recorded."},
    {"name": "vault", "description": "Tokens: values vaulted under envelope encryption."},
    {"name": "subjects", "description": "A customer's tokens, export and erasure."},
    {"name": "audit", "description": "The tamper-evident audit log: checkpoints and proofs."},
    {"name": "oversight", "description": "The logs searched as the DPO console searches them."},
    {"name": "purposes", "description": "The catalogue of purposes and their notices."},
    {"name": "consents", "description": "The consent ledger, per purpose and channel."},
    {"name": "dsr", "description": "Data-subject requests (GDPR Art. 15-21)."},
    {"name": "auth", "description": "Risk-based authentication, sessions and step-ups."},
    {"name": "payments", "description": "Payments in the conversation, with PSD2 SCA."},
    {"name": "webhooks", "description": "Signed event deliveries to the tenant's endpoints."},
    {"name": "portal", "description": "Links that open a customer's privacy space."},
    {"name": "processing record", "description": "The record of processing (GDPR Art. 30)."},
    {"name": "redaction", "description": "Personal data found and redacted in transcripts."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def _ref() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/Problem"}


def _statuses(path: str, operation: dict[str, Any]) -> Iterable[int]:
    if path in _OPERATIONS:
        return _OPERATIONS[path]
    found = set(_ANY)
    if "requestBody" in operation:
        found.update(_WITH_BODY)
    for tag in operation.get("tags", []):
        found.update(_BY_TAG.get(tag, ()))
    return found


# A summary is the description's first clause: what the operation does, in a few words.
_CLAUSE = re.compile(r"^(.+?)(?:[;:]\s|[.]\s(?=[A-Z`(])|\s[(—–]|[.?]?$)", re.DOTALL)


def _summary(description: str) -> str:
    first = description.strip().split("\n\n")[0]
    found = _CLAUSE.match(first)
    return " ".join((found.group(1) if found else first).split()).rstrip(".")


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Declare every error status of every operation as problem+json, and a summary drawn from
    the description."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if operation.get("description"):
                operation["summary"] = _summary(operation["description"])
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for code in list(responses):
                if code.isdigit() and int(code) >= 400:
                    del responses[code]  # FastAPI's, as application/json
            for status in sorted(_statuses(path, operation)):
                responses[str(status)] = {
                    "description": _TITLES[status],
                    "content": {PROBLEM_JSON: {"schema": _ref()}},
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                    tags=_TAGS,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
