"""HTTP API of consent: `/v1/purposes`, `/v1/consents` and `/.well-known/gpc.json`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Header, Query, Request, status
from pydantic import BaseModel, Field, StrictInt, StrictStr

from tessera.consent import (
    ConsentDecision,
    ConsentEvent,
    ConsentRequest,
    EventRef,
    Purpose,
    parse_catalogue,
    parse_purpose,
    verify_receipt,
)
from tessera.trust.http._dependencies import CallerDep, ServicesDep, Strict
from tessera.trust.http._models import SubjectPath
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
    subject: StrictStr
    purpose: StrictStr
    kind: StrictStr = Field(description="given, refused, withdrawn, expired or objected")
    channel: StrictStr = Field(description="web, app, chat, messaging, sms, voice_ivr, …")
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


class DecisionOut(BaseModel):
    allowed: bool
    purpose: str
    legal_basis: str
    reason: str
    needs_renewal: bool
    deciding_event: RefOut | None

    @classmethod
    def of(cls, d: ConsentDecision) -> DecisionOut:
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
    channel: StrictStr


class ReceiptIn(Strict):
    receipt: StrictStr


# ---------------------------------------------------------------------- purposes
@router.get("/v1/purposes", response_model=list[PurposeOut], tags=["purposes"])
def list_purposes(who: CallerDep, services: ServicesDep) -> list[PurposeOut]:
    who.require(Scope.CONSENT_READ)
    purposes = services.catalogue.purposes(who.tenant)
    return [PurposeOut.of(p) for _, p in sorted(purposes.items())]


@router.put("/v1/purposes", response_model=list[PurposeOut], tags=["purposes"])
def load_catalogue(body: dict[str, Any], who: CallerDep, services: ServicesDep) -> list[PurposeOut]:
    """A whole catalogue: `controller` and a `purpose` list (the TOML file's shape, as JSON)."""
    who.require(Scope.PURPOSES_WRITE)
    spec = parse_catalogue(body)
    return [PurposeOut.of(p) for p in services.catalogue.load(who.tenant, spec)]


@router.put("/v1/purposes/{purpose_id}", response_model=PurposeOut, tags=["purposes"])
def define_purpose(
    purpose_id: str, body: dict[str, Any], who: CallerDep, services: ServicesDep
) -> PurposeOut:
    """Create or update; a changed notice gets a new version (material ones need renewal)."""
    who.require(Scope.PURPOSES_WRITE)
    spec = parse_purpose({**body, "id": purpose_id})
    return PurposeOut.of(services.catalogue.define(who.tenant, spec))


@router.get("/v1/purposes/{purpose_id}/notices", tags=["purposes"])
def notices(purpose_id: str, who: CallerDep, services: ServicesDep) -> list[dict[str, Any]]:
    who.require(Scope.CONSENT_READ)
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
    """Record a choice; returns the event and its signed receipt. A `Sec-GPC: 1` header also
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
    who.require(Scope.CONSENT_READ)
    return {p: RefOut.of(r) for p, r in services.consents.current(who.tenant, subject).items()}


@router.get("/v1/consents/{subject}/history", response_model=list[EventOut], tags=["consents"])
def consent_history(subject: SubjectPath, who: CallerDep, services: ServicesDep) -> list[EventOut]:
    who.require(Scope.CONSENT_READ)
    return [
        EventOut.of(e, services.receipts.issue(who.tenant, e))
        for e in services.consents.history(who.tenant, subject)
    ]


@router.get("/v1/consents/{subject}/decision", response_model=DecisionOut, tags=["consents"])
def may_we(
    subject: SubjectPath,
    who: CallerDep,
    services: ServicesDep,
    purpose: str = Query(max_length=64),
) -> DecisionOut:
    """May we use this subject's data for this purpose? With the legal basis and the event."""
    who.require(Scope.CONSENT_READ)
    return DecisionOut.of(services.consents.may_we(who.tenant, subject, purpose))


@router.get("/.well-known/gpc.json", tags=["consents"])
def gpc_support() -> dict[str, Any]:
    return {"gpc": True, "lastUpdate": GPC_SINCE}
