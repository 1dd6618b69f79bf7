"""HTTP API of the gateway and the audit log: `/v1/access`, the token reads, `/v1/audit`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from tessera.policies import Action, PolicyOutcome
from tessera.trust._services import Services
from tessera.trust.gateway import (
    MAX_REIDENTIFY_CHARS,
    AccessRequest,
    AccessResult,
    Form,
)
from tessera.trust.http._dependencies import CallerDep, ServicesDep, Strict
from tessera.trust.http._models import (
    CHANNELS,
    MAX_POSITION,
    AuthContextIn,
    auth_context_of,
    one_of,
)
from tessera.trust.http._pages import CursorQuery, LimitQuery, page_of
from tessera.trust.http._problems import ProblemType, problem_response
from tessera.trust.identity import Caller, Scope
from tessera.vault import DataCategory

__all__ = ["router"]

router = APIRouter()

_DENIED = ProblemType(403, "access-denied", "Access denied")
_STEP_UP = ProblemType(403, "step-up-required", "Step-up authentication required")
# What `/v1/access` decides; payments and requests have their own routes.
_ACTIONS = (Action.READ_MASKED, Action.DETOKENIZE, Action.EXPORT, Action.ERASE)


class AccessIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "read_masked",
                    "purpose": "customer_service",
                    "channel": "voice_agent",
                    "subject": "cust_12345",
                    "categories": ["email", "phone"],
                },
                {
                    "action": "detokenize",
                    "purpose": "customer_service",
                    "channel": "chat",
                    "tokens": ["tok_9f86d081884c7d659a2feaa0c55ad015"],
                    "auth_context": {"session_id": "ses_7f3c2a9e"},
                },
            ]
        }
    )

    action: StrictStr = Field(
        description="what is asked: masked values, clear values, an export or an erasure",
        json_schema_extra=one_of(_ACTIONS),
    )
    purpose: StrictStr = Field(description="a purpose of the tenant's catalogue")
    channel: StrictStr = Field(json_schema_extra=one_of(CHANNELS))
    subject: StrictStr | None = None
    categories: list[StrictStr] = Field(
        default_factory=list, max_length=20, json_schema_extra=one_of(DataCategory)
    )
    tokens: list[StrictStr] = Field(default_factory=list, max_length=1000)
    auth_context: AuthContextIn | None = None


class TokenAccessIn(Strict):
    tokens: list[StrictStr] = Field(max_length=1000)
    purpose: StrictStr
    channel: StrictStr = Field(json_schema_extra=one_of(CHANNELS))
    auth_context: AuthContextIn | None = None


class ItemOut(BaseModel):
    token: str
    category: str
    subject: str | None
    value: str


class AccessOut(BaseModel):
    outcome: str
    reason: str
    policy_ids: list[str]
    items: list[ItemOut]
    audit_seq: int | None


class DetokenizedOut(BaseModel):
    token: str
    category: str
    subject: str | None
    value: str


class MaskedOut(BaseModel):
    token: str
    masked: str


def _refusal(result: AccessResult, request: Request) -> JSONResponse:
    step_up = result.outcome is PolicyOutcome.STEP_UP
    extra: dict[str, Any] = {"policy_ids": list(result.policy_ids), "audit_seq": result.audit_seq}
    if step_up and result.required_assurance:
        extra["required_assurance"] = result.required_assurance.name.lower()
    return problem_response(_STEP_UP if step_up else _DENIED, result.reason, request, **extra)


@router.post(
    "/v1/access",
    response_model=AccessOut,
    tags=["gateway"],
    responses={403: {"description": "denied, or a step-up is required"}},
)
async def access(
    body: AccessIn,
    request: Request,
    who: CallerDep,
    services: ServicesDep,
    x_request_id: str | None = Header(default=None, max_length=128),
) -> Any:
    """Decide and answer a data access: policy, legal basis, assurance, vault, audit, in that
    order."""
    who.require(Scope.ACCESS)
    asked = AccessRequest(
        action=body.action,
        purpose=body.purpose,
        channel=body.channel,
        subject=body.subject,
        categories=tuple(body.categories),
        tokens=tuple(body.tokens),
        auth=auth_context_of(body.auth_context),
        request_id=x_request_id,
    )
    # The hottest route is async. On SQLite the access runs right here: its statements take
    # microseconds, less than a hop to a worker thread and the GIL contention between many of
    # them (which halved the server's throughput), and the audit records of the requests in
    # flight are committed together. Elsewhere it goes to the thread pool.
    if request.app.state.access_on_event_loop:
        result = await services.gateway.access_soon(who, asked)
    else:
        result = await run_in_threadpool(services.gateway.access, who, asked)
    if not result.allowed:
        return _refusal(result, request)
    return AccessOut(
        outcome=result.outcome.value,
        reason=result.reason,
        policy_ids=list(result.policy_ids),
        audit_seq=result.audit_seq,
        items=[
            ItemOut(token=i.token, category=i.category, subject=i.subject, value=i.value)
            for i in result.items
        ],
    )


def _token_read(
    action: str, body: TokenAccessIn, who: Caller, services: Services, request_id: str | None
) -> AccessResult:
    return services.gateway.access(
        who,
        AccessRequest(
            action=action,
            purpose=body.purpose,
            channel=body.channel,
            tokens=tuple(body.tokens),
            auth=auth_context_of(body.auth_context),
            request_id=request_id,
        ),
    )


@router.post("/v1/tokens/detokenize", response_model=list[DetokenizedOut], tags=["vault"])
def detokenize(
    body: TokenAccessIn,
    request: Request,
    who: CallerDep,
    services: ServicesDep,
    x_request_id: str | None = Header(default=None, max_length=128),
) -> Any:
    """Clear values, through the gateway: the purpose, the policies and the session decide."""
    who.require(Scope.DETOKENIZE)
    result = _token_read("detokenize", body, who, services, x_request_id)
    if not result.allowed:
        return _refusal(result, request)
    return [
        DetokenizedOut(token=i.token, category=i.category, subject=i.subject, value=i.value)
        for i in result.items
    ]


@router.post("/v1/tokens/reveal-masked", response_model=list[MaskedOut], tags=["vault"])
def reveal_masked(
    body: TokenAccessIn,
    request: Request,
    who: CallerDep,
    services: ServicesDep,
    x_request_id: str | None = Header(default=None, max_length=128),
) -> Any:
    """Display forms only (`•••• 4242`, `j•••@example.fr`), through the gateway."""
    who.require(Scope.REVEAL_MASKED)
    result = _token_read("read_masked", body, who, services, x_request_id)
    if not result.allowed:
        return _refusal(result, request)
    return [MaskedOut(token=i.token, masked=i.value) for i in result.items]


# ---------------------------------------------------------------------- re-identification
class ReidentifyIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "Customer tok_9f86d081884c7d659a2feaa0c55ad015 asked to change "
                    "the card 4970101287312244 on file.",
                    "purpose": "customer_service",
                    "channel": "chat",
                    "auth_context": {"session_id": "ses_7f3c2a9e"},
                }
            ]
        }
    )

    text: StrictStr = Field(
        max_length=MAX_REIDENTIFY_CHARS,
        description="a text holding Tessera tokens: an AI summary of a tokenized transcript",
    )
    purpose: StrictStr = Field(description="a purpose of the tenant's catalogue")
    channel: StrictStr = Field(json_schema_extra=one_of(CHANNELS))
    most: StrictStr = Field(
        default=Form.CLEAR.value,
        description="the most to show: clear values are tried only with the end user's auth "
        "context; a bot reading a summary back asks for masked",
        json_schema_extra=one_of(Form),
    )
    auth_context: AuthContextIn | None = None


class ReplacementOut(BaseModel):
    token: str
    form: str = Field(json_schema_extra=one_of(Form))
    occurrences: int
    category: str | None = Field(description="null: not a token of this tenant")
    reason: str
    policy_ids: list[str]
    audit_seqs: list[int] = Field(description="the audit entries of the decisions taken")
    required_assurance: str | None = Field(
        description="the step-up after which the value would be shown in clear"
    )


class ReidentifiedOut(BaseModel):
    text: str
    replacements: list[ReplacementOut]


@router.post("/v1/reidentify", response_model=ReidentifiedOut, tags=["gateway"])
def reidentify(body: ReidentifyIn, who: CallerDep, services: ServicesDep) -> Any:
    """Replace the tokens of a text (an AI summary) with what the caller's policies allow for
    the purpose: clear, masked, or the token left as it is. Each token is one access, decided
    and recorded in the audit log; tokens the tenant does not hold stay as they are."""
    who.require(Scope.ACCESS)
    done = services.gateway.reidentify(
        who,
        body.text,
        purpose=body.purpose,
        channel=body.channel,
        auth=auth_context_of(body.auth_context),
        most=body.most,
    )
    return ReidentifiedOut(
        text=done.text,
        replacements=[
            ReplacementOut(
                token=r.token,
                form=r.form.value,
                occurrences=r.occurrences,
                category=r.category,
                reason=r.reason,
                policy_ids=list(r.policy_ids),
                audit_seqs=list(r.audit_seqs),
                required_assurance=(
                    r.required_assurance.name.lower() if r.required_assurance else None
                ),
            )
            for r in done.replacements
        ],
    )


# ---------------------------------------------------------------------- audit
@router.get("/v1/audit/events", tags=["audit"])
def security_events(
    who: CallerDep,
    services: ServicesDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Tenants, API keys, webhook endpoints, key rotations and policy loads, with who did them."""
    who.require(Scope.AUDIT)
    return page_of(services.audit.security_events(who.tenant), limit, cursor)


@router.post("/v1/audit/checkpoints", tags=["audit"])
def make_checkpoint(who: CallerDep, services: ServicesDep) -> dict[str, Any]:
    """Sign a checkpoint of the tenant's audit log now (its size and Merkle root)."""
    who.require(Scope.AUDIT)
    return services.audit.checkpoint(who.tenant)


@router.get("/v1/audit/checkpoints", tags=["audit"])
def list_checkpoints(
    who: CallerDep,
    services: ServicesDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """The tenant's signed audit checkpoints, oldest first."""
    who.require(Scope.AUDIT)
    return page_of(services.audit.checkpoints(who.tenant), limit, cursor)


@router.get("/v1/audit/public-key", tags=["audit"])
def audit_key(who: CallerDep, services: ServicesDep) -> dict[str, Any]:
    """The public key that verifies audit checkpoints and consent receipts."""
    who.require(Scope.AUDIT)
    return services.audit.public_jwk(who.tenant)


@router.get("/v1/audit/proofs/inclusion", tags=["audit"])
def inclusion_proof(
    who: CallerDep,
    services: ServicesDep,
    seq: int = Query(ge=0, le=MAX_POSITION),
    size: int = Query(ge=1, le=MAX_POSITION),
) -> dict[str, Any]:
    """A Merkle proof that an entry is in the log at a checkpoint's size."""
    who.require(Scope.AUDIT)
    return services.audit.inclusion_proof(who.tenant, seq, size)


@router.get("/v1/audit/proofs/consistency", tags=["audit"])
def consistency_proof(
    who: CallerDep,
    services: ServicesDep,
    first: int = Query(ge=1, le=MAX_POSITION),
    second: int = Query(ge=1, le=MAX_POSITION),
) -> dict[str, Any]:
    """A Merkle proof that a larger log extends a smaller one unchanged."""
    who.require(Scope.AUDIT)
    return services.audit.consistency_proof(who.tenant, first, second)
