"""Trust: the composition root. Service identity, HTTP API, CLI and the wiring of all services.

Later issues add the gateway, the audit ledger and transcript redaction here.
"""

from __future__ import annotations

from ._api import create_app
from ._errors import (
    AuthenticationRequired,
    PermissionDenied,
    RequestTooLarge,
    TrustError,
    UnknownTenant,
)
from ._identity import Caller, IssuedKey, Scope, ServiceIdentity
from ._problems import PROBLEM_JSON, problem_for
from ._services import Services, build_key_provider
from ._settings import Settings

__all__ = [
    "PROBLEM_JSON",
    "AuthenticationRequired",
    "Caller",
    "IssuedKey",
    "PermissionDenied",
    "RequestTooLarge",
    "Scope",
    "ServiceIdentity",
    "Services",
    "Settings",
    "TrustError",
    "UnknownTenant",
    "build_key_provider",
    "create_app",
    "problem_for",
]
