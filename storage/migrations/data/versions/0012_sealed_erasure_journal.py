"""A sealed erasure journal: every row of `subject_erasures` carries an HMAC under the tenant's
journal key, which the key provider wraps and the data store keeps (`erasure_journal_keys`).
At start the service applies only rows that prove themselves, so a data-store writer cannot
make it destroy a customer's keys.

Rows written before this revision have no seal and are not applied until an operator vouches
for them (`tessera keys erasures --vouch-unsealed`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("subject_erasures", sa.Column("mac", sa.String(64), nullable=True))
    op.create_table(
        "erasure_journal_keys",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("kek_version", sa.Integer, nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasure_journal_keys")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("subject_erasures") as batch:
            batch.drop_column("mac")
    else:
        op.drop_column("subject_erasures", "mac")
