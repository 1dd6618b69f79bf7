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
from ._webhooks import (
    DuplicateWebhook,
    InvalidWebhookSignature,
    WebhookReceiver,
    Webhooks,
    sign_webhook,
    verify_webhook,
)

__all__ = [
    "PROBLEM_JSON",
    "AuthenticationRequired",
    "Caller",
    "DuplicateWebhook",
    "InvalidWebhookSignature",
    "IssuedKey",
    "PermissionDenied",
    "RequestTooLarge",
    "Scope",
    "ServiceIdentity",
    "Services",
    "Settings",
    "TrustError",
    "UnknownTenant",
    "WebhookReceiver",
    "Webhooks",
    "build_key_provider",
    "create_app",
    "problem_for",
    "sign_webhook",
    "verify_webhook",
]
