"""Trust: the composition root of Tessera, and what answers for it.

Rooms, in the order they depend on each other: `identity` (callers, API keys, scopes) and
`audit` (the log and its offline verification), then `gateway` (every data access), `redaction`
and `webhooks`, then `http` (the API and the card page) and `cli`. `Services` wires them with
the lower packages.

The public names below are imported on first use, so that the command line starts without
loading the web framework or the language models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import (
        AccessDenied,
        AuditTampered,
        AuditUnavailable,
        AuthContextRequired,
        AuthenticationRequired,
        BrokerUnavailable,
        ClusterUnavailable,
        DuplicateWebhook,
        InvalidWebhookSignature,
        MalformedTranscript,
        NoSuchProof,
        PermissionDenied,
        RateLimited,
        RedactionError,
        ReplayedRequest,
        RequestTooLarge,
        StaffExists,
        StepUpRequired,
        TextTooLarge,
        TrustError,
        UnknownLanguage,
        UnknownStaff,
        UnknownTenant,
        UnknownWebhook,
    )
    from ._services import Services, build_key_provider
    from ._settings import Settings
    from .audit import AuditLog, AuditRecord, verify_export, verify_inclusion_proof
    from .gateway import AccessRequest, AccessResult, AuthContext, Gateway, ReleasedItem
    from .http import PROBLEM_JSON, create_app, problem_for
    from .identity import Caller, IssuedKey, Scope, ServiceIdentity
    from .redaction import RedactionJob, RedactionMode, Redactions, Redactor
    from .webhooks import WebhookReceiver, Webhooks, sign_webhook, verify_webhook

_WHERE = {
    "._errors": (
        "AccessDenied",
        "AuditTampered",
        "AuditUnavailable",
        "AuthContextRequired",
        "AuthenticationRequired",
        "BrokerUnavailable",
        "ClusterUnavailable",
        "DuplicateWebhook",
        "InvalidWebhookSignature",
        "MalformedTranscript",
        "NoSuchProof",
        "PermissionDenied",
        "RateLimited",
        "RedactionError",
        "ReplayedRequest",
        "RequestTooLarge",
        "StaffExists",
        "StepUpRequired",
        "TextTooLarge",
        "TrustError",
        "UnknownLanguage",
        "UnknownStaff",
        "UnknownTenant",
        "UnknownWebhook",
    ),
    "._services": ("Services", "build_key_provider"),
    "._settings": ("Settings",),
    ".audit": ("AuditLog", "AuditRecord", "verify_export", "verify_inclusion_proof"),
    ".gateway": ("AccessRequest", "AccessResult", "AuthContext", "Gateway", "ReleasedItem"),
    ".http": ("PROBLEM_JSON", "create_app", "problem_for"),
    ".identity": ("Caller", "IssuedKey", "Scope", "ServiceIdentity"),
    ".redaction": ("RedactionJob", "RedactionMode", "Redactions", "Redactor"),
    ".webhooks": ("WebhookReceiver", "Webhooks", "sign_webhook", "verify_webhook"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = [
    "PROBLEM_JSON",
    "AccessDenied",
    "AccessRequest",
    "AccessResult",
    "AuditLog",
    "AuditRecord",
    "AuditTampered",
    "AuditUnavailable",
    "AuthContext",
    "AuthContextRequired",
    "AuthenticationRequired",
    "BrokerUnavailable",
    "Caller",
    "ClusterUnavailable",
    "DuplicateWebhook",
    "Gateway",
    "InvalidWebhookSignature",
    "IssuedKey",
    "MalformedTranscript",
    "NoSuchProof",
    "PermissionDenied",
    "RateLimited",
    "RedactionError",
    "RedactionJob",
    "RedactionMode",
    "Redactions",
    "Redactor",
    "ReleasedItem",
    "ReplayedRequest",
    "RequestTooLarge",
    "Scope",
    "ServiceIdentity",
    "Services",
    "Settings",
    "StaffExists",
    "StepUpRequired",
    "TextTooLarge",
    "TrustError",
    "UnknownLanguage",
    "UnknownStaff",
    "UnknownTenant",
    "UnknownWebhook",
    "WebhookReceiver",
    "Webhooks",
    "build_key_provider",
    "create_app",
    "problem_for",
    "sign_webhook",
    "verify_export",
    "verify_inclusion_proof",
    "verify_webhook",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
