"""The authenticator's stored rows as typed values: what `AuthStore` reads and writes.

One frozen dataclass per table of `_tables.py`, field for field, with every timestamp made
timezone-aware on the way out (SQLite hands back naive ones), so the parts above the store
never touch a driver row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Row

from tessera.storage import as_utc

__all__ = [
    "StoredChallenge",
    "StoredDecision",
    "StoredFactor",
    "StoredFailure",
    "StoredPopulation",
    "StoredProfile",
    "StoredSession",
    "typed",
]

_T = TypeVar("_T")


def typed(cls: type[_T], row: Row[Any] | Any) -> _T:
    """A driver row (SQLAlchemy's, or a hot statement's named tuple) as `cls`, its timestamps
    in UTC."""
    return cls(
        **{
            name: as_utc(value) if isinstance(value, dt.datetime) else value
            for name, value in row._asdict().items()
        }
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredProfile:
    """A customer's habits (`auth_profiles`), `counts` as its JSON text."""

    tenant_id: str
    subject_id: str
    sessions: int
    counts: str
    last_country: str | None = None
    last_auth_at: dt.datetime | None = None
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredPopulation:
    """A tenant's population of sessions (`auth_population`)."""

    tenant_id: str
    sessions: int
    counts: str
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredDecision:
    """One risk decision and its explanation (`auth_decisions`)."""

    id: str
    tenant_id: str
    subject_id: str
    action: str
    channel: str
    scope: str
    score: float
    decision: str
    contributions: str  # JSON feature → contribution
    explanation: str
    signals: str  # JSON of the minimized signals, to learn from once passed
    status: str  # allowed, pending, passed, failed, denied
    created_at: dt.datetime
    resolved_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSession:
    """A session (`auth_sessions`), known by the SHA-256 of its bearer id."""

    id_sha256: str
    tenant_id: str
    subject_id: str
    assurance: int
    scope: str
    factors: str  # comma-separated
    decision_id: str | None = None
    created_at: dt.datetime
    strong_at: dt.datetime | None = None
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFactor:
    """A second factor or a bound identifier (`auth_factors`)."""

    id: str
    tenant_id: str
    subject_id: str
    kind: str  # totp, webauthn, otp, device, caller, sender
    label: str = ""
    status: str  # pending, active, revoked
    secret: bytes | None = None  # TOTP seed, sealed by the vault
    destination: str | None = None  # vault token (otp)
    channel: str | None = None
    credential_id: str | None = None
    public_key: bytes | None = None
    sign_count: int = 0
    last_step: int = 0
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    mac: str | None = None  # the row's seal (`_sealing`): set by the store, checked on read


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredChallenge:
    """A pending step-up, enrolment or device nonce (`auth_challenges`)."""

    id: str
    tenant_id: str
    subject_id: str
    kind: str
    decision_id: str | None = None
    session_sha256: str | None = None
    factor_id: str | None = None
    target: int
    secret: str = ""
    payload: str = "{}"
    attempts: int = 0
    created_at: dt.datetime
    expires_at: dt.datetime
    consumed_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFailure:
    """Consecutive failures of one account, device or network key (`auth_failures`)."""

    tenant_id: str
    key: str
    consecutive: int
    last_at: dt.datetime
    locked_until: dt.datetime | None = None
