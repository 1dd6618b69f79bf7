"""Cards on file: a customer's card kept (as a vault token) for one-tap payments, with their
consent for that purpose; a payment remembers that it was asked to keep its card or was paid
with a kept one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payment_cards",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("card_token", sa.String(64), nullable=False),
        sa.Column("brand", sa.String(16), nullable=False),
        sa.Column("expiry", sa.String(5), nullable=False),
        sa.Column("consent_seq", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
    )
    op.create_index(
        "ix_payment_cards_subject",
        "payment_cards",
        ["tenant_id", "subject_id", "card_token"],
        unique=True,
    )
    with op.batch_alter_table("payment_intents") as batch:
        batch.add_column(
            sa.Column("save_card", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("saved_card_id", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_intents") as batch:
        batch.drop_column("saved_card_id")
        batch.drop_column("save_card")
    op.drop_table("payment_cards")
