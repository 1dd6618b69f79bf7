"""Vault tables. `DataKey` lives in the key store; the others in the data store."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["KEYSTORE_TABLES", "DataKey", "ErasureJournalKey", "SubjectErasure", "VaultItem"]


class DataKey(SQLModel, table=True):
    """A data-encryption key (DEK), wrapped by a KEK version. Key store only."""

    __tablename__ = "data_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "scope", "subject_id", name="uq_data_keys_owner"),
        Index("ix_data_keys_kek_version", "kek_version"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    # "tenant" (values with no subject), "subject" (one per data subject),
    # "index" (the tenant's blind-index HMAC key)
    scope: str = Field(max_length=16)
    subject_id: str = Field(default="", max_length=128)
    kek_version: int
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime


class VaultItem(SQLModel, table=True):
    """One tokenized value: ciphertext bound to tenant, subject, category, key and token."""

    __tablename__ = "vault_items"
    __table_args__ = (
        Index("ix_vault_items_blind", "tenant_id", "blind_index"),
        Index("ix_vault_items_subject", "tenant_id", "subject_id"),
    )

    tenant_id: str = Field(primary_key=True, max_length=64)
    token: str = Field(primary_key=True, max_length=40)
    subject_id: str = Field(default="", max_length=128)
    category: str = Field(max_length=32)
    dek_id: str = Field(max_length=40)
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    blind_index: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime


class SubjectErasure(SQLModel, table=True):
    """Proof that a subject was erased, without the data: who, when, how many values."""

    __tablename__ = "subject_erasures"
    __table_args__ = (Index("ix_subject_erasures_subject", "tenant_id", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64)
    subject_id: str = Field(max_length=128)
    erased_at: dt.datetime
    keys_destroyed: int
    items_destroyed: int
    # HMAC-SHA256 of the row under the tenant's journal key: a row a data-store writer adds
    # cannot destroy keys at the next start.
    mac: str | None = Field(default=None, max_length=64)


class ErasureJournalKey(SQLModel, table=True):
    """The key that seals a tenant's erasure journal, wrapped by the key provider.

    Kept in the data store beside the journal (not in the key store), so that a restored
    key-store backup cannot lose it: the journal must still prove itself after the restore it
    exists to undo. Only the provider unwraps it; a data-store writer can delete it (the
    journal then proves nothing and destroys nothing) but cannot make one that unwraps.
    """

    __tablename__ = "erasure_journal_keys"

    tenant_id: str = Field(primary_key=True, max_length=64)
    kek_version: int
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime


KEYSTORE_TABLES = frozenset({DataKey.__tablename__})
