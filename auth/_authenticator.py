"""The authenticator: risk decisions, sessions with an assurance level, step-ups and enrolments.

Low risk passes silently with a low-assurance session; higher risk asks for a second factor
(TOTP, a passkey, a one-time code to a registered channel) and only a passed step-up teaches
the customer's profile. PSD2 RTS limits apply: 5 consecutive failures block for a while
(Art. 4(3)(b)); a payment session ends after 5 minutes without activity (Art. 4(3)(d)).

The parts live in their own modules, one concept each; this class holds the state they share.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select

from tessera.storage import Database, as_utc, utcnow
from tessera.vault import Vault

from ._assessing import _Assessing
from ._enrolment import _Enrolment
from ._errors import AccountLocked
from ._factors import _FactorChecks
from ._notify import Notifier
from ._records import _Records
from ._risk import FEATURES, Population, Profile
from ._sessions import _Sessions
from ._signals import NetworkIntel, keyed
from ._step_up import _StepUps
from ._tables import AuthFailureRow, AuthPopulationRow, AuthProfileRow
from ._types import AuthRecorder, AuthSettings

__all__ = ["Authenticator"]


class Authenticator(_Assessing, _Sessions, _StepUps, _FactorChecks, _Enrolment, _Records):
    """Invisible strong authentication for one deployment (all tenants)."""

    def __init__(
        self,
        *,
        db: Database,
        vault: Vault,
        notifier: Notifier,
        settings: AuthSettings | None = None,
        intel: NetworkIntel | None = None,
        recorder: AuthRecorder | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.recorder = recorder
        self.db = db
        self.vault = vault
        self.notifier = notifier
        self.settings = settings or AuthSettings()
        self.intel = intel or NetworkIntel()
        self.clock = clock

    # ------------------------------------------------------------------ helpers
    def _record(self, tenant: str, subject: str, **facts: Any) -> None:
        if self.recorder is not None:
            self.recorder.auth_recorded(tenant, subject, facts)

    def _key(self, tenant: str) -> bytes:
        return self.vault.tenant_secret(tenant, "auth-signals")

    def _profile(self, conn: Any, tenant: str, subject: str) -> tuple[Profile, Any]:
        t = AuthProfileRow.__table__
        row = conn.execute(
            select(t).where(t.c.tenant_id == tenant, t.c.subject_id == subject)
        ).first()
        if row is None:
            return Profile(), None
        return Profile(row.sessions, json.loads(row.counts)), row

    def _population(self, conn: Any, tenant: str) -> Population:
        t = AuthPopulationRow.__table__
        row = conn.execute(select(t).where(t.c.tenant_id == tenant)).first()
        if row is None:
            return Population()
        counts = json.loads(row.counts)
        return Population(row.sessions, counts, {f: len(counts.get(f, {})) for f in FEATURES})

    def _failures(self, conn: Any, tenant: str, keys: list[str]) -> dict[str, Any]:
        t = AuthFailureRow.__table__
        rows = conn.execute(select(t).where(t.c.tenant_id == tenant, t.c.key.in_(keys))).all()
        return {row.key: row for row in rows}

    def _failure_keys(self, tenant: str, subject: str, signals: Mapping[str, Any]) -> list[str]:
        keys = [f"account:{keyed(self._key(tenant), 'account', subject)}"]
        if signals.get("device"):
            keys.append(f"device:{signals['device']}")
        if signals.get("network"):
            keys.append(f"net:{keyed(self._key(tenant), 'net', signals['network'])}")
        return keys

    def _check_lock(self, conn: Any, tenant: str, subject: str) -> None:
        account = f"account:{keyed(self._key(tenant), 'account', subject)}"
        row = self._failures(conn, tenant, [account]).get(account)
        now = self.clock()
        if row is not None and row.locked_until and as_utc(row.locked_until) > now:
            wait = int((as_utc(row.locked_until) - now).total_seconds()) + 1
            raise AccountLocked(
                f"blocked after {self.settings.max_failures} failed attempts; try again later",
                retry_after=wait,
            )

    def _put(self, conn: Any, table: Any, key: dict[str, Any], values: dict[str, Any]) -> None:
        statement = self.db.upsert(table, key=list(key), update=list(values))
        conn.execute(statement, [key | values])
