"""The state every part of the authenticator shares, and the profile and failure records they
all read and write."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from tessera.storage import Database, as_utc, table_of, utcnow
from tessera.vault import Vault

from ._errors import AccountLocked
from ._notify import Notifier
from ._risk import FEATURES, Population, Profile, Signals
from ._signals import NetworkIntel, keyed
from ._tables import AuthFailureRow, AuthPopulationRow, AuthProfileRow
from ._types import AuthRecorder, AuthSettings

__all__ = ["_State"]


class _State:
    """What every part of the authenticator shares: its collaborators, clock and settings,
    and the reads and writes of profiles and failure counts they all use."""

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

    def _profile(self, conn: Connection, tenant: str, subject: str) -> tuple[Profile, Any]:
        t = table_of(AuthProfileRow)
        row = conn.execute(
            select(t).where(t.c.tenant_id == tenant, t.c.subject_id == subject)
        ).first()
        if row is None:
            return Profile(), None
        return Profile(row.sessions, json.loads(row.counts)), row

    def _population(self, conn: Connection, tenant: str) -> Population:
        t = table_of(AuthPopulationRow)
        row = conn.execute(select(t).where(t.c.tenant_id == tenant)).first()
        if row is None:
            return Population()
        counts = json.loads(row.counts)
        return Population(row.sessions, counts, {f: len(counts.get(f, {})) for f in FEATURES})

    def _failures(self, conn: Connection, tenant: str, keys: list[str]) -> dict[str, Any]:
        t = table_of(AuthFailureRow)
        rows = conn.execute(select(t).where(t.c.tenant_id == tenant, t.c.key.in_(keys))).all()
        return {row.key: row for row in rows}

    def _failure_keys(self, tenant: str, subject: str, signals: Mapping[str, Any]) -> list[str]:
        keys = [f"account:{keyed(self._key(tenant), 'account', subject)}"]
        if signals.get("device"):
            keys.append(f"device:{signals['device']}")
        if signals.get("network"):
            keys.append(f"net:{keyed(self._key(tenant), 'net', signals['network'])}")
        return keys

    def _check_lock(self, conn: Connection, tenant: str, subject: str) -> None:
        account = f"account:{keyed(self._key(tenant), 'account', subject)}"
        row = self._failures(conn, tenant, [account]).get(account)
        now = self.clock()
        if row is not None and row.locked_until and as_utc(row.locked_until) > now:
            wait = int((as_utc(row.locked_until) - now).total_seconds()) + 1
            raise AccountLocked(
                f"blocked after {self.settings.max_failures} failed attempts; try again later",
                retry_after=wait,
            )

    def _put(
        self, conn: Connection, table: Any, key: dict[str, Any], values: dict[str, Any]
    ) -> None:
        statement = self.db.upsert(table, key=list(key), update=list(values))
        conn.execute(statement, [key | values])

    def _learn(self, conn: Connection, tenant: str, subject: str, signals: Signals) -> None:
        """Teach the profile and the population; only called after a passed authentication."""
        now = self.clock()
        profile, _ = self._profile(conn, tenant, subject)
        learnt = profile.learn(signals)
        pt = table_of(AuthProfileRow)
        values = {
            "sessions": learnt.sessions,
            "counts": json.dumps(learnt.counts, sort_keys=True),
            "updated_at": now,
        }
        if signals.country:  # where and when they last authenticated: for impossible travel
            values |= {"last_country": signals.country, "last_auth_at": now}
        self._put(conn, pt, {"tenant_id": tenant, "subject_id": subject}, values)
        population = self._population(conn, tenant).learn(signals)
        self._put(
            conn,
            table_of(AuthPopulationRow),
            {"tenant_id": tenant},
            {
                "sessions": population.sessions,
                "counts": json.dumps(population.counts, sort_keys=True),
                "updated_at": now,
            },
        )
