"""Service identity tables: tenants and their API keys (data store)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["ApiKey", "AuditCheckpoint", "AuditEntryRow", "AuditHead", "Tenant"]


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    created_at: dt.datetime


class ApiKey(SQLModel, table=True):
    """A caller's credential. Only the SHA-256 of its secret is stored: it is shown once."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=32)
    tenant_id: str = Field(index=True, max_length=64)
    name: str = Field(max_length=200)
    secret_sha256: str = Field(max_length=64)
    scopes: str = Field(max_length=1000)
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    # The policy principal: what the caller is (agent, expert, bot, …) and any extra roles.
    caller_kind: str = Field(default="service", max_length=16)
    roles: str = Field(default="", max_length=500)


class AuditEntryRow(SQLModel, table=True):
    """One entry of the audit log: canonical JSON, its Merkle leaf hash and its chain hash."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "request_id", name="uq_audit_entries_request"),
        Index("ix_audit_entries_subject", "tenant_id", "subject_id"),
    )

    tenant_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=16)
    subject_id: str = Field(default="", max_length=128)
    request_id: str | None = Field(default=None, max_length=160)
    recorded_at: dt.datetime
    body: str = Field(sa_column=Column(Text, nullable=False))
    leaf_hash: str = Field(max_length=64)
    chain_hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    __tablename__ = "audit_heads"

    tenant_id: str = Field(primary_key=True, max_length=64)
    size: int
    chain_hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """A signed tree head: the Merkle root of the first `size` entries, as in RFC 9162."""

    __tablename__ = "audit_checkpoints"

    tenant_id: str = Field(primary_key=True, max_length=64)
    size: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    root_hash: str = Field(max_length=64)
    signed: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime
