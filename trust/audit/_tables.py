"""The audit log's tables: entries (canonical JSON, leaf and chain hashes), heads, checkpoints."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["AuditCheckpoint", "AuditEntryRow", "AuditHead"]


class AuditEntryRow(SQLModel, table=True):
    """One entry of the audit log: canonical JSON, its Merkle leaf hash and its chain hash."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "request_id", name="uq_audit_entries_request"),
        Index("ix_audit_entries_subject", "tenant_id", "subject_id", "seq"),
        Index("ix_audit_entries_caller", "tenant_id", "caller", "seq"),
        Index("ix_audit_entries_caller_kind", "tenant_id", "caller_kind", "seq"),
        Index("ix_audit_entries_action", "tenant_id", "action", "seq"),
        Index("ix_audit_entries_outcome", "tenant_id", "outcome", "seq"),
        Index("ix_audit_entries_kind", "tenant_id", "kind", "seq"),
        Index("ix_audit_entries_recorded", "tenant_id", "recorded_at", "seq"),
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
    # HMAC-SHA256 of the chain hash under the tenant's audit key, held behind the key provider:
    # a database writer can compute a valid chain, never this seal.
    mac: str | None = Field(default=None, max_length=64)
    # Search columns, copied from the body of access, request and oversight entries so that
    # the console's searches read an index. Not evidence: what is shown is checked from the body.
    caller: str | None = Field(default=None, max_length=80)
    caller_kind: str | None = Field(default=None, max_length=16)
    action: str | None = Field(default=None, max_length=32)
    outcome: str | None = Field(default=None, max_length=16)


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
