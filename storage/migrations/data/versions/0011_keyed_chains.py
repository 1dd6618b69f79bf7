"""Keyed chains (and idempotency keys for data-subject requests and webhook endpoints): every
audit entry and consent event carries a seal (HMAC-SHA256 of its chain
hash under a tenant key held behind the key provider), and so does every row of the consent
projection, so that a database writer who computes a valid hash chain still cannot add, rewrite
or re-point anything unnoticed.

Added with ADD COLUMN (no table copy), so the append-only triggers stay in place. Entries
written before this revision have no seal and are reported as not written by the service.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


_SEALED = ("audit_entries", "consent_events", "consent_state")


_IDEMPOTENT = ("dsr_requests", "webhook_endpoints")


def upgrade() -> None:
    for table in _SEALED:
        op.add_column(table, sa.Column("mac", sa.String(64), nullable=True))
    # Idempotency keys on the POSTs that create a request or an endpoint.
    for table in _IDEMPOTENT:
        op.add_column(table, sa.Column("idempotency_key", sa.String(128), nullable=True))
        op.add_column(table, sa.Column("request_sha256", sa.String(64), nullable=True))
        op.create_index(
            f"uq_{table}_idempotency", table, ["tenant_id", "idempotency_key"], unique=True
        )


def downgrade() -> None:
    for table in _IDEMPOTENT:
        op.drop_index(f"uq_{table}_idempotency", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("request_sha256")
            batch.drop_column("idempotency_key")
    for table in _SEALED:
        if op.get_bind().dialect.name == "sqlite":
            with op.batch_alter_table(table) as batch:
                batch.drop_column("mac")
        else:
            op.drop_column(table, "mac")
