"""The state every part of the authenticator shares, and the profile and failure records they
all read and write."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection

from tessera.metrics import RISK_SCORES, STEP_UPS
from tessera.storage import Database, utcnow
from tessera.vault import DataCategory, InvalidValue, Vault

from ._errors import AccountLocked
from ._notify import Notifier
from ._risk import FEATURES, Population, Profile, Signals
from ._rows import StoredFactor, StoredFailure, StoredPopulation, StoredProfile
from ._signals import NetworkIntel, keyed, phone_e164
from ._store import AuthStore
from ._types import AuthRecorder, AuthSettings

__all__ = ["_State", "registered_line"]

# The hash of a calling number that is none of the customer's.
_NOT_THEIRS = "not-a-number-of-theirs"

_POPULATION_FRESH = 30.0  # seconds


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
        tenant_name: Callable[[str], str] | None = None,
    ) -> None:
        self.recorder = recorder
        self.db = db
        self.store = AuthStore(db, factor_key=lambda tenant: vault.tenant_secret(tenant, "factors"))
        self.vault = vault
        self.notifier = notifier
        self.settings = settings or AuthSettings()
        self.intel = intel or NetworkIntel()
        self.clock = clock
        # How the customer knows the tenant (its display name): the sender of their codes,
        # the issuer in their authenticator app. Wired by trust; the settings' issuer else.
        self.tenant_name: Callable[[str], str] = tenant_name or (lambda _: self.settings.issuer)
        # A tenant's population changes slowly (every customer's strong sessions): scoring
        # reads it from memory, refreshed from the store at most every _POPULATION_FRESH.
        self._populations: dict[str, tuple[float, Population]] = {}
        self._populations_lock = threading.Lock()

    # ------------------------------------------------------------------ helpers
    def _record(self, tenant: str, subject: str, **facts: Any) -> None:
        _count(facts)
        if self.recorder is not None:
            self.recorder.auth_recorded(tenant, subject, facts)

    def _record_in(self, conn: Connection, tenant: str, subject: str, **facts: Any) -> None:
        """`_record` inside the transaction that writes what it answers for."""
        _count(facts)
        if self.recorder is not None:
            self.recorder.auth_recorded_in(conn, tenant, subject, facts)

    def _key(self, tenant: str) -> bytes:
        return self.vault.tenant_secret(tenant, "auth-signals")

    def _profile(
        self, conn: Connection, tenant: str, subject: str
    ) -> tuple[Profile, StoredProfile | None]:
        row = self.store.profile(conn, tenant, subject)
        if row is None:
            return Profile(), None
        return Profile(row.sessions, json.loads(row.counts)), row

    def _population(self, tenant: str) -> Population:
        """The tenant's population, from memory when it was read or learnt recently."""
        cached = self._populations.get(tenant)
        if cached is not None and time.monotonic() - cached[0] < _POPULATION_FRESH:
            return cached[1]
        with self.db.read() as conn:
            population = self._stored_population(conn, tenant)
        self._remember(tenant, population)
        return population

    def _remember(self, tenant: str, population: Population) -> None:
        with self._populations_lock:
            self._populations[tenant] = (time.monotonic(), population)

    def _stored_population(self, conn: Connection, tenant: str) -> Population:
        row = self.store.population(conn, tenant)
        if row is None:
            return Population()
        counts = json.loads(row.counts)
        return Population(row.sessions, counts, {f: len(counts.get(f, {})) for f in FEATURES})

    def _account_key(self, tenant: str, subject: str, key: bytes | None = None) -> str:
        """The failure counter of a customer's account (a keyed hash, not their id)."""
        return f"account:{keyed(key or self._key(tenant), 'account', subject)}"

    def _failure_keys(
        self, tenant: str, subject: str, signals: Mapping[str, Any], key: bytes | None = None
    ) -> list[str]:
        key = key or self._key(tenant)
        keys = [self._account_key(tenant, subject, key)]
        if signals.get("device"):
            keys.append(f"device:{signals['device']}")
        if signals.get("network"):
            keys.append(f"net:{keyed(key, 'net', signals['network'])}")
        return keys

    def _check_lock(self, conn: Connection, tenant: str, subject: str) -> None:
        account = self._account_key(tenant, subject)
        self._refuse_if_locked(self.store.failures(conn, tenant, [account]).get(account))

    def _refuse_if_locked(self, row: StoredFailure | None, now: dt.datetime | None = None) -> None:
        """AccountLocked while the account's failure record says it is blocked."""
        now = now or self.clock()
        if row is not None and row.locked_until and row.locked_until > now:
            wait = int((row.locked_until - now).total_seconds()) + 1
            raise AccountLocked(
                f"blocked after {self.settings.max_failures} failed attempts; try again later",
                retry_after=wait,
            )

    def _their_line(
        self,
        held: list[StoredFactor],
        tenant: str,
        subject: str,
        key: bytes,
        number: str | None,
    ) -> str | None:
        """The keyed hash of the customer's registered calling line: the bound caller number
        among their factors `held`; with none bound, their vaulted phone numbers are theirs,
        giving the caller's `number` when it is one of them (found by the vault's blind index,
        nothing decrypted), a hash that matches nothing when they have others, None when none
        is vaulted (unknown, not a mismatch)."""
        bound = registered_line(held)
        if bound is not None or not isinstance(number, str):
            return bound
        e164, _ = phone_e164(number.strip()[:64])
        if e164 is None:
            return None
        try:
            found = self.vault.find(tenant, e164, category=DataCategory.PHONE)
        except InvalidValue:
            return None
        if any(record.subject == subject for record in found):
            return keyed(key, "phone", e164)
        vaulted = self.vault.subject_tokens(tenant, subject)
        return _NOT_THEIRS if any(t.category is DataCategory.PHONE for t in vaulted) else None

    def _learn(
        self,
        conn: Connection,
        tenant: str,
        subject: str,
        signals: Signals,
        *,
        at: dt.datetime | None = None,
    ) -> int:
        """Teach the profile and the population; only called after a strong authentication
        (at `at`, now by default); returns the profile's count of sessions."""
        now = self.clock()
        at = at or now
        profile, row = self._profile(conn, tenant, subject)
        learnt = profile.learn(signals)
        # Where and when they last authenticated, for impossible travel: a report of an older
        # authentication (a history loaded in any order) does not move it back.
        latest = row is not None and row.last_auth_at is not None and row.last_auth_at > at
        last_country = row.last_country if latest and row else signals.country or None
        last_at = row.last_auth_at if latest and row else (at if signals.country else None)
        self.store.put_profile(
            conn,
            StoredProfile(
                tenant_id=tenant,
                subject_id=subject,
                sessions=learnt.sessions,
                counts=json.dumps(learnt.counts, sort_keys=True),
                last_country=last_country,
                last_auth_at=last_at,
                updated_at=now,
            ),
        )
        population = self._stored_population(conn, tenant).learn(signals)
        self.store.put_population(
            conn,
            StoredPopulation(
                tenant_id=tenant,
                sessions=population.sessions,
                counts=json.dumps(population.counts, sort_keys=True),
                updated_at=now,
            ),
        )
        self._remember(tenant, population)
        return learnt.sessions


def _count(facts: dict[str, Any]) -> None:
    """Step-up answers and risk scores, for `/metrics` (closed words and numbers only)."""
    event = facts.get("event")
    if event in ("step_up", "transaction_auth"):
        STEP_UPS.labels(str(facts.get("factor")), str(facts.get("outcome"))).inc()
    elif event == "assess" and isinstance(facts.get("score"), int | float):
        RISK_SCORES.labels(str(facts.get("action"))).observe(float(facts["score"]))


def registered_line(held: list[StoredFactor]) -> str | None:
    """The keyed hash of the customer's bound calling number, if one is bound."""
    callers = [f.credential_id for f in held if f.kind == "caller"]
    return callers[0] if callers else None
