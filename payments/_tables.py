"""Payment tables (data store). No PAN in clear (a vault token that keeps BIN and last four);
the card security code only sealed by the vault while an authentication is pending (PCI DSS
v4.0 3.3.2) and wiped at authorization, failure or expiry (3.3.1)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

__all__ = ["PaymentCardRow", "PaymentIntentRow", "PaymentKeypadRow", "PaymentRefundRow"]


class PaymentIntentRow(SQLModel, table=True):
    __tablename__ = "payment_intents"
    __table_args__ = (
        Index("ix_payment_intents_idempotency", "tenant_id", "idempotency_key", unique=True),
        Index("ix_payment_intents_subject", "tenant_id", "subject_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    subject_id: str = Field(max_length=128)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))  # minor units
    currency: str = Field(max_length=3)
    amount_eur: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    payee: str = Field(max_length=128)
    reference: str = Field(max_length=140)
    channel: str = Field(max_length=32)
    state: str = Field(max_length=24)
    idempotency_key: str = Field(max_length=128)
    request_sha256: str = Field(max_length=64)  # what the key was first used for
    card_token: str | None = Field(default=None, max_length=64)
    card_brand: str | None = Field(default=None, max_length=16)
    card_expiry: str | None = Field(default=None, max_length=5)  # MM/YY
    pending_sad: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    sca_required: bool | None = None
    sca_exemption: str | None = Field(default=None, max_length=32)
    sca_article: str | None = Field(default=None, max_length=64)
    sca_reason: str | None = Field(default=None, max_length=200)
    authenticated: bool = False  # SCA was applied to this payment
    sca_nonce: str | None = Field(default=None, max_length=32)  # of the pending authentication
    risk_decision_id: str | None = Field(default=None, max_length=40)
    processor_ref: str | None = Field(default=None, max_length=64)
    captured: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    refunded: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    failure_code: str | None = Field(default=None, max_length=32)
    link_nonce: str | None = Field(default=None, max_length=16)  # of the link in force
    link_used_at: dt.datetime | None = None  # its card was submitted: it serves no more
    link_step: str | None = Field(default=None, max_length=64)  # SHA-256 of the page's step key
    fraudulent: bool = False  # reported as fraud later: feeds the fraud rate (RTS Art. 19)
    save_card: bool = False  # keep the card on file once authorized (the payer consented)
    saved_card_id: str | None = Field(default=None, max_length=40)  # paid with a card on file
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime


class PaymentRefundRow(SQLModel, table=True):
    __tablename__ = "payment_refunds"
    __table_args__ = (
        Index("ix_payment_refunds_idempotency", "tenant_id", "idempotency_key", unique=True),
        Index("ix_payment_refunds_intent", "tenant_id", "intent_id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    intent_id: str = Field(max_length=40)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    idempotency_key: str = Field(max_length=128)
    processor_ref: str | None = Field(default=None, max_length=64)
    state: str = Field(max_length=16)  # succeeded, failed
    created_at: dt.datetime


class PaymentKeypadRow(SQLModel, table=True):
    """A card being keyed on a phone keypad: what was keyed so far, sealed by the vault under
    the customer's key (PCI DSS v4.0 3.3.2), wiped once the card is submitted or expires."""

    __tablename__ = "payment_keypads"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    intent_id: str = Field(index=True, max_length=40)
    sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    version: int = 0  # one key press at a time: a write names the version it read
    state: str = Field(max_length=16)  # keying, submitted, ended
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime


class PaymentCardRow(SQLModel, table=True):
    """A card kept on file for a returning customer: the vault token (BIN and last four, the
    middle random), never the security code (PCI DSS v4.0 3.3.1). Kept while the customer's
    consent for the `card_on_file` purpose stands; withdrawing it removes the row."""

    __tablename__ = "payment_cards"
    __table_args__ = (
        Index("ix_payment_cards_subject", "tenant_id", "subject_id", "card_token", unique=True),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    subject_id: str = Field(max_length=128)
    card_token: str = Field(max_length=64)
    brand: str = Field(max_length=16)
    expiry: str = Field(max_length=5)  # MM/YY
    consent_seq: int | None = None  # the consent event it was kept under
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
