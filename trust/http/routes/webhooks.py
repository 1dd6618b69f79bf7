"""`/v1/webhooks`: where payment status is sent, and what became of each delivery."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import Field, StrictStr

from tessera.trust.http._dependencies import CallerDep, ServicesDep, Strict
from tessera.trust.http._models import FromDomain
from tessera.trust.http._pages import CursorQuery, LimitQuery, Page, page_of
from tessera.trust.identity import Scope

__all__ = ["router"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class EndpointIn(Strict):
    url: StrictStr = Field(max_length=2048, description="https (http only to this machine)")
    events: list[StrictStr] = Field(default=["*"], max_length=16)


class EndpointOut(FromDomain):
    id: str
    url: str
    events: list[str]
    created_at: dt.datetime
    secret: str | None = Field(None, description="shown once, at creation: verify signatures")


class DeliveryOut(FromDomain):
    id: str
    event_id: str
    endpoint_id: str
    type: str
    state: str
    attempts: int
    next_attempt_at: dt.datetime
    last_status: int | None
    last_error: str | None


@router.post("", response_model=EndpointOut, status_code=201)
def add_endpoint(
    body: EndpointIn,
    who: CallerDep,
    services: ServicesDep,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key", max_length=128),
) -> EndpointOut:
    """Register a webhook endpoint; its signing secret is in this answer and nowhere else. Same
    `Idempotency-Key` and body: the same endpoint; same key, another body: 409."""
    who.require(Scope.WEBHOOKS)
    return EndpointOut.model_validate(
        services.webhooks.add_endpoint(
            who.tenant,
            body.url,
            body.events,
            actor=f"key {who.key_id}",
            idempotency_key=idempotency_key,
        )
    )


class EndpointPage(Page[EndpointOut]):
    pass


class DeliveryPage(Page[DeliveryOut]):
    pass


@router.get("", response_model=EndpointPage)
def list_endpoints(
    who: CallerDep,
    services: ServicesDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """The tenant's webhook endpoints (never their signing secrets)."""
    who.require(Scope.WEBHOOKS)
    endpoints = services.webhooks.endpoints(who.tenant)
    return page_of([EndpointOut.model_validate(e) for e in endpoints], limit, cursor)


@router.delete("/{endpoint_id}", status_code=204)
def remove_endpoint(endpoint_id: str, who: CallerDep, services: ServicesDep) -> Response:
    """Stop sending to an endpoint; deliveries still queued for it are marked failed."""
    who.require(Scope.WEBHOOKS)
    services.webhooks.remove_endpoint(who.tenant, endpoint_id, actor=f"key {who.key_id}")
    return Response(status_code=204)


@router.get("/deliveries", response_model=DeliveryPage)
def deliveries(
    who: CallerDep,
    services: ServicesDep,
    state: str | None = Query(None, pattern="^(pending|delivered|failed)$"),
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """The tenant's webhook deliveries, optionally of one state (pending, delivered, failed)."""
    who.require(Scope.WEBHOOKS)
    found = services.webhooks.deliveries(who.tenant, state=state)
    return page_of([DeliveryOut.model_validate(d) for d in found], limit, cursor)


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut)
def redeliver(delivery_id: str, who: CallerDep, services: ServicesDep) -> DeliveryOut:
    """Queue an event again, with its event id (receivers drop what they already have)."""
    who.require(Scope.WEBHOOKS)
    return DeliveryOut.model_validate(services.webhooks.redeliver(who.tenant, delivery_id))
