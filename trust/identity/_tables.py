"""Identity tables: tenants, their API keys, and the links that name a customer (data store)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["ApiKey", "PortalLinkRow", "StaffRow", "Tenant"]


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


class PortalLinkRow(SQLModel, table=True):
    """A link's nonce and whom it is for. The link's MAC is not kept: the row alone opens
    nothing, and a row a database writer adds or re-points opens nothing either."""

    __tablename__ = "portal_links"

    id: str = Field(primary_key=True, max_length=24)
    tenant_id: str = Field(index=True, max_length=64)
    subject_id: str = Field(max_length=128)
    channel: str = Field(max_length=16)
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None = None


class StaffRow(SQLModel, table=True):
    """A member of staff at the DPO console. `mac` seals who they are and their role under a
    tenant secret: a row a database writer adds, or whose role it raises, signs nobody in."""

    __tablename__ = "staff_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "login", name="uq_staff_accounts_login"),)

    id: str = Field(primary_key=True, max_length=24)
    tenant_id: str = Field(index=True, max_length=64)
    login: str = Field(max_length=64)
    name: str = Field(default="", max_length=200)
    role: str = Field(max_length=16)
    status: str = Field(max_length=16)  # active, disabled
    created_at: dt.datetime
    disabled_at: dt.datetime | None = None
    mac: str = Field(max_length=64)
