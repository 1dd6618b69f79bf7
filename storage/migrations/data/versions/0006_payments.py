"""Payments: intents and refunds.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payment_intents",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_eur", sa.BigInteger(), nullable=True),
        sa.Column("payee", sa.String(128), nullable=False),
        sa.Column("reference", sa.String(140), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("card_token", sa.String(64), nullable=True),
        sa.Column("card_brand", sa.String(16), nullable=True),
        sa.Column("card_expiry", sa.String(5), nullable=True),
        sa.Column("pending_sad", sa.LargeBinary(), nullable=True),
        sa.Column("sca_required", sa.Boolean(), nullable=True),
        sa.Column("sca_exemption", sa.String(32), nullable=True),
        sa.Column("sca_article", sa.String(64), nullable=True),
        sa.Column("sca_reason", sa.String(200), nullable=True),
        sa.Column("authenticated", sa.Boolean(), nullable=False),
        sa.Column("sca_nonce", sa.String(32), nullable=True),
        sa.Column("risk_decision_id", sa.String(40), nullable=True),
        sa.Column("processor_ref", sa.String(64), nullable=True),
        sa.Column("captured", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("failure_code", sa.String(32), nullable=True),
        sa.Column("fraudulent", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index(
        "ix_payment_intents_idempotency",
        "payment_intents",
        ["tenant_id", "idempotency_key"],
        unique=True,
    )
    op.create_index(
        "ix_payment_intents_subject", "payment_intents", ["tenant_id", "subject_id", "created_at"]
    )
    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("intent_id", sa.String(40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("processor_ref", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index(
        "ix_payment_refunds_idempotency",
        "payment_refunds",
        ["tenant_id", "idempotency_key"],
        unique=True,
    )
    op.create_index("ix_payment_refunds_intent", "payment_refunds", ["tenant_id", "intent_id"])


def downgrade() -> None:
    op.drop_table("payment_refunds")
    op.drop_table("payment_intents")
