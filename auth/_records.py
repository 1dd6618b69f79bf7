"""The decisions kept, explained on request, purged past retention, forgotten on erasure."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import delete, select

from tessera.storage import as_utc, table_of

from ._errors import UnknownDecision
from ._state import _State
from ._tables import (
    AuthChallengeRow,
    AuthDecisionRow,
    AuthFactorRow,
    AuthProfileRow,
    AuthSessionRow,
)
from ._types import DecisionRecord

__all__ = ["_Records"]


class _Records(_State):
    """Part of `Authenticator`, built on the parts below it (_State)."""

    # ------------------------------------------------------------------ records
    def decision(self, tenant: str, decision_id: str) -> DecisionRecord:
        t = table_of(AuthDecisionRow)
        with self.db.read() as conn:
            row = conn.execute(
                select(t).where(t.c.id == str(decision_id)[:40], t.c.tenant_id == tenant)
            ).first()
        if row is None:
            raise UnknownDecision("no such risk decision")
        return DecisionRecord(
            row.id,
            row.tenant_id,
            row.subject_id,
            row.action,
            row.channel,
            row.scope,
            row.score,
            row.decision,
            row.status,
            row.explanation,
            json.loads(row.contributions),
            as_utc(row.created_at),
            as_utc(row.resolved_at) if row.resolved_at else None,
        )

    def purge(self, before: dt.datetime | None = None) -> int:
        """Drop decisions and spent challenges past the retention period (fraud records)."""
        cutoff = before or self.clock() - self.settings.retention
        with self.db.begin() as conn:
            n = conn.execute(
                delete(table_of(AuthDecisionRow)).where(
                    table_of(AuthDecisionRow).c.created_at < cutoff
                )
            ).rowcount
            conn.execute(
                delete(table_of(AuthChallengeRow)).where(
                    table_of(AuthChallengeRow).c.expires_at < self.clock()
                )
            )
        return n

    def forget(self, tenant: str, subject: str) -> None:
        """Erasure: the subject's habits, decisions, sessions and factors go."""
        with self.db.begin() as conn:
            for table in (
                AuthProfileRow,
                AuthDecisionRow,
                AuthSessionRow,
                AuthFactorRow,
                AuthChallengeRow,
            ):
                t = table_of(table)
                conn.execute(delete(t).where(t.c.tenant_id == tenant, t.c.subject_id == subject))
