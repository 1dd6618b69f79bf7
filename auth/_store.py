"""Every SQL statement of the authenticator, in one place, over typed rows.

The parts of `Authenticator` decide; this store reads and writes. Each method runs in the
caller's connection, so a part keeps its own transaction boundaries (a step-up's consumption,
failure reset and session raise commit together). Conditional updates return whether they took
effect: that is how a replayed code, a cloned passkey or a raced challenge is refused.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, replace
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    false,
    insert,
    select,
    true,
    update,
)

from tessera.storage import Database, HotStatement, table_of

from ._rows import (
    StoredChallenge,
    StoredDecision,
    StoredFactor,
    StoredFailure,
    StoredPopulation,
    StoredProfile,
    StoredSession,
    typed,
)
from ._sealing import factor_mac, is_sealed
from ._tables import (
    AuthChallengeRow,
    AuthDecisionRow,
    AuthFactorRow,
    AuthFailureRow,
    AuthPopulationRow,
    AuthProfileRow,
    AuthSessionRow,
)

__all__ = ["AuthStore"]

_PROFILES = table_of(AuthProfileRow)
_POPULATION = table_of(AuthPopulationRow)
_DECISIONS = table_of(AuthDecisionRow)
_SESSIONS = table_of(AuthSessionRow)
_FACTORS = table_of(AuthFactorRow)
_CHALLENGES = table_of(AuthChallengeRow)
_FAILURES = table_of(AuthFailureRow)
_log = logging.getLogger("tessera.auth")

# What erasing a subject removes: habits, decisions, sessions, factors and challenges.
_SUBJECT_TABLES = (_PROFILES, _DECISIONS, _SESSIONS, _FACTORS, _CHALLENGES)

# The statements of every `assess`, run hot (`HotStatement`): SQLAlchemy's per-statement
# machinery cost more than SQLite's own work on a decision's five of them.
_PROFILE_OF = HotStatement(
    select(_PROFILES).where(
        _PROFILES.c.tenant_id == bindparam("tenant"),
        _PROFILES.c.subject_id == bindparam("subject"),
    )
)
_ACTIVE_FACTORS = HotStatement(
    select(_FACTORS)
    .where(
        _FACTORS.c.tenant_id == bindparam("tenant"),
        _FACTORS.c.subject_id == bindparam("subject"),
        _FACTORS.c.status == "active",
    )
    .order_by(_FACTORS.c.created_at)
)
_FAILURE_KEYS = 3  # the account, the device, the network
_FAILURES_OF = HotStatement(
    select(_FAILURES).where(
        _FAILURES.c.tenant_id == bindparam("tenant"),
        _FAILURES.c.key.in_([bindparam(f"k{i}") for i in range(_FAILURE_KEYS)]),
    )
)


def _insert_all(table: Table) -> HotStatement:
    return HotStatement(insert(table).values({c.name: bindparam(c.name) for c in table.columns}))


_ADD_DECISION = _insert_all(_DECISIONS)
_ADD_SESSION = _insert_all(_SESSIONS)


class AuthStore:
    """The authenticator's tables in the data store. Factor rows are sealed under their
    tenant's `factor_key` when written and checked when read (`_sealing`): a row that fails
    its seal is not there, for every use."""

    def __init__(self, db: Database, factor_key: Callable[[str], bytes]) -> None:
        self.db = db
        self.factor_key = factor_key

    def _put(self, conn: Connection, table: Table, values: dict[str, Any], key: list[str]) -> None:
        """Insert or replace one row by its primary key."""
        statement = self.db.upsert(table, key=key, update=[c for c in values if c not in key])
        conn.execute(statement, [values])

    # ------------------------------------------------------------------ profiles
    def profile(self, conn: Connection, tenant: str, subject: str) -> StoredProfile | None:
        row = _PROFILE_OF.first(conn, {"tenant": tenant, "subject": subject})
        return None if row is None else typed(StoredProfile, row)

    def put_profile(self, conn: Connection, profile: StoredProfile) -> None:
        values = asdict(profile)
        if profile.last_country is None:  # keep where they last were: for impossible travel
            del values["last_country"], values["last_auth_at"]
        self._put(conn, _PROFILES, values, ["tenant_id", "subject_id"])

    def population(self, conn: Connection, tenant: str) -> StoredPopulation | None:
        row = conn.execute(select(_POPULATION).where(_POPULATION.c.tenant_id == tenant)).first()
        return None if row is None else typed(StoredPopulation, row)

    def put_population(self, conn: Connection, population: StoredPopulation) -> None:
        self._put(conn, _POPULATION, asdict(population), ["tenant_id"])

    # ------------------------------------------------------------------ failures
    def failures(
        self, conn: Connection, tenant: str, keys: Iterable[str]
    ) -> dict[str, StoredFailure]:
        wanted = list(dict.fromkeys(keys))
        if 0 < len(wanted) <= _FAILURE_KEYS:
            padded = wanted + [wanted[0]] * (_FAILURE_KEYS - len(wanted))
            params = {"tenant": tenant, **{f"k{i}": k for i, k in enumerate(padded)}}
            found = _FAILURES_OF.all(conn, params)
            return {row.key: typed(StoredFailure, row) for row in found}
        t = _FAILURES
        rows = conn.execute(select(t).where(t.c.tenant_id == tenant, t.c.key.in_(wanted)))
        return {row.key: typed(StoredFailure, row) for row in rows}

    def put_failure(self, conn: Connection, failure: StoredFailure) -> None:
        self._put(conn, _FAILURES, asdict(failure), ["tenant_id", "key"])

    def clear_failures(self, conn: Connection, tenant: str, key: str) -> None:
        t = _FAILURES
        conn.execute(delete(t).where(t.c.tenant_id == tenant, t.c.key == key))

    # ------------------------------------------------------------------ decisions
    def add_decision(self, conn: Connection, decision: StoredDecision) -> None:
        _ADD_DECISION.execute(conn, asdict(decision))

    def decision(self, conn: Connection, tenant: str, decision_id: str) -> StoredDecision | None:
        t = _DECISIONS
        row = conn.execute(
            select(t).where(t.c.id == str(decision_id)[:40], t.c.tenant_id == tenant)
        ).first()
        return None if row is None else typed(StoredDecision, row)

    def decision_signals(self, conn: Connection, decision_id: str) -> str | None:
        """The stored signals of a decision (JSON), for counting a failure by its device."""
        t = _DECISIONS
        found: str | None = conn.execute(
            select(t.c.signals).where(t.c.id == decision_id)
        ).scalar_one_or_none()
        return found

    def pass_decision(
        self,
        conn: Connection,
        tenant: str,
        subject: str,
        decision_id: str,
        now: dt.datetime,
        *,
        was: str = "pending",
    ) -> tuple[str, str] | None:
        """Mark a decision that is `was` (pending; or allowed, when its session is stepped up
        later) passed, once; its signals (JSON) and scope, or None."""
        t = _DECISIONS
        row = conn.execute(
            update(t)
            .where(
                t.c.id == decision_id,
                t.c.tenant_id == tenant,
                t.c.subject_id == subject,
                t.c.status == was,
            )
            .values(status="passed", resolved_at=now)
            .returning(t.c.signals, t.c.scope)
        ).first()
        return None if row is None else (str(row.signals), str(row.scope))

    # ------------------------------------------------------------------ sessions
    def add_session(self, conn: Connection, session: StoredSession) -> None:
        _ADD_SESSION.execute(conn, asdict(session))

    def session(
        self, conn: Connection, id_sha256: str, *, tenant: str | None = None
    ) -> StoredSession | None:
        t = _SESSIONS
        query = select(t).where(t.c.id_sha256 == id_sha256)
        if tenant is not None:
            query = query.where(t.c.tenant_id == tenant)
        row = conn.execute(query).first()
        return None if row is None else typed(StoredSession, row)

    def touch_session(self, conn: Connection, id_sha256: str, now: dt.datetime) -> None:
        t = _SESSIONS
        conn.execute(update(t).where(t.c.id_sha256 == id_sha256).values(last_seen_at=now))

    def end_session(self, conn: Connection, id_sha256: str, now: dt.datetime) -> None:
        t = _SESSIONS
        conn.execute(update(t).where(t.c.id_sha256 == id_sha256).values(ended_at=now))

    def raise_session(
        self, conn: Connection, id_sha256: str, *, assurance: int, factors: str, now: dt.datetime
    ) -> None:
        """A passed step-up on a live session: its assurance, factors and strong time."""
        t = _SESSIONS
        conn.execute(
            update(t)
            .where(t.c.id_sha256 == id_sha256)
            .values(assurance=assurance, factors=factors, strong_at=now, last_seen_at=now)
        )

    # ------------------------------------------------------------------ factors
    def add_factor(self, conn: Connection, factor: StoredFactor) -> None:
        """Insert a factor, sealed; a credential registered twice raises the unique index's
        `IntegrityError` (in the caller's savepoint)."""
        conn.execute(insert(_FACTORS).values(asdict(self._sealed(factor))))

    def factor(self, conn: Connection, tenant: str, factor_id: str) -> StoredFactor | None:
        t = _FACTORS
        row = conn.execute(
            select(t).where(t.c.id == str(factor_id), t.c.tenant_id == tenant)
        ).first()
        return None if row is None else self._trusted_one(typed(StoredFactor, row))

    def factors(
        self,
        conn: Connection,
        tenant: str,
        subject: str,
        *,
        kinds: Iterable[str] | None = None,
        active: bool = False,
        only: str | None = None,
    ) -> list[StoredFactor]:
        """A subject's factors, oldest first: of some kinds, only active ones, or one."""
        if active and only is None:  # every assess and step-up: the hot path
            rows = _ACTIVE_FACTORS.all(conn, {"tenant": tenant, "subject": subject})
            wanted = None if kinds is None else set(kinds)
            return self._trusted(
                [typed(StoredFactor, r) for r in rows if wanted is None or r.kind in wanted]
            )
        t = _FACTORS
        query = select(t).where(t.c.tenant_id == tenant, t.c.subject_id == subject)
        if kinds is not None:
            query = query.where(t.c.kind.in_(list(kinds)))
        if active:
            query = query.where(t.c.status == "active")
        if only is not None:
            query = query.where(t.c.id == only)
        found = conn.execute(query.order_by(t.c.created_at))
        return self._trusted([typed(StoredFactor, row) for row in found])

    def active_credential(
        self, conn: Connection, tenant: str, kind: str, credential_id: str
    ) -> StoredFactor | None:
        """The active factor of a kind with this credential id (a passkey), any subject."""
        t = _FACTORS
        row = conn.execute(
            select(t).where(
                t.c.tenant_id == tenant,
                t.c.credential_id == credential_id,
                t.c.kind == kind,
                t.c.status == "active",
            )
        ).first()
        return None if row is None else self._trusted_one(typed(StoredFactor, row))

    def activate_totp(self, conn: Connection, factor_id: str, step: int, now: dt.datetime) -> None:
        self._move_status(conn, factor_id, "active", ("pending",), last_step=step, last_used_at=now)

    def factor_used(self, conn: Connection, factor_id: str, now: dt.datetime) -> None:
        t = _FACTORS
        conn.execute(update(t).where(t.c.id == factor_id).values(last_used_at=now))

    def activate_factor(self, conn: Connection, factor_id: str, now: dt.datetime) -> None:
        self._move_status(conn, factor_id, "active", ("pending",), last_used_at=now)

    def advance_totp(self, conn: Connection, factor_id: str, step: int, now: dt.datetime) -> bool:
        """Accept a TOTP time step once: False when this step (or a later one) was used."""
        t = _FACTORS
        return bool(
            conn.execute(
                update(t)
                .where(t.c.id == factor_id, t.c.last_step < step)
                .values(last_step=step, last_used_at=now)
            ).rowcount
        )

    def advance_sign_count(
        self, conn: Connection, factor_id: str, count: int, now: dt.datetime
    ) -> bool:
        """Accept a passkey's signature counter: False when it did not grow (a clone), unless
        the authenticator keeps no counter (0 each time)."""
        t = _FACTORS
        return bool(
            conn.execute(
                update(t)
                .where(
                    t.c.id == factor_id,
                    (t.c.sign_count < count)
                    | and_(t.c.sign_count == 0, true() if count == 0 else false()),
                )
                .values(sign_count=count, last_used_at=now)
            ).rowcount
        )

    def revoke_factor(self, conn: Connection, tenant: str, subject: str, factor_id: str) -> bool:
        t = _FACTORS
        return self._move_status(
            conn, factor_id, "revoked", ("pending", "active"),
            where=(t.c.tenant_id == tenant, t.c.subject_id == subject),
        )  # fmt: skip

    def seal_unsealed(self, conn: Connection, tenant: str) -> list[StoredFactor]:
        """Seal the tenant's rows that have no seal (written before seals, migration 0015),
        vouched for by the operator who runs it; returns them."""
        t = _FACTORS
        rows = conn.execute(select(t).where(t.c.tenant_id == tenant, t.c.mac.is_(None)))
        found = [typed(StoredFactor, row) for row in rows]
        for factor in found:
            sealed = self._sealed(factor)
            conn.execute(
                update(t).where(t.c.id == factor.id, t.c.mac.is_(None)).values(mac=sealed.mac)
            )
        return found

    def _move_status(
        self,
        conn: Connection,
        factor_id: str,
        status: str,
        old: tuple[str, ...],
        *,
        where: tuple[Any, ...] = (),
        **values: Any,
    ) -> bool:
        """A sealed factor (of those `where` admits) from one of `old` to `status`, sealed
        again, read once: a row that fails its seal does not move (nor gets a seal of ours)."""
        t = _FACTORS
        row = conn.execute(select(t).where(t.c.id == factor_id, *where)).first()
        factor = None if row is None else self._trusted_one(typed(StoredFactor, row))
        if factor is None or factor.status not in old:
            return False
        moved = self._sealed(replace(factor, status=status))
        return bool(
            conn.execute(
                update(t)
                .where(t.c.id == factor_id, t.c.mac == factor.mac)
                .values(status=status, mac=moved.mac, **values)
            ).rowcount
        )

    def _sealed(self, factor: StoredFactor) -> StoredFactor:
        return replace(factor, mac=factor_mac(self.factor_key(factor.tenant_id), factor))

    def _trusted(self, factors: list[StoredFactor]) -> list[StoredFactor]:
        return [f for f in factors if self._trusted_one(f) is not None]

    def _trusted_one(self, factor: StoredFactor) -> StoredFactor | None:
        if is_sealed(self.factor_key(factor.tenant_id), factor):
            return factor
        # Not written by this service, or changed by hand since: not there. Said without
        # the row's values: its id and kind only.
        _log.warning(
            "auth factor %s (%s) of tenant %s fails its seal: ignored",
            factor.id,
            factor.kind,
            factor.tenant_id,
        )
        return None

    # ------------------------------------------------------------------ challenges
    def add_challenge(self, conn: Connection, challenge: StoredChallenge) -> None:
        conn.execute(insert(_CHALLENGES).values(asdict(challenge)))

    def challenge(self, conn: Connection, tenant: str, challenge_id: str) -> StoredChallenge | None:
        t = _CHALLENGES
        row = conn.execute(
            select(t).where(t.c.id == str(challenge_id)[:40], t.c.tenant_id == tenant)
        ).first()
        return None if row is None else typed(StoredChallenge, row)

    def consume_challenge(self, conn: Connection, challenge_id: str, now: dt.datetime) -> bool:
        """Mark a challenge used, once: False when it already was (a replay, a race)."""
        t = _CHALLENGES
        return bool(
            conn.execute(
                update(t)
                .where(t.c.id == challenge_id, t.c.consumed_at.is_(None))
                .values(consumed_at=now)
            ).rowcount
        )

    def take_device_nonce(
        self, conn: Connection, tenant: str, subject: str, nonce_id: str, now: dt.datetime
    ) -> str | None:
        """Consume a live device nonce of this subject; the nonce, or None."""
        t = _CHALLENGES
        nonce: str | None = conn.execute(
            update(t)
            .where(
                t.c.id == nonce_id,
                t.c.tenant_id == tenant,
                t.c.subject_id == subject,
                t.c.kind == "device-nonce",
                t.c.consumed_at.is_(None),
                t.c.expires_at > now,
            )
            .values(consumed_at=now)
            .returning(t.c.secret)
        ).scalar_one_or_none()
        return nonce

    def count_attempt(
        self, conn: Connection, challenge_id: str, *, spent_at: dt.datetime | None
    ) -> None:
        """One more failed attempt on a challenge; `spent_at` when it was the last allowed."""
        t = _CHALLENGES
        values: dict[str, Any] = {"attempts": t.c.attempts + 1}
        if spent_at is not None:
            values["consumed_at"] = spent_at
        conn.execute(update(t).where(t.c.id == challenge_id).values(**values))

    # ------------------------------------------------------------------ retention, erasure
    def purge(self, conn: Connection, *, decided_before: dt.datetime, now: dt.datetime) -> int:
        """Drop decisions older than `decided_before` and expired challenges; decisions gone."""
        gone = conn.execute(delete(_DECISIONS).where(_DECISIONS.c.created_at < decided_before))
        conn.execute(delete(_CHALLENGES).where(_CHALLENGES.c.expires_at < now))
        return int(gone.rowcount)

    def forget(self, conn: Connection, tenant: str, subject: str) -> None:
        for t in _SUBJECT_TABLES:
            conn.execute(delete(t).where(t.c.tenant_id == tenant, t.c.subject_id == subject))
