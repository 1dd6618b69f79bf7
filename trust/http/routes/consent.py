"""HTTP API of consent: `/v1/purposes`, `/v1/consents` and `/.well-known/gpc.json`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Header, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from tessera.consent import (
    ConsentDecision,
    ConsentEvent,
    ConsentRequest,
    EventKind,
    EventRef,
    Purpose,
    parse_catalogue,
    parse_purpose,
    verify_receipt,
)
from tessera.trust.http._dependencies import CallerDep, ServicesDep, Strict
from tessera.trust.http._models import CHANNELS, SubjectPath, one_of
from tessera.trust.http._pages import CursorQuery, LimitQuery, Page, page_of
from tessera.trust.identity import Scope

__all__ = ["router"]

router = APIRouter()
GPC_SINCE = "2026-11-23"


class PurposeOut(BaseModel):
    id: str
    legal_basis: str
    name: dict[str, str]
    description: dict[str, str]
    data_categories: list[str]
    retention_days: int
    sale_or_sharing: bool
    consent_validity_days: int | None
    policy_url: str | None
    notice_version: int
    material_version: int

    @classmethod
    def of(cls, p: Purpose) -> PurposeOut:
        return cls(
            id=p.id,
            legal_basis=p.legal_basis.value,
            name=p.names,
            description=p.descriptions,
            data_categories=list(p.data_categories),
            retention_days=p.retention_days,
            sale_or_sharing=p.sale_or_sharing,
            consent_validity_days=p.consent_validity_days,
            policy_url=p.policy_url,
            notice_version=p.notice_version,
            material_version=p.material_version,
        )


class ConsentIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": "cust_12345",
                    "purpose": "marketing_sms",
                    "kind": "given",
                    "channel": "voice_agent",
                    "evidence": {"agent": "agt_042", "script": "consent-sms-v3"},
                    "notice_version": 1,
                },
                {
                    "subject": "cust_12345",
                    "purpose": "marketing_sms",
                    "kind": "withdrawn",
                    "channel": "sms",
                    "evidence": {"keyword": "STOP"},
                },
            ]
        }
    )

    subject: StrictStr
    purpose: StrictStr
    kind: StrictStr = Field(
        description="what the customer did", json_schema_extra=one_of(EventKind)
    )
    channel: StrictStr = Field(
        description="where the customer said it", json_schema_extra=one_of(CHANNELS)
    )
    evidence: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    notice_version: StrictInt | None = None
    # Times arrive as RFC 3339 strings: the one place where strict mode must parse.
    occurred_at: dt.datetime | None = Field(
        default=None, strict=False, description="RFC 3339, with zone"
    )
    expires_at: dt.datetime | None = Field(default=None, strict=False)


class EventOut(BaseModel):
    id: str
    seq: int
    hash: str
    prev_hash: str
    subject: str
    purpose: str
    kind: str
    channel: str
    notice_version: int
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    expires_at: dt.datetime | None
    evidence: dict[str, str]
    receipt: str | None = None

    @classmethod
    def of(cls, e: ConsentEvent, receipt: str | None = None) -> EventOut:
        return cls(
            id=e.id,
            seq=e.seq,
            hash=e.hash,
            prev_hash=e.prev_hash,
            subject=e.subject,
            purpose=e.purpose,
            kind=e.kind.value,
            channel=e.channel.value,
            notice_version=e.notice_version,
            occurred_at=e.occurred_at,
            recorded_at=e.recorded_at,
            expires_at=e.expires_at,
            evidence=e.evidence,
            receipt=receipt,
        )


class RecordedOut(BaseModel):
    event: EventOut
    gpc_objections: list[EventOut] = Field(default_factory=list)


class RefOut(BaseModel):
    seq: int
    hash: str
    kind: str
    channel: str
    notice_version: int
    occurred_at: dt.datetime
    expires_at: dt.datetime | None

    @classmethod
    def of(cls, r: EventRef) -> RefOut:
        return cls(
            seq=r.seq,
            hash=r.hash,
            kind=r.kind.value,
            channel=r.channel.value,
            notice_version=r.notice_version,
            occurred_at=r.occurred_at,
            expires_at=r.expires_at,
        )


class ConsentDecisionOut(BaseModel):
    allowed: bool
    purpose: str
    legal_basis: str
    reason: str
    needs_renewal: bool
    deciding_event: RefOut | None

    @classmethod
    def of(cls, d: ConsentDecision) -> ConsentDecisionOut:
        return cls(
            allowed=d.allowed,
            purpose=d.purpose,
            legal_basis=d.legal_basis.value,
            reason=d.reason,
            needs_renewal=d.needs_renewal,
            deciding_event=RefOut.of(d.deciding_event) if d.deciding_event else None,
        )


class GpcIn(Strict):
    subject: StrictStr
    channel: StrictStr = Field(json_schema_extra=one_of(CHANNELS))


class ReceiptIn(Strict):
    receipt: StrictStr


# ---------------------------------------------------------------------- purposes
class PurposePage(Page[PurposeOut]):
    pass


class EventPage(Page[EventOut]):
    pass


@router.get("/v1/purposes", response_model=PurposePage, tags=["purposes"])
def list_purposes(
    who: CallerDep,
    services: ServicesDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """The tenant's purposes of processing, each with its current notice."""
    who.require(Scope.CONSENT_READ)
    purposes = services.catalogue.purposes(who.tenant)
    return page_of([PurposeOut.of(p) for _, p in sorted(purposes.items())], limit, cursor)


@router.put("/v1/purposes", response_model=list[PurposeOut], tags=["purposes"])
def load_catalogue(body: dict[str, Any], who: CallerDep, services: ServicesDep) -> list[PurposeOut]:
    """Load a whole catalogue: `controller` and a `purpose` list (the TOML file's shape, as
    JSON)."""
    who.require(Scope.PURPOSES_WRITE)
    spec = parse_catalogue(body)
    return [PurposeOut.of(p) for p in services.catalogue.load(who.tenant, spec)]


@router.put("/v1/purposes/{purpose_id}", response_model=PurposeOut, tags=["purposes"])
def define_purpose(
    purpose_id: str, body: dict[str, Any], who: CallerDep, services: ServicesDep
) -> PurposeOut:
    """Create or update one purpose; a changed notice gets a new version (material ones need
    renewal)."""
    who.require(Scope.PURPOSES_WRITE)
    spec = parse_purpose({**body, "id": purpose_id})
    return PurposeOut.of(services.catalogue.define(who.tenant, spec))


@router.get("/v1/purposes/{purpose_id}/notices", tags=["purposes"])
def notices(
    purpose_id: str,
    who: CallerDep,
    services: ServicesDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Every version of a purpose's notice, with its digest and whether it was material."""
    who.require(Scope.CONSENT_READ)
    return page_of(_notices(purpose_id, who, services), limit, cursor)


def _notices(purpose_id: str, who: Any, services: Any) -> list[dict[str, Any]]:
    return [
        {
            "version": n.version,
            "material": n.material,
            "digest": n.digest,
            "published_at": n.published_at,
        }
        for n in services.catalogue.notices(who.tenant, purpose_id)
    ]


# ---------------------------------------------------------------------- consents
@router.post(
    "/v1/consents",
    response_model=RecordedOut,
    status_code=status.HTTP_201_CREATED,
    tags=["consents"],
)
def record_consent(
    body: ConsentIn,
    request: Request,
    who: CallerDep,
    services: ServicesDep,
    idempotency_key: str | None = Header(default=None, max_length=128),
) -> RecordedOut:
    """Record a consent choice; returns the event and its signed receipt. A `Sec-GPC: 1` header also
    records an objection to every sale/sharing purpose."""
    who.require(Scope.CONSENT_WRITE)
    event = services.consents.record(
        who.tenant,
        ConsentRequest(
            subject=body.subject,
            purpose=body.purpose,
            kind=body.kind,
            channel=body.channel,
            evidence=body.evidence,
            notice_version=body.notice_version,
            occurred_at=body.occurred_at,
            expires_at=body.expires_at,
            idempotency_key=idempotency_key,
        ),
    )
    gpc = services.consents.honour_gpc(
        who.tenant, body.subject, channel=body.channel, signals=request.headers.getlist("sec-gpc")
    )
    return RecordedOut(
        event=EventOut.of(event, services.receipts.issue(who.tenant, event)),
        gpc_objections=[EventOut.of(e, services.receipts.issue(who.tenant, e)) for e in gpc],
    )


@router.post("/v1/consents/gpc", response_model=list[EventOut], tags=["consents"])
def global_privacy_control(
    body: GpcIn, request: Request, who: CallerDep, services: ServicesDep
) -> list[EventOut]:
    """Forward a visitor's `Sec-GPC` header: `1` objects to sale/sharing; anything else is
    ignored."""
    who.require(Scope.CONSENT_WRITE)
    events = services.consents.honour_gpc(
        who.tenant, body.subject, channel=body.channel, signals=request.headers.getlist("sec-gpc")
    )
    return [EventOut.of(e, services.receipts.issue(who.tenant, e)) for e in events]


@router.get("/v1/consents/receipt-key", tags=["consents"])
def receipt_key(who: CallerDep, services: ServicesDep) -> dict[str, Any]:
    """The tenant's public key (JWK) for checking receipts offline."""
    who.require(Scope.CONSENT_READ)
    return services.receipts.public_jwk(who.tenant)


@router.post("/v1/consents/receipts/verify", tags=["consents"])
def check_receipt(body: ReceiptIn, who: CallerDep, services: ServicesDep) -> dict[str, Any]:
    """Verify a consent receipt's signature against the tenant's receipt key."""
    who.require(Scope.CONSENT_READ)
    return verify_receipt(body.receipt, services.receipts.public_jwk(who.tenant))


@router.get("/v1/consents/head", tags=["consents"])
def ledger_head(who: CallerDep, services: ServicesDep) -> dict[str, Any]:
    """The ledger's head, signed: keep it, and later prove the ledger extends it."""
    who.require(Scope.CONSENT_READ)
    seq, head = services.consents.head(who.tenant)
    return {"seq": seq, "hash": head, "signed": services.receipts.sign_head(who.tenant, seq, head)}


@router.get("/v1/consents/{subject}", response_model=dict[str, RefOut], tags=["consents"])
def current_consents(
    subject: SubjectPath, who: CallerDep, services: ServicesDep
) -> dict[str, RefOut]:
    """The customer's current consent per purpose: a reference to its newest event."""
    who.require(Scope.CONSENT_READ)
    return {p: RefOut.of(r) for p, r in services.consents.current(who.tenant, subject).items()}


@router.get("/v1/consents/{subject}/history", response_model=EventPage, tags=["consents"])
def consent_history(
    subject: SubjectPath,
    who: CallerDep,
    services: ServicesDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Every consent event of the customer, oldest first, with its receipt."""
    who.require(Scope.CONSENT_READ)
    # Receipts are signed for the page shown only.
    shown = page_of(services.consents.history(who.tenant, subject), limit, cursor)
    shown["data"] = [EventOut.of(e, services.receipts.issue(who.tenant, e)) for e in shown["data"]]
    return shown


@router.get("/v1/consents/{subject}/decision", response_model=ConsentDecisionOut, tags=["consents"])
def may_we(
    subject: SubjectPath,
    who: CallerDep,
    services: ServicesDep,
    purpose: str = Query(max_length=64),
) -> ConsentDecisionOut:
    """May we use this subject's data for this purpose? With the legal basis and the event."""
    who.require(Scope.CONSENT_READ)
    return ConsentDecisionOut.of(services.consents.may_we(who.tenant, subject, purpose))


@router.get("/.well-known/gpc.json", tags=["consents"])
def gpc_support() -> dict[str, Any]:
    """Global Privacy Control support, as the GPC specification's well-known resource."""
    return {"gpc": True, "lastUpdate": GPC_SINCE}
