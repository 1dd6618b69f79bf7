"""Factor rows sealed under their tenant's key (auth/_sealing.py).

Rows written before have no seal and are not trusted until an operator, who vouches for them,
seals them with `tessera auth seal-factors` (which records each one in the audit trail): a
migration holds no key.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("auth_factors") as batch:
        batch.add_column(sa.Column("mac", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_factors") as batch:
        batch.drop_column("mac")
