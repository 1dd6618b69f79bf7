"""The webhooks' tables: endpoints, and the outbox of deliveries (one per event and endpoint)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

__all__ = ["WebhookDeliveryRow", "WebhookEndpointRow"]


class WebhookEndpointRow(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("uq_webhook_endpoints_idempotency", "tenant_id", "idempotency_key", unique=True),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    url: str = Field(max_length=2048)
    events: str = Field(max_length=500)  # comma-separated types, or "*"
    created_at: dt.datetime
    disabled_at: dt.datetime | None = None
    idempotency_key: str | None = Field(default=None, max_length=128)
    request_sha256: str | None = Field(default=None, max_length=64)


class WebhookDeliveryRow(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "tenant_id", "endpoint_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=40)  # one per event and endpoint
    event_id: str = Field(max_length=40)
    tenant_id: str = Field(max_length=64)
    endpoint_id: str = Field(max_length=40)
    type: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=16)  # pending, delivered, failed
    attempts: int = 0
    next_attempt_at: dt.datetime
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime
    delivered_at: dt.datetime | None = None
