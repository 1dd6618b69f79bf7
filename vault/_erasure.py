"""The erasure journal: the data store's record of every crypto-shredding, sealed so that only
the service could have written it, and applied again to a restored key store.

A data key older than its subject's erasure, brought back by a key-store backup, is destroyed
again before anything is served. The journal is applied at every start, so a row must prove
itself first: each carries an HMAC under the tenant's journal key, which the key provider wraps
(`ErasureJournalKey`). A row a data-store writer adds, or one copied onto another subject or
moved in time, fails its seal and destroys nothing; it is counted as forged.
"""

from __future__ import annotations

import datetime as dt
import hmac as std_hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from tessera.storage import Database, as_utc, table_of, utcnow

from ._errors import KeyProviderError
from ._keys import KeyProvider, WrappedKey
from ._models import DataKey, ErasureJournalKey, SubjectErasure

__all__ = ["ErasureJournal", "JournalReplay", "JournalStatus"]

_CHUNK = 500
_SEP = "\x1f"


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _key_aad(tenant: str) -> bytes:
    """Binds a wrapped journal key to its tenant: copied to another tenant, it won't unwrap."""
    return _SEP.join(("tessera/erasure-journal/1", tenant)).encode()


def seal_erasure(
    key: bytes, tenant: str, subject: str, erased_at: dt.datetime, keys: int, items: int
) -> str:
    """The seal of one journal row: every field that decides what a replay destroys."""
    stamp = as_utc(erased_at).isoformat(timespec="microseconds")
    message = _SEP.join(("tessera/erasure/1", tenant, subject, stamp, str(keys), str(items)))
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(message.encode())
    return mac.finalize().hex()


@dataclass(frozen=True, slots=True)
class JournalStatus:
    """How many journal rows of each tenant prove themselves, predate sealing, or are forged."""

    sealed: dict[str, int] = field(default_factory=dict)
    unsealed: dict[str, int] = field(default_factory=dict)
    forged: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JournalReplay:
    """What applying the journal again did: the keys destroyed per tenant, and the rows it
    refused to act on (unsealed or forged) per tenant."""

    destroyed: dict[str, int]
    status: JournalStatus


class ErasureJournal:
    """Writes sealed erasure records and applies the journal again to the key store."""

    def __init__(
        self,
        data: Database,
        provider: KeyProvider,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.data = data
        self.provider = provider
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, bytes] = {}

    # ------------------------------------------------------------------ journal keys
    def key(self, tenant: str) -> bytes:
        """The tenant's journal key, made and wrapped on first use (race-safe)."""
        found = self._stored_key(tenant)
        if found is not None:
            return found
        raw = secrets.token_bytes(32)
        wrapped = self.provider.wrap(raw, aad=_key_aad(tenant))
        t = table_of(ErasureJournalKey)
        try:
            with self.data.begin() as conn:
                conn.execute(
                    insert(t).values(
                        tenant_id=tenant,
                        kek_version=wrapped.kek_version,
                        wrapped=wrapped.blob,
                        created_at=self.clock(),
                    )
                )
        except IntegrityError:  # another process made it first: use theirs
            theirs = self._stored_key(tenant)
            assert theirs is not None  # the row the insert collided with
            return theirs
        with self._lock:
            self._keys[tenant] = raw
        return raw

    def _stored_key(self, tenant: str) -> bytes | None:
        """The tenant's journal key if it has one (unwrapped once, then cached)."""
        with self._lock:
            if tenant in self._keys:
                return self._keys[tenant]
        t = table_of(ErasureJournalKey)
        with self.data.read() as conn:
            row = conn.execute(select(t).where(t.c.tenant_id == tenant)).first()
        if row is None:
            return None
        raw = self.provider.unwrap(WrappedKey(row.kek_version, row.wrapped), aad=_key_aad(tenant))
        with self._lock:
            self._keys[tenant] = raw
        return raw

    def _checking_key(self, tenant: str) -> bytes | None:
        """The journal key for checking rows: none, or one that no longer unwraps (replaced
        by a data-store writer), proves nothing, and the rows it would seal count as forged."""
        try:
            return self._stored_key(tenant)
        except KeyProviderError:
            return None

    def rewrap(self) -> int:
        """Wrap every journal key under the provider's current KEK (part of a rotation)."""
        t = table_of(ErasureJournalKey)
        current = self.provider.current_version()
        with self.data.read() as conn:
            rows = conn.execute(select(t).where(t.c.kek_version != current)).all()
        for row in rows:
            aad = _key_aad(row.tenant_id)
            raw = self.provider.unwrap(WrappedKey(row.kek_version, row.wrapped), aad=aad)
            fresh = self.provider.wrap(raw, aad=aad)
            with self.data.begin() as conn:
                conn.execute(
                    update(t)
                    .where(t.c.tenant_id == row.tenant_id, t.c.kek_version == row.kek_version)
                    .values(kek_version=fresh.kek_version, wrapped=fresh.blob)
                )
        return len(rows)

    # ------------------------------------------------------------------ writing
    def record(
        self,
        conn: Connection,
        key: bytes,
        tenant: str,
        subject: str,
        erased_at: dt.datetime,
        keys_destroyed: int,
        items_destroyed: int,
    ) -> None:
        """Add the sealed record of one erasure, in the caller's data-store transaction."""
        conn.execute(
            insert(table_of(SubjectErasure)).values(
                tenant_id=tenant,
                subject_id=subject,
                erased_at=erased_at,
                keys_destroyed=keys_destroyed,
                items_destroyed=items_destroyed,
                mac=seal_erasure(key, tenant, subject, erased_at, keys_destroyed, items_destroyed),
            )
        )

    # ------------------------------------------------------------------ reading
    def _proven(self) -> tuple[dict[tuple[str, str], dt.datetime], JournalStatus]:
        """The latest proven erasure of each subject, and the count of each kind of row."""
        et = table_of(SubjectErasure)
        with self.data.read() as conn:
            rows = conn.execute(
                select(
                    et.c.tenant_id,
                    et.c.subject_id,
                    et.c.erased_at,
                    et.c.keys_destroyed,
                    et.c.items_destroyed,
                    et.c.mac,
                )
            ).all()
        status = JournalStatus()
        erased: dict[tuple[str, str], dt.datetime] = {}
        checking: dict[str, bytes | None] = {}  # one lookup (and unwrap) per tenant
        for row in rows:
            tenant = row.tenant_id
            if row.mac is None:
                _count(status.unsealed, tenant)
                continue
            if tenant not in checking:
                checking[tenant] = self._checking_key(tenant)
            key = checking[tenant]
            if key is None or not std_hmac.compare_digest(_row_seal(key, row), str(row.mac)):
                _count(status.forged, tenant)
                continue
            _count(status.sealed, tenant)
            at = as_utc(row.erased_at)
            owner = (tenant, row.subject_id)
            if owner not in erased or erased[owner] < at:
                erased[owner] = at
        return erased, status

    def status(self) -> JournalStatus:
        return self._proven()[1]

    def vouch_unsealed(self, keys: Database) -> tuple[dict[str, int], dict[str, int]]:
        """Seal the rows written before the journal was sealed: an operator who holds the key
        provider vouches that they are the service's own (once, after the upgrade).

        Only rows that agree with the key store are sealed: before sealing, the journal was
        applied at every start, so a genuine old row has no data key older than it left to
        destroy. A row that would destroy a live key is one a data-store writer added, and
        vouching for it would make the next start shred a customer: it is left unsealed and
        counted. Returns the rows vouched for, and those refused, per tenant."""
        et = table_of(SubjectErasure)
        with self.data.read() as conn:
            rows = conn.execute(select(et).where(et.c.mac.is_(None))).all()
        live = self._keys_older_than(
            keys, {(r.tenant_id, r.subject_id): as_utc(r.erased_at) for r in rows}
        )
        vouched: dict[str, int] = {}
        refused: dict[str, int] = {}
        for row in rows:
            if (row.tenant_id, row.subject_id) in live:
                _count(refused, row.tenant_id)
                continue
            mac = _row_seal(self.key(row.tenant_id), row)
            with self.data.begin() as conn:
                done = conn.execute(
                    update(et).where(et.c.id == row.id, et.c.mac.is_(None)).values(mac=mac)
                ).rowcount
            if done:
                _count(vouched, row.tenant_id)
        return vouched, refused

    @staticmethod
    def _keys_older_than(
        keys: Database, erased: dict[tuple[str, str], dt.datetime]
    ) -> dict[tuple[str, str], list[str]]:
        """The data keys in the key store made at or before each subject's erasure."""
        kt = table_of(DataKey)
        by_tenant: dict[str, list[str]] = {}
        for tenant, subject in erased:
            by_tenant.setdefault(tenant, []).append(subject)
        found: dict[tuple[str, str], list[str]] = {}
        for tenant, subjects in by_tenant.items():
            for chunk in _chunks(subjects):
                with keys.read() as conn:
                    for row in conn.execute(
                        select(kt.c.id, kt.c.subject_id, kt.c.created_at).where(
                            kt.c.tenant_id == tenant,
                            kt.c.scope == "subject",
                            kt.c.subject_id.in_(chunk),
                        )
                    ):
                        if as_utc(row.created_at) <= erased[(tenant, row.subject_id)]:
                            found.setdefault((tenant, row.subject_id), []).append(row.id)
        return found

    # ------------------------------------------------------------------ replaying
    def replay(self, keys: Database) -> JournalReplay:
        """Destroy again the data keys of erased subjects that a restored key-store backup
        brought back. Only sealed rows act. A key made after the erasure (the same subject
        id, tokenized anew) is kept. Run at every start, before anything is served."""
        erased, status = self._proven()
        destroyed: dict[str, int] = {}
        back = self._keys_older_than(keys, erased)
        kt = table_of(DataKey)
        for tenant in sorted({tenant for tenant, _ in back}):
            ids = [i for (t, _), found in back.items() if t == tenant for i in found]
            for chunk in _chunks(ids):
                with keys.begin() as conn:
                    conn.execute(delete(kt).where(kt.c.id.in_(chunk)))
            destroyed[tenant] = len(ids)
        if destroyed and keys.is_sqlite:
            # Old page images in the write-ahead log still hold the keys: fold and truncate it.
            with keys.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return JournalReplay(destroyed, status)


def _row_seal(key: bytes, row: Any) -> str:
    """The seal a stored journal row should carry."""
    return seal_erasure(
        key, row.tenant_id, row.subject_id, row.erased_at, row.keys_destroyed, row.items_destroyed
    )


def _count(counts: dict[str, int], tenant: str) -> None:
    counts[tenant] = counts.get(tenant, 0) + 1
