"""Payment links: the link in force, when its card was submitted, the page's step key.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_intents") as batch:
        batch.add_column(sa.Column("link_nonce", sa.String(16), nullable=True))
        batch.add_column(sa.Column("link_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("link_step", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_intents") as batch:
        batch.drop_column("link_step")
        batch.drop_column("link_used_at")
        batch.drop_column("link_nonce")
