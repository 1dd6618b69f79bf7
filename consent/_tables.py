"""Consent tables (data store). `consent_events` is append-only, enforced by triggers too."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "ChainHead",
    "ConsentCatalogue",
    "ConsentEventRow",
    "ConsentState",
    "DsrRequestRow",
    "NoticeRow",
    "PurposeRow",
    "SubjectRestriction",
]


class ConsentCatalogue(SQLModel, table=True):
    """The controller named on every receipt of a tenant."""

    __tablename__ = "consent_catalogues"

    tenant_id: str = Field(primary_key=True, max_length=64)
    controller: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: dt.datetime


class PurposeRow(SQLModel, table=True):
    __tablename__ = "purposes"

    tenant_id: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    legal_basis: str = Field(max_length=32)
    definition: str = Field(sa_column=Column(Text, nullable=False))
    notice_version: int
    material_version: int
    updated_at: dt.datetime


class NoticeRow(SQLModel, table=True):
    """Each published version of a purpose's notice, as shown to customers."""

    __tablename__ = "notices"

    tenant_id: str = Field(primary_key=True, max_length=64)
    purpose_id: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    digest: str = Field(max_length=64)
    material: bool
    definition: str = Field(sa_column=Column(Text, nullable=False))
    published_at: dt.datetime


class ConsentEventRow(SQLModel, table=True):
    __tablename__ = "consent_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_consent_events_idempotency"),
        UniqueConstraint("tenant_id", "prev_hash", name="uq_consent_events_prev"),
        Index("ix_consent_events_subject", "tenant_id", "subject_id"),
        Index("ix_consent_events_purpose", "tenant_id", "purpose_id", "seq"),
        Index("ix_consent_events_occurred", "tenant_id", "occurred_at", "seq"),
    )

    tenant_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    subject_id: str = Field(max_length=128)
    purpose_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    channel: str = Field(max_length=32)
    occurred_at: dt.datetime
    idempotency_key: str | None = Field(default=None, max_length=128)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    body: str = Field(sa_column=Column(Text, nullable=False))
    mac: str | None = Field(default=None, max_length=64)  # sealed under the tenant's key


class ChainHead(SQLModel, table=True):
    """The last event of each tenant's chain: the row writers lock to append."""

    __tablename__ = "chain_heads"

    tenant_id: str = Field(primary_key=True, max_length=64)
    seq: int
    hash: str = Field(max_length=64)


class ConsentState(SQLModel, table=True):
    """Projection: the latest event per subject and purpose. Rebuilt from the ledger at will."""

    __tablename__ = "consent_state"

    tenant_id: str = Field(primary_key=True, max_length=64)
    subject_id: str = Field(primary_key=True, max_length=128)
    purpose_id: str = Field(primary_key=True, max_length=64)
    seq: int
    event_hash: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    channel: str = Field(max_length=32)
    notice_version: int
    occurred_at: dt.datetime
    expires_at: dt.datetime | None = None
    mac: str | None = Field(default=None, max_length=64)  # sealed: an UPDATE here is noticed


class SubjectRestriction(SQLModel, table=True):
    """Art. 18: the subject's data is kept but not processed."""

    __tablename__ = "subject_restrictions"

    tenant_id: str = Field(primary_key=True, max_length=64)
    subject_id: str = Field(primary_key=True, max_length=128)
    restricted_at: dt.datetime
    dsr_id: str | None = Field(default=None, max_length=40)


class DsrRequestRow(SQLModel, table=True):
    __tablename__ = "dsr_requests"
    __table_args__ = (
        Index("ix_dsr_requests_state", "tenant_id", "state"),
        Index("uq_dsr_requests_idempotency", "tenant_id", "idempotency_key", unique=True),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    subject_id: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    state: str = Field(max_length=24)
    received_at: dt.datetime
    due_at: dt.datetime
    extension_reason: str | None = Field(default=None, max_length=1000)
    identity_verified_at: dt.datetime | None = None
    verified_by: str | None = Field(default=None, max_length=200)
    completed_at: dt.datetime | None = None
    rejection_reason: str | None = Field(default=None, max_length=1000)
    details: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: dt.datetime
    # A retried POST with the same key answers the same request; another body is a conflict.
    idempotency_key: str | None = Field(default=None, max_length=128)
    request_sha256: str | None = Field(default=None, max_length=64)
