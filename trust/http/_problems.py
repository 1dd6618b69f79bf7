"""The one place where Tessera's exceptions become HTTP problems (RFC 9457)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera import TesseraError
from tessera.auth import (
    AccountLocked,
    ChallengeExpired,
    FactorNotEnrolled,
    FactorWithheld,
    InvalidSignal,
    ReplayedCode,
    SessionExpired,
    StepUpFailed,
    StrongAuthRequired,
    UnknownChallenge,
    UnknownDecision,
    UnknownSession,
)
from tessera.consent import (
    CatalogueError,
    ChainBroken,
    DsrNotFound,
    IdempotencyConflict,
    IdentityNotVerified,
    InvalidEvent,
    InvalidReceipt,
    InvalidTransition,
    UnknownPurpose,
)
from tessera.payments import IdempotencyConflict as PaymentIdempotencyConflict
from tessera.payments import (
    IllegalTransition,
    InvalidAmount,
    InvalidCard,
    InvalidLink,
    LinkExpired,
    LinkUsed,
    NoCardOnFileConsent,
    PaymentDeclined,
    PaymentExpired,
    ProcessorUnavailable,
    RefundTooLarge,
    UnknownCard,
    UnknownCurrency,
    UnknownPayment,
)
from tessera.policies import PolicyLoadError
from tessera.storage import StorageError
from tessera.trust._errors import (
    AccessDenied,
    AuditTampered,
    AuditUnavailable,
    AuthContextRequired,
    AuthenticationRequired,
    CsrfRejected,
    DuplicateWebhook,
    InvalidPortalLink,
    InvalidWebhookSignature,
    NoSuchProof,
    PermissionDenied,
    PortalLinkExpired,
    PortalLinkUsed,
    RateLimited,
    RedactionError,
    ReplayedRequest,
    RequestTooLarge,
    StaffExists,
    StepUpRequired,
    TextTooLarge,
    UnknownLanguage,
    UnknownStaff,
    UnknownTenant,
    UnknownWebhook,
)
from tessera.trust._errors import (
    IdempotencyConflict as TrustIdempotencyConflict,
)
from tessera.trust.telemetry import REQUEST_ID
from tessera.vault import (
    InvalidToken,
    InvalidValue,
    KeyProviderError,
    MalformedToken,
    SensitiveAuthenticationData,
    UnknownSubject,
    ValueTooLarge,
)

__all__ = [
    "PROBLEM_JSON",
    "CatchAll",
    "ProblemType",
    "install_problem_handlers",
    "problem_for",
]

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("tessera.http")


@dataclass(frozen=True, slots=True)
class ProblemType:
    status: int
    slug: str
    title: str

    @property
    def uri(self) -> str:
        return f"urn:tessera:problem:{self.slug}"


# Most specific first: the first class in an exception's MRO found here wins.
_PROBLEMS: dict[type[BaseException], ProblemType] = {
    AuthenticationRequired: ProblemType(401, "authentication-required", "Authentication required"),
    StepUpRequired: ProblemType(403, "step-up-required", "Step-up authentication required"),
    AccessDenied: ProblemType(403, "access-denied", "Access denied"),
    PermissionDenied: ProblemType(403, "permission-denied", "Permission denied"),
    UnknownTenant: ProblemType(404, "unknown-tenant", "Unknown tenant"),
    UnknownStaff: ProblemType(404, "unknown-staff", "Unknown member of staff"),
    StaffExists: ProblemType(409, "staff-exists", "Login already taken"),
    InvalidToken: ProblemType(404, "invalid-token", "Invalid token"),
    UnknownSubject: ProblemType(404, "unknown-subject", "Unknown subject"),
    MalformedToken: ProblemType(422, "malformed-token", "Malformed token"),
    SensitiveAuthenticationData: ProblemType(
        422, "sensitive-authentication-data", "Sensitive authentication data is never stored"
    ),
    ValueTooLarge: ProblemType(413, "too-large", "Too large"),
    RequestTooLarge: ProblemType(413, "too-large", "Too large"),
    InvalidValue: ProblemType(422, "invalid-value", "Invalid value"),
    RateLimited: ProblemType(429, "rate-limited", "Too many requests"),
    AuthContextRequired: ProblemType(422, "auth-context-required", "Auth context required"),
    ReplayedRequest: ProblemType(409, "replayed-request", "Replayed request"),
    AuditUnavailable: ProblemType(503, "audit-unavailable", "Audit trail unavailable"),
    AuditTampered: ProblemType(500, "audit-integrity", "Audit log integrity failure"),
    NoSuchProof: ProblemType(404, "no-such-proof", "No such proof"),
    PolicyLoadError: ProblemType(422, "invalid-policy", "Invalid policy"),
    InvalidSignal: ProblemType(422, "invalid-signal", "Invalid signal"),
    UnknownDecision: ProblemType(404, "unknown-decision", "Unknown risk decision"),
    UnknownSession: ProblemType(404, "unknown-session", "Unknown session"),
    SessionExpired: ProblemType(410, "session-expired", "Session expired"),
    UnknownChallenge: ProblemType(404, "unknown-challenge", "Unknown challenge"),
    ChallengeExpired: ProblemType(410, "challenge-expired", "Challenge expired"),
    StepUpFailed: ProblemType(403, "step-up-failed", "Step-up failed"),
    ReplayedCode: ProblemType(409, "replayed", "Already used"),
    AccountLocked: ProblemType(423, "account-locked", "Temporarily blocked"),
    FactorNotEnrolled: ProblemType(409, "factor-not-enrolled", "Factor not enrolled"),
    FactorWithheld: ProblemType(409, "factor-withheld", "Factor travels over the channel at risk"),
    StrongAuthRequired: ProblemType(
        403, "strong-auth-required", "A recent strong authentication is required"
    ),
    InvalidAmount: ProblemType(422, "invalid-amount", "Invalid amount"),
    UnknownCurrency: ProblemType(422, "unknown-currency", "Unknown currency"),
    InvalidCard: ProblemType(422, "invalid-card", "Invalid card"),
    UnknownPayment: ProblemType(404, "unknown-payment", "Unknown payment"),
    InvalidLink: ProblemType(404, "invalid-payment-link", "Invalid payment link"),
    LinkExpired: ProblemType(410, "payment-link-expired", "Payment link expired"),
    LinkUsed: ProblemType(410, "payment-link-used", "Payment link already used"),
    PaymentIdempotencyConflict: ProblemType(409, "idempotency-conflict", "Idempotency key reused"),
    PaymentExpired: ProblemType(410, "payment-expired", "Payment expired"),
    PaymentDeclined: ProblemType(402, "payment-declined", "Payment declined"),
    ProcessorUnavailable: ProblemType(503, "processor-unavailable", "Processor unavailable"),
    RefundTooLarge: ProblemType(422, "refund-too-large", "Refund above what was captured"),
    TextTooLarge: ProblemType(413, "too-large", "Too large"),
    UnknownLanguage: ProblemType(422, "unknown-language", "Unknown language"),
    RedactionError: ProblemType(422, "invalid-redaction", "Cannot redact"),
    NoCardOnFileConsent: ProblemType(
        403, "no-card-on-file-consent", "No consent to keep the card on file"
    ),
    UnknownCard: ProblemType(404, "unknown-card", "Unknown card on file"),
    IllegalTransition: ProblemType(409, "invalid-transition", "Invalid state transition"),
    UnknownWebhook: ProblemType(404, "unknown-webhook", "Unknown webhook"),
    InvalidWebhookSignature: ProblemType(401, "invalid-signature", "Invalid webhook signature"),
    DuplicateWebhook: ProblemType(409, "duplicate-webhook", "Webhook already received"),
    TrustIdempotencyConflict: ProblemType(409, "idempotency-conflict", "Idempotency key reused"),
    UnknownPurpose: ProblemType(422, "unknown-purpose", "Unknown purpose"),
    CatalogueError: ProblemType(422, "invalid-catalogue", "Invalid purpose catalogue"),
    InvalidEvent: ProblemType(422, "invalid-consent-event", "Invalid consent event"),
    IdempotencyConflict: ProblemType(409, "idempotency-conflict", "Idempotency key reused"),
    InvalidReceipt: ProblemType(422, "invalid-receipt", "Invalid receipt"),
    DsrNotFound: ProblemType(404, "unknown-request", "Unknown data-subject request"),
    InvalidTransition: ProblemType(409, "invalid-transition", "Invalid state transition"),
    IdentityNotVerified: ProblemType(403, "identity-not-verified", "Identity not verified"),
    ChainBroken: ProblemType(500, "ledger-integrity", "Ledger integrity failure"),
    KeyProviderError: ProblemType(503, "key-provider-unavailable", "Key provider unavailable"),
    StorageError: ProblemType(503, "storage-unavailable", "Storage unavailable"),
    CsrfRejected: ProblemType(403, "csrf-rejected", "Form token missing or wrong"),
    InvalidPortalLink: ProblemType(404, "invalid-portal-link", "Invalid portal link"),
    PortalLinkExpired: ProblemType(410, "portal-link-expired", "Portal link expired"),
    PortalLinkUsed: ProblemType(410, "portal-link-used", "Portal link already used"),
    TesseraError: ProblemType(400, "bad-request", "Bad request"),
}

_VALIDATION = ProblemType(422, "validation-error", "Request validation failed")
_CONFLICT = ProblemType(409, "conflict", "Already exists")
_INVALID_TEXT = ProblemType(422, "invalid-text", "Invalid text")
_INTERNAL = ProblemType(500, "internal-error", "Internal error")


def validation_errors(errors: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """The detail ("where: what") and the errors of a failed validation, without the input:
    it may be a card number or an e-mail."""
    cleaned = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in errors
    ]
    first = cleaned[0] if cleaned else {"loc": [], "msg": "invalid request"}
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", cleaned


def problem_for(exc: BaseException) -> ProblemType:
    for cls in type(exc).__mro__:
        if cls in _PROBLEMS:
            return _PROBLEMS[cls]
    return _INTERNAL


def problem_response(
    problem: ProblemType, detail: str, request: Request, **extra: Any
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra.pop("retry_after"))
    body = {
        "type": problem.uri,
        "title": problem.title,
        "status": problem.status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(TesseraError)
    async def _tessera(request: Request, exc: TesseraError) -> JSONResponse:
        problem = problem_for(exc)
        extra = {}
        for name in (
            "index",
            "retry_after",
            "seq",
            "attempts_left",
            "code",
            "state",
            "policy_ids",
            "audit_seq",
            "required_assurance",
        ):
            value = getattr(exc, name, None)
            if value is not None:
                extra[name] = value
        return problem_response(problem, exc.detail, request, **extra)

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        # A row that exists already (a binding registered twice, say): the client's to know,
        # not a server error. The statement's parameters are never shown.
        _log.info("conflict on %s %s", request.method, request.url.path)
        return problem_response(_CONFLICT, "this already exists", request)

    @app.exception_handler(UnicodeError)
    async def _text(request: Request, exc: UnicodeError) -> JSONResponse:
        # A lone surrogate ("\ud800") passes JSON parsing but is not text anything can store.
        return problem_response(
            _INVALID_TEXT, "a value is not valid Unicode text (a lone surrogate?)", request
        )

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # A value the store refuses as such (out of a column's range, say): the client's to
        # fix, never a server error. The statement's parameters are never shown.
        _log.info("unstorable value on %s %s", request.method, request.url.path)
        return problem_response(_INVALID_TEXT, "a value cannot be stored as given", request)

    @app.exception_handler(OperationalError)
    async def _store(request: Request, exc: OperationalError) -> JSONResponse:
        # A lock held past the documented wait, or a store that does not answer: fail closed,
        # fast, and say when to come back. The message may carry parameters: never shown.
        _log.error(
            "store unavailable (%s) on %s %s",
            type(exc.orig).__name__,
            request.method,
            request.url.path,
        )
        problem = _PROBLEMS[StorageError]
        return problem_response(
            problem, "the data store did not answer in time; try again", request, retry_after=1
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = validation_errors(exc.errors())
        return problem_response(_VALIDATION, detail, request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        problem = ProblemType(exc.status_code, f"http-{exc.status_code}", str(exc.detail))
        return problem_response(problem, str(exc.detail), request)


class CatchAll:
    """The last word on an error nothing else mapped: a problem+json 500 with a request id,
    logged as the exception's type and that id only (messages of lower libraries can carry
    statement parameters, and a traceback carries the frames' values). Caught here, inside
    Starlette's error middleware, so that it neither re-raises to the server (which would log
    the traceback and close the keep-alive connection) nor loses the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            # The request's own id (its `X-Request-Id`, in the logs too), else a new one.
            request_id = REQUEST_ID.get() or secrets.token_hex(8)
            _log.error(
                "unhandled %s (request %s) on %s %s",
                type(exc).__name__,
                request_id,
                scope.get("method", ""),
                scope.get("path", ""),
            )
            if started:  # too late for a problem: the client sees a cut response
                return
            response = problem_response(
                _INTERNAL,
                f"an internal error occurred (request {request_id})",
                Request(scope),
                request_id=request_id,
            )
            await response(scope, receive, send)
