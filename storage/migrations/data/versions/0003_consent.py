"""Consent: catalogue, notices, the append-only ledger, its projection, DSRs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consent_catalogues",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("controller", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "purposes",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("legal_basis", sa.String(32), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("notice_version", sa.Integer(), nullable=False),
        sa.Column("material_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "notices",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("purpose_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("material", sa.Boolean(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("published_at", TS, nullable=False),
    )
    op.create_table(
        "consent_events",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("purpose_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_consent_events_idempotency"),
        sa.UniqueConstraint("tenant_id", "prev_hash", name="uq_consent_events_prev"),
    )
    op.create_index("ix_consent_events_subject", "consent_events", ["tenant_id", "subject_id"])
    op.create_table(
        "chain_heads",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "consent_state",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("subject_id", sa.String(128), primary_key=True),
        sa.Column("purpose_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("notice_version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
    )
    op.create_table(
        "subject_restrictions",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("subject_id", sa.String(128), primary_key=True),
        sa.Column("restricted_at", TS, nullable=False),
        sa.Column("dsr_id", sa.String(40), nullable=True),
    )
    op.create_table(
        "dsr_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("extension_reason", sa.String(1000), nullable=True),
        sa.Column("identity_verified_at", TS, nullable=True),
        sa.Column("verified_by", sa.String(200), nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("rejection_reason", sa.String(1000), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_dsr_requests_state", "dsr_requests", ["tenant_id", "state"])

    # The ledger is append-only in the database as well as in the code.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION tessera_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$""")
        op.execute("""CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE
                      ON consent_events FOR EACH ROW EXECUTE FUNCTION tessera_append_only()""")
        op.execute("""CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events
                      FOR EACH STATEMENT EXECUTE FUNCTION tessera_append_only()""")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER consent_events_no_{verb.lower()} BEFORE {verb}
                           ON consent_events BEGIN
                           SELECT RAISE(ABORT, 'consent_events is append-only: {verb} refused');
                           END""")


def downgrade() -> None:
    for table in (
        "dsr_requests",
        "subject_restrictions",
        "consent_state",
        "chain_heads",
        "consent_events",
        "notices",
        "purposes",
        "consent_catalogues",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS tessera_append_only()")
