"""What a log line or a span knows of the request it belongs to: its id and its tenant."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

__all__ = ["REQUEST_ID", "TENANT", "request_id_from"]

REQUEST_ID: ContextVar[str | None] = ContextVar("tessera_request_id", default=None)
TENANT: ContextVar[str | None] = ContextVar("tessera_tenant", default=None)

# A caller's own request id is kept when it is a plain id (it goes into logs as it is).
_PLAIN = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


def request_id_from(header: str | None) -> str:
    """The caller's `X-Request-Id` when it is a plain id; otherwise a new one."""
    if header and _PLAIN.fullmatch(header):
        return header
    return secrets.token_hex(8)
