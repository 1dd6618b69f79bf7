"""Authentication tables (data store). No raw identifier, IP or secret is kept in clear: signals
are minimized, session ids and codes are hashed, TOTP secrets are sealed by the vault under the
subject's key (so erasing the subject shreds them too)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

__all__ = [
    "AuthChallengeRow",
    "AuthDecisionRow",
    "AuthFactorRow",
    "AuthFailureRow",
    "AuthPopulationRow",
    "AuthProfileRow",
    "AuthSessionRow",
]


class AuthProfileRow(SQLModel, table=True):
    """A customer's habits, learnt only from strongly authenticated sessions."""

    __tablename__ = "auth_profiles"

    tenant_id: str = Field(primary_key=True, max_length=64)
    subject_id: str = Field(primary_key=True, max_length=128)
    sessions: int = 0
    counts: str = Field(sa_column=Column(Text, nullable=False))  # JSON feature → value → n
    last_country: str | None = Field(default=None, max_length=2)
    last_auth_at: dt.datetime | None = None
    updated_at: dt.datetime


class AuthPopulationRow(SQLModel, table=True):
    __tablename__ = "auth_population"

    tenant_id: str = Field(primary_key=True, max_length=64)
    sessions: int = 0
    counts: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: dt.datetime


class AuthDecisionRow(SQLModel, table=True):
    """One risk decision with its explanation; kept for the retention period of fraud records."""

    __tablename__ = "auth_decisions"
    __table_args__ = (Index("ix_auth_decisions_created", "tenant_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    subject_id: str = Field(max_length=128)
    action: str = Field(max_length=16)
    channel: str = Field(max_length=32)
    scope: str = Field(max_length=16)
    score: float
    decision: str = Field(max_length=16)
    contributions: str = Field(sa_column=Column(Text, nullable=False))
    explanation: str = Field(max_length=500)
    signals: str = Field(sa_column=Column(Text, nullable=False))  # minimized, for learning
    status: str = Field(max_length=16)  # allowed, pending, passed, failed, denied
    created_at: dt.datetime
    resolved_at: dt.datetime | None = None


class AuthSessionRow(SQLModel, table=True):
    """An authenticated session; only the SHA-256 of its bearer id is stored."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_subject", "tenant_id", "subject_id"),)

    id_sha256: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(max_length=64)
    subject_id: str = Field(max_length=128)
    assurance: int
    scope: str = Field(max_length=16)  # account or payment
    factors: str = Field(max_length=200)
    decision_id: str | None = Field(default=None, max_length=40)
    created_at: dt.datetime
    strong_at: dt.datetime | None = None  # last successful step-up (for enrolments)
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None = None


class AuthFactorRow(SQLModel, table=True):
    """A second factor: TOTP (sealed secret), passkey (public key) or OTP destination (token)."""

    __tablename__ = "auth_factors"
    __table_args__ = (
        Index("ix_auth_factors_subject", "tenant_id", "subject_id"),
        Index("ix_auth_factors_credential", "tenant_id", "credential_id", unique=True),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    subject_id: str = Field(max_length=128)
    kind: str = Field(max_length=16)  # totp, webauthn, otp
    label: str = Field(default="", max_length=100)
    status: str = Field(max_length=16)  # pending, active, revoked
    secret: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    destination: str | None = Field(default=None, max_length=64)  # vault token (otp)
    channel: str | None = Field(default=None, max_length=16)  # sms, email, messaging
    credential_id: str | None = Field(default=None, max_length=1400)
    public_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    sign_count: int = 0
    last_step: int = 0  # TOTP: the last time step accepted (a code is accepted once)
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    mac: str | None = Field(default=None, max_length=64)  # its seal (auth/_sealing.py)


class AuthChallengeRow(SQLModel, table=True):
    """A pending step-up or enrolment: single use, short-lived, a bounded number of attempts."""

    __tablename__ = "auth_challenges"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    subject_id: str = Field(max_length=128)
    kind: str = Field(max_length=24)
    decision_id: str | None = Field(default=None, max_length=40)
    session_sha256: str | None = Field(default=None, max_length=64)
    factor_id: str | None = Field(default=None, max_length=40)
    target: int  # the assurance it grants
    secret: str = Field(default="", max_length=128)  # keyed hash of a code, or a challenge
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    attempts: int = 0
    created_at: dt.datetime
    expires_at: dt.datetime
    consumed_at: dt.datetime | None = None


class AuthFailureRow(SQLModel, table=True):
    """Consecutive failures per account, device or network (a keyed hash), and any block."""

    __tablename__ = "auth_failures"

    tenant_id: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=64)
    consecutive: int = 0
    last_at: dt.datetime
    locked_until: dt.datetime | None = None
