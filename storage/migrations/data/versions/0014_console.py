"""The DPO console: staff accounts, and the audit log's search columns.

The search columns (caller, caller kind, action, outcome) copy facts of each entry's hashed
body so that the console's searches read an index, not the whole log. They are not evidence:
what the console shows is read and checked from the body.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
_WIDTHS = {"caller": 80, "caller_kind": 16, "action": 32, "outcome": 16}
_SEARCH = tuple(_WIDTHS)


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("disabled_at", TS, nullable=True),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.UniqueConstraint("tenant_id", "login", name="uq_staff_accounts_login"),
    )
    op.create_index("ix_staff_accounts_tenant_id", "staff_accounts", ["tenant_id"])
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("caller", sa.String(80), nullable=True))
        batch.add_column(sa.Column("caller_kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("action", sa.String(32), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(16), nullable=True))
    _backfill()
    for column in _SEARCH:
        op.create_index(f"ix_audit_entries_{column}", "audit_entries", ["tenant_id", column, "seq"])
    op.create_index("ix_audit_entries_kind", "audit_entries", ["tenant_id", "kind", "seq"])
    # A subject's entries in log order straight from the index (SQLite's secondary indexes
    # carry the rowid, not the key: without seq, a subject's newest page sorted them all).
    op.drop_index("ix_audit_entries_subject", "audit_entries")
    op.create_index("ix_audit_entries_subject", "audit_entries", ["tenant_id", "subject_id", "seq"])
    op.create_index(
        "ix_audit_entries_recorded", "audit_entries", ["tenant_id", "recorded_at", "seq"]
    )
    op.create_index(
        "ix_consent_events_purpose", "consent_events", ["tenant_id", "purpose_id", "seq"]
    )
    op.create_index(
        "ix_consent_events_occurred", "consent_events", ["tenant_id", "occurred_at", "seq"]
    )


def _backfill() -> None:
    """The search columns of the entries written before, from their bodies. The log is
    append-only in the database: its guard is lifted for this one statement, which writes
    nothing but the new columns, and put back."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        fact = "(body::jsonb ->> '{0}')"
        op.execute("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
    else:
        fact = "json_extract(body, '$.{0}')"
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
    op.execute(
        "UPDATE audit_entries SET "  # noqa: S608 (column names and widths are constants)
        + ", ".join(f"{c} = substr({fact.format(c)}, 1, {n})" for c, n in _WIDTHS.items())
        + " WHERE kind IN ('access', 'dsr')"
    )
    if postgres:
        op.execute("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only")
    else:
        op.execute("""CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
                      BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: UPDATE refused');
                      END""")


def downgrade() -> None:
    op.drop_index("ix_consent_events_occurred", "consent_events")
    op.drop_index("ix_consent_events_purpose", "consent_events")
    op.drop_index("ix_audit_entries_recorded", "audit_entries")
    op.drop_index("ix_audit_entries_kind", "audit_entries")
    op.drop_index("ix_audit_entries_subject", "audit_entries")
    op.create_index("ix_audit_entries_subject", "audit_entries", ["tenant_id", "subject_id"])
    for column in _SEARCH:
        op.drop_index(f"ix_audit_entries_{column}", "audit_entries")
    with op.batch_alter_table("audit_entries") as batch:
        for column in _SEARCH:
            batch.drop_column(column)
    op.drop_table("staff_accounts")
