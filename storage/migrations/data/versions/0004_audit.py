"""Audit log (entries, head, signed checkpoints); API keys get a caller kind and roles.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("caller_kind", sa.String(16), nullable=False, server_default="service")
        )
        batch.add_column(sa.Column("roles", sa.String(500), nullable=False, server_default=""))
    op.create_table(
        "audit_entries",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(160), nullable=True),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("tenant_id", "request_id", name="uq_audit_entries_request"),
    )
    op.create_index("ix_audit_entries_subject", "audit_entries", ["tenant_id", "subject_id"])
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("signed", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in ("audit_entries", "audit_checkpoints"):
            op.execute(f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                           FOR EACH ROW EXECUTE FUNCTION tessera_append_only()""")
            op.execute(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                           FOR EACH STATEMENT EXECUTE FUNCTION tessera_append_only()""")
    else:
        for table in ("audit_entries", "audit_checkpoints"):
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
                               BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused');
                               END""")


def downgrade() -> None:
    for table in ("audit_checkpoints", "audit_heads", "audit_entries"):
        op.drop_table(table)
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("roles")
        batch.drop_column("caller_kind")
