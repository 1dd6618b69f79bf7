"""HTTP API of data-subject requests: `/v1/dsr`.

Every step goes through the request desk: decided by policy (purpose `dsr`), recorded in the
audit log before it happens. Who may do what is in the default policies: an agent opens a
request for the caller on the line; the customer opens and carries out their own from a session
at substantial; the DPO runs the queue, and verifies identity by hand at high assurance. The
end user's authentication travels in `auth_context` (never in a URL).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Header, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from tessera.consent import DsrKind, DsrRequest, export_csv
from tessera.trust.http._dependencies import CallerDep, ServicesDep, Strict
from tessera.trust.http._models import CHANNELS, AuthContextIn, auth_context_of, one_of
from tessera.trust.http._pages import CursorQuery, LimitQuery, Page, page_of
from tessera.trust.identity import Scope

__all__ = ["router"]

router = APIRouter(prefix="/v1/dsr", tags=["dsr"])

ChannelField = Field(
    default="web",
    max_length=32,
    description="where the step is taken",
    json_schema_extra=one_of(CHANNELS),
)


class DsrIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": "cust_12345",
                    "kind": "access",
                    "channel": "web",
                    "auth_context": {"session_id": "ses_7f3c2a9e"},
                },
                {"subject": "cust_12345", "kind": "erasure", "channel": "voice_agent"},
            ]
        }
    )

    subject: StrictStr = Field(max_length=128)
    kind: StrictStr = Field(max_length=32, json_schema_extra=one_of(DsrKind))
    details: dict[str, Any] = Field(default_factory=dict)
    channel: StrictStr = ChannelField
    auth_context: AuthContextIn | None = None


class VerifyIdentityIn(Strict):
    """Either the requester's own session (at substantial or above), or a DPO's evidence for a
    request received on paper or by phone, with the DPO's own `auth_context`."""

    session_id: StrictStr | None = Field(default=None, max_length=128)
    evidence: StrictStr | None = Field(default=None, min_length=1, max_length=500)
    channel: StrictStr = ChannelField
    auth_context: AuthContextIn | None = None

    @model_validator(mode="after")
    def _one_proof(self) -> VerifyIdentityIn:
        if (self.session_id is None) == (self.evidence is None):
            raise ValueError("give the requester's session_id, or the evidence of a check by hand")
        return self


class StepIn(Strict):
    channel: StrictStr = ChannelField
    auth_context: AuthContextIn | None = None


class ReasonIn(StepIn):
    reason: StrictStr = Field(min_length=1, max_length=1000)


class ExportIn(StepIn):
    format: Literal["json", "csv"] = "json"


class DsrOut(BaseModel):
    id: str
    subject: str
    kind: str
    state: str
    received_at: dt.datetime
    due_at: dt.datetime
    extended: bool
    extension_reason: str | None
    identity_verified_at: dt.datetime | None
    verified_by: str | None
    completed_at: dt.datetime | None
    rejection_reason: str | None
    overdue: bool

    @classmethod
    def of(cls, r: DsrRequest, now: dt.datetime) -> DsrOut:
        return cls(
            id=r.id,
            subject=r.subject,
            kind=r.kind.value,
            state=r.state.value,
            received_at=r.received_at,
            due_at=r.due_at,
            extended=r.extended,
            extension_reason=r.extension_reason,
            identity_verified_at=r.identity_verified_at,
            verified_by=r.verified_by,
            completed_at=r.completed_at,
            rejection_reason=r.rejection_reason,
            overdue=r.overdue(now),
        )


_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "refused by policy, a step-up needed, or the identity not verified"}
}


@router.post("", response_model=DsrOut, status_code=status.HTTP_201_CREATED, responses=_REFUSED)
def open_request(
    body: DsrIn,
    who: CallerDep,
    services: ServicesDep,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key", max_length=128),
) -> DsrOut:
    """Open a data-subject request (access, portability, rectification, erasure, restriction,
    objection). Same `Idempotency-Key` and body: the same request; same key, another body: 409."""
    request = services.requests.open(
        who,
        body.subject,
        body.kind,
        channel=body.channel,
        details=body.details,
        auth=auth_context_of(body.auth_context),
        idempotency_key=idempotency_key,
    )
    return DsrOut.of(request, services.dsr.clock())


class DsrPage(Page[DsrOut]):
    pass


@router.get("", response_model=DsrPage)
def list_requests(
    who: CallerDep,
    services: ServicesDep,
    overdue: bool = False,
    subject: str | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """The tenant's data-subject requests; only overdue ones, or one customer's, on request."""
    who.require(Scope.DSR)
    now = services.dsr.clock()
    found = services.dsr.list(who.tenant, overdue=overdue, subject=subject)
    return page_of([DsrOut.of(r, now) for r in found], limit, cursor)


@router.get("/{dsr_id}", response_model=DsrOut)
def get_request(dsr_id: str, who: CallerDep, services: ServicesDep) -> DsrOut:
    """One data-subject request, with its state and deadline."""
    who.require(Scope.DSR)
    return DsrOut.of(services.dsr.get(who.tenant, dsr_id), services.dsr.clock())


@router.post("/{dsr_id}/verify-identity", response_model=DsrOut, responses=_REFUSED)
def verify_identity(
    dsr_id: str, body: VerifyIdentityIn, who: CallerDep, services: ServicesDep
) -> DsrOut:
    """Verify the requester's identity: by their own session, or by hand (a DPO, naming the
    evidence)."""
    if body.session_id is not None:
        request = services.requests.verify_by_session(
            who, dsr_id, body.session_id, channel=body.channel
        )
    else:
        request = services.requests.verify_by_hand(
            who,
            dsr_id,
            body.evidence or "",
            channel=body.channel,
            auth=auth_context_of(body.auth_context),
        )
    return DsrOut.of(request, services.dsr.clock())


@router.post("/{dsr_id}/extend", response_model=DsrOut, responses=_REFUSED)
def extend_request(dsr_id: str, body: ReasonIn, who: CallerDep, services: ServicesDep) -> DsrOut:
    """Extend a request's deadline by up to two months (GDPR Art. 12(3)), with a reason."""
    request = services.requests.extend(
        who, dsr_id, body.reason, channel=body.channel, auth=auth_context_of(body.auth_context)
    )
    return DsrOut.of(request, services.dsr.clock())


@router.post("/{dsr_id}/reject", response_model=DsrOut, responses=_REFUSED)
def reject_request(dsr_id: str, body: ReasonIn, who: CallerDep, services: ServicesDep) -> DsrOut:
    """Reject a request as manifestly unfounded or excessive, with a reason."""
    request = services.requests.reject(
        who, dsr_id, body.reason, channel=body.channel, auth=auth_context_of(body.auth_context)
    )
    return DsrOut.of(request, services.dsr.clock())


@router.post("/{dsr_id}/execute", responses=_REFUSED)
def execute_request(
    dsr_id: str, body: StepIn, who: CallerDep, services: ServicesDep
) -> dict[str, Any]:
    """Carry out the request (only once identity is verified) and complete it; an access or
    portability request is then ready for its export."""
    return services.requests.execute(
        who, dsr_id, channel=body.channel, auth=auth_context_of(body.auth_context)
    )


@router.post("/{dsr_id}/export", response_model=None, responses=_REFUSED)
def export_request(dsr_id: str, body: ExportIn, who: CallerDep, services: ServicesDep) -> Any:
    """Release a request's export, once: to the subject's own session or a DPO at high assurance."""
    export = services.requests.export(
        who, dsr_id, channel=body.channel, auth=auth_context_of(body.auth_context)
    )
    if body.format == "csv":
        return PlainTextResponse(export_csv(export), media_type="text/csv; charset=utf-8")
    return export
