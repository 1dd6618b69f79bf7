"""The decisions kept, explained on request, purged past retention, forgotten on erasure."""

from __future__ import annotations

import datetime as dt
import json

from ._errors import UnknownDecision
from ._state import _State
from ._types import DecisionRecord

__all__ = ["_Records"]


class _Records(_State):
    """Part of `Authenticator`, built on the parts below it (_State)."""

    # ------------------------------------------------------------------ records
    def decision(self, tenant: str, decision_id: str) -> DecisionRecord:
        with self.db.read() as conn:
            row = self.store.decision(conn, tenant, decision_id)
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
            row.created_at,
            row.resolved_at,
        )

    def purge(self, before: dt.datetime | None = None) -> int:
        """Drop decisions and spent challenges past the retention period (fraud records)."""
        cutoff = before or self.clock() - self.settings.retention
        with self.db.begin() as conn:
            return self.store.purge(conn, decided_before=cutoff, now=self.clock())

    def forget(self, tenant: str, subject: str) -> None:
        """Erasure: the subject's habits, decisions, sessions and factors go."""
        with self.db.begin() as conn:
            self.store.forget(conn, tenant, subject)
