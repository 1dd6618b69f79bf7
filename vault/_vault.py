"""The vault: tokenize, detokenize, reveal masked, search by blind index, erase, rotate."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tessera.metrics import KEY_CACHE
from tessera.storage import Database, HotStatement, table_of, utcnow

from ._categories import DataCategory, PreparedValue, mask, prepare
from ._erasure import ErasureJournal, JournalReplay
from ._errors import InvalidToken, InvalidValue, UnknownSubject, ValueTooLarge
from ._keys import KeyProvider, WrappedKey
from ._keys import data_key_aad as _dek_aad
from ._models import DataKey, SubjectErasure, VaultItem
from ._tokens import check_token_shape, new_opaque_token, new_pan_token
from ._types import (
    Detokenized,
    Erasure,
    Sealed,
    TokenizeRequest,
    TokenRecord,
    VaultLimits,
    check_subject,
    check_tenant,
)

__all__ = ["Vault"]

_NONCE = 12
_SEP = "\x1f"
_RESERVED_SCOPES = frozenset({"tenant", "subject", "index"})
_SECRET_NAME = re.compile(r"^[a-z][a-z0-9\-]{1,15}$")
_CHUNK = 2000
_HITS, _MISSES = KEY_CACHE.labels("hit"), KEY_CACHE.labels("miss")


_ITEMS = table_of(VaultItem)
# Built once: statement construction is a large share of a single read's cost.
_SEALED = select(
    _ITEMS.c.token, _ITEMS.c.subject_id, _ITEMS.c.category, _ITEMS.c.dek_id, _ITEMS.c.ciphertext
).where(_ITEMS.c.tenant_id == bindparam("tenant"))
_FETCH = _SEALED.where(_ITEMS.c.token.in_(bindparam("tokens", expanding=True)))
# One token, the gateway's usual case: run on the driver's cursor (an expanding IN would also
# be re-rendered on every execution).
_FETCH_ONE = HotStatement(_SEALED.where(_ITEMS.c.token == bindparam("token")))


def _sealed(row: Any) -> Sealed:
    return Sealed(
        TokenRecord(row.token, DataCategory(row.category), row.subject_id or None),
        row.dek_id,
        bytes(row.ciphertext),
    )


@dataclass(slots=True)
class _Dek:
    id: str
    aead: AESGCM
    raw: bytes


def _item_aad(tenant: str, subject: str, category: str, dek_id: str, token: str) -> bytes:
    return _SEP.join(("tessera/item/1", tenant, subject, category, dek_id, token)).encode()


class Vault:
    """Envelope-encrypted storage of personal and card data, handed out as tokens.

    Values are sealed with AES-256-GCM under a data key per subject (or per
    tenant for values without a subject); data keys are wrapped by the key
    provider's KEK and kept in a separate key store, so that destroying a
    subject's key (crypto-shredding) makes every copy of its data unreadable,
    backups included. Unwrapped keys sit in a bounded, expiring cache.
    """

    def __init__(
        self,
        *,
        data: Database,
        keys: Database,
        key_provider: KeyProvider,
        limits: VaultLimits | None = None,
        cache_ttl: float = 300.0,
        cache_size: int = 100_000,
        clock: Callable[[], Any] = utcnow,
        default_region: str = "FR",
    ) -> None:
        self.data = data
        self.keys = keys
        self.key_provider = key_provider
        self.limits = limits or VaultLimits()
        self.clock = clock
        self.default_region = default_region
        self.journal = ErasureJournal(data, key_provider, clock=clock)
        self._cache_lock = threading.Lock()
        self._deks: TTLCache[str, _Dek] = TTLCache(maxsize=cache_size, ttl=cache_ttl)
        self._owners: TTLCache[tuple[str, str, str], str] = TTLCache(
            maxsize=cache_size, ttl=cache_ttl
        )

    # ------------------------------------------------------------------ data keys
    def _cache_get_owner(self, owner: tuple[str, str, str]) -> _Dek | None:
        with self._cache_lock:
            dek_id = self._owners.get(owner)
            dek = self._deks.get(dek_id) if dek_id else None
        (_HITS if dek is not None else _MISSES).inc()
        return dek

    def _cache_put(self, owner: tuple[str, str, str], dek: _Dek) -> None:
        with self._cache_lock:
            self._deks[dek.id] = dek
            self._owners[owner] = dek.id

    def _unwrap(self, row: Any) -> _Dek:
        raw = self.key_provider.unwrap(
            WrappedKey(row.kek_version, row.wrapped),
            aad=_dek_aad(row.tenant_id, row.scope, row.subject_id, row.id),
        )
        return _Dek(row.id, AESGCM(raw), raw)

    def _owner_keys(self, tenant: str, scope: str, subjects: Iterable[str]) -> dict[str, _Dek]:
        """The data key of each owner, created on first use (race-safe across processes)."""
        found: dict[str, _Dek] = {}
        missing: list[str] = []
        for subject in set(subjects):
            dek = self._cache_get_owner((tenant, scope, subject))
            if dek is None:
                missing.append(subject)
            else:
                found[subject] = dek
        if not missing:
            return found
        t = table_of(DataKey)
        for chunk in _chunks(missing):
            with self.keys.read() as conn:
                rows = conn.execute(
                    select(t).where(
                        t.c.tenant_id == tenant, t.c.scope == scope, t.c.subject_id.in_(chunk)
                    )
                ).all()
            for row in rows:
                dek = self._unwrap(row)
                found[row.subject_id] = dek
                self._cache_put((tenant, scope, row.subject_id), dek)
        to_create = [s for s in missing if s not in found]
        if to_create:
            now = self.clock()
            new_rows = []
            fresh: dict[str, _Dek] = {}
            for subject in to_create:
                dek_id = "dek_" + secrets.token_hex(12)
                raw = AESGCM.generate_key(256)
                wrapped = self.key_provider.wrap(raw, aad=_dek_aad(tenant, scope, subject, dek_id))
                new_rows.append(
                    dict(
                        id=dek_id,
                        tenant_id=tenant,
                        scope=scope,
                        subject_id=subject,
                        kek_version=wrapped.kek_version,
                        wrapped=wrapped.blob,
                        created_at=now,
                    )
                )
                fresh[subject] = _Dek(dek_id, AESGCM(raw), raw)
            try:
                with self.keys.begin() as conn:
                    conn.execute(insert(t), new_rows)
            except IntegrityError:
                # Another process created some of them first: take theirs.
                return self._owner_keys(tenant, scope, missing) | found
            for subject, dek in fresh.items():
                found[subject] = dek
                self._cache_put((tenant, scope, subject), dek)
        return found

    def _keys_by_id(self, tenant: str, dek_ids: Iterable[str]) -> dict[str, _Dek]:
        found: dict[str, _Dek] = {}
        missing = []
        with self._cache_lock:
            for dek_id in set(dek_ids):
                dek = self._deks.get(dek_id)
                if dek is None:
                    missing.append(dek_id)
                else:
                    found[dek_id] = dek
        _HITS.inc(len(found))
        _MISSES.inc(len(missing))
        t = table_of(DataKey)
        for chunk in _chunks(missing):
            with self.keys.read() as conn:
                rows = conn.execute(
                    select(t).where(t.c.tenant_id == tenant, t.c.id.in_(chunk))
                ).all()
            for row in rows:
                dek = self._unwrap(row)
                found[row.id] = dek
                self._cache_put((tenant, row.scope, row.subject_id), dek)
        return found

    def tenant_secret(self, tenant: str, name: str) -> bytes:
        """A 32-byte secret of the tenant (a signing seed, say), kept wrapped in the key store."""
        check_tenant(tenant)
        if name in _RESERVED_SCOPES or not _SECRET_NAME.match(name):
            raise InvalidValue("secret names are 2-16 characters of a-z, 0-9 and '-'")
        return self._owner_keys(tenant, name, [""])[""].raw

    def seal_secret(self, tenant: str, subject: str, label: str, secret: bytes) -> bytes:
        """Encrypt a subject's own secret (a TOTP seed, say) under the subject's data key.

        The blob is stored by its owner, not the vault; erasing the subject shreds it too.
        """
        check_tenant(tenant)
        subject = check_subject(subject)
        dek = self._owner_keys(tenant, "subject", [subject])[subject]
        nonce = secrets.token_bytes(12)
        aad = _SEP.join(("tessera/secret/1", tenant, subject, label, dek.id)).encode()
        return dek.id.encode() + b"." + nonce + dek.aead.encrypt(nonce, secret, aad)

    def open_secret(self, tenant: str, subject: str, label: str, blob: bytes) -> bytes:
        check_tenant(tenant)
        subject = check_subject(subject)
        dek_id, _, rest = blob.partition(b".")
        dek = self._keys_by_id(tenant, [dek_id.decode("ascii", "replace")]).get(dek_id.decode())
        if dek is None:
            raise UnknownSubject("the subject's key no longer exists (erased)")
        aad = _SEP.join(("tessera/secret/1", tenant, subject, label, dek.id)).encode()
        try:
            return dek.aead.decrypt(rest[:12], rest[12:], aad)
        except InvalidTag:
            raise InvalidValue("the sealed secret does not belong here") from None

    def _index_key(self, tenant: str) -> bytes:
        return self._owner_keys(tenant, "index", [""])[""].raw

    @staticmethod
    def _blind(index_key: bytes, category: str, normalized: str) -> bytes:
        mac = hmac.HMAC(index_key, hashes.SHA256())
        mac.update(f"{category}{_SEP}{normalized}".encode())
        return mac.finalize()

    # ------------------------------------------------------------------ tokenize
    def tokenize(
        self,
        tenant: str,
        value: str,
        *,
        category: DataCategory | str = DataCategory.GENERIC,
        subject: str | None = None,
    ) -> TokenRecord:
        """Vault `value` and return its token; the same value for the same owner keeps its token."""
        return self.tokenize_batch(tenant, [TokenizeRequest(value, category, subject)])[0]

    def validate(self, item: TokenizeRequest) -> None:
        """Raise `InvalidValue` if `item` would be refused; store nothing."""
        self._prepare(item, index=None)

    def _prepare(self, item: TokenizeRequest, *, index: int | None) -> tuple[PreparedValue, str]:
        try:
            value = prepare(
                item.category,
                item.value,
                max_bytes=self.limits.max_value_bytes,
                default_region=self.default_region,
            )
        except InvalidValue as exc:
            raise type(exc)(exc.detail, index=index) from None
        return value, check_subject(item.subject, index=index)

    def tokenize_batch(self, tenant: str, items: Sequence[TokenizeRequest]) -> list[TokenRecord]:
        """All or nothing: one invalid item rejects the batch, naming its index."""
        check_tenant(tenant)
        if len(items) > self.limits.max_batch_items:
            raise ValueTooLarge(f"a batch holds at most {self.limits.max_batch_items} values")
        prepared = [
            self._prepare(item, index=i if len(items) > 1 else None) for i, item in enumerate(items)
        ]
        if not prepared:
            return []
        index_key = self._index_key(tenant)
        keyed = [
            (v, s, self._blind(index_key, v.category.value, v.normalized)) for v, s in prepared
        ]

        existing = self._existing_tokens(tenant, {b for _, _, b in keyed})
        deks = self._owner_keys(tenant, "subject", {s for _, s, _ in keyed if s})
        if any(not s for _, s, _ in keyed):
            deks.update({"": self._owner_keys(tenant, "tenant", [""])[""]})
        now = self.clock()
        # Each result is either an existing token or the position of a row to insert.
        slots: list[str | int] = []
        rows: list[dict[str, Any]] = []
        planned: dict[tuple[str, str, bytes], int] = {}
        drawn: set[str] = set()
        for value, subject, blind in keyed:
            owner_key = (subject, value.category.value, blind)
            token = existing.get(owner_key)
            if token is not None:
                slots.append(token)
                continue
            if owner_key not in planned:
                token = self._new_token(value.category, value.stored)
                while token in drawn:  # PAN tokens have few free digits: draw apart
                    token = self._new_token(value.category, value.stored)
                drawn.add(token)
                planned[owner_key] = len(rows)
                rows.append(
                    self._seal_row(
                        tenant,
                        subject,
                        value.category.value,
                        value.stored,
                        deks[subject],
                        token,
                        blind,
                        now,
                    )
                )
            slots.append(planned[owner_key])
        final = self._insert_items(tenant, rows, deks) if rows else []
        return [
            TokenRecord(
                slot if isinstance(slot, str) else final[slot], value.category, subject or None
            )
            for slot, (value, subject, _) in zip(slots, keyed, strict=True)
        ]

    def _new_token(self, category: DataCategory, stored: str) -> str:
        return new_pan_token(stored) if category is DataCategory.CARD_PAN else new_opaque_token()

    def _seal_row(
        self,
        tenant: str,
        subject: str,
        category: str,
        stored: str,
        dek: _Dek,
        token: str,
        blind: bytes,
        now: Any,
    ) -> dict[str, Any]:
        nonce = secrets.token_bytes(_NONCE)
        ciphertext = nonce + dek.aead.encrypt(
            nonce, stored.encode("utf-8"), _item_aad(tenant, subject, category, dek.id, token)
        )
        return dict(
            tenant_id=tenant,
            token=token,
            subject_id=subject,
            category=category,
            dek_id=dek.id,
            ciphertext=ciphertext,
            blind_index=blind,
            created_at=now,
        )

    def _existing_tokens(
        self, tenant: str, blinds: set[bytes]
    ) -> dict[tuple[str, str, bytes], str]:
        t = table_of(VaultItem)
        found: dict[tuple[str, str, bytes], str] = {}
        with self.data.read() as conn:
            for chunk in _chunks(list(blinds)):
                for row in conn.execute(
                    select(t.c.token, t.c.subject_id, t.c.category, t.c.blind_index).where(
                        t.c.tenant_id == tenant, t.c.blind_index.in_(chunk)
                    )
                ):
                    found[(row.subject_id, row.category, bytes(row.blind_index))] = row.token
        return found

    def _insert_items(
        self, tenant: str, rows: list[dict[str, Any]], deks: dict[str, _Dek]
    ) -> list[str]:
        """Insert in one statement; on a clash (token taken, or a concurrent twin), row by row.

        Returns the token each row finally holds, in order.
        """
        t = table_of(VaultItem)
        try:
            with self.data.begin() as conn:
                conn.execute(insert(t), rows)
            return [row["token"] for row in rows]
        except IntegrityError:
            pass
        with self.data.begin() as conn:
            return [self._insert_one(conn, tenant, row, deks) for row in rows]

    def _insert_one(
        self, conn: Connection, tenant: str, row: dict[str, Any], deks: dict[str, _Dek]
    ) -> str:
        t = table_of(VaultItem)
        for _attempt in range(64):
            twin = conn.execute(
                select(t.c.token).where(
                    t.c.tenant_id == tenant,
                    t.c.subject_id == row["subject_id"],
                    t.c.category == row["category"],
                    t.c.blind_index == row["blind_index"],
                )
            ).first()
            if twin is not None:
                return str(twin.token)
            try:
                with conn.begin_nested():
                    conn.execute(insert(t), [row])
                return str(row["token"])
            except IntegrityError:
                # The token is taken (PAN tokens have few free middle digits): draw another.
                dek = deks[row["subject_id"]]
                plain = dek.aead.decrypt(
                    row["ciphertext"][:_NONCE],
                    row["ciphertext"][_NONCE:],
                    _item_aad(tenant, row["subject_id"], row["category"], dek.id, row["token"]),
                ).decode()
                category = DataCategory(row["category"])
                row = self._seal_row(
                    tenant,
                    row["subject_id"],
                    row["category"],
                    plain,
                    dek,
                    self._new_token(category, plain),
                    row["blind_index"],
                    row["created_at"],
                )
        raise InvalidValue("no free token left for this card's BIN and last four")

    # ------------------------------------------------------------------ detokenize
    def detokenize(self, tenant: str, token: str) -> Detokenized:
        return self.detokenize_batch(tenant, [token])[0]

    def detokenize_batch(self, tenant: str, tokens: Sequence[str]) -> list[Detokenized]:
        """All or nothing: an unknown, erased or another tenant's token fails the batch."""
        return self.unseal(tenant, self.fetch(tenant, tokens))

    def fetch(self, tenant: str, tokens: Sequence[str]) -> list[Sealed]:
        """The stored rows of `tokens`, still encrypted: decide on them, then `unseal`."""
        check_tenant(tenant)
        if len(tokens) > self.limits.max_batch_items:
            raise ValueTooLarge(f"a batch holds at most {self.limits.max_batch_items} tokens")
        wanted = [check_token_shape(tok, index=i) for i, tok in enumerate(tokens)]
        with self.data.read() as conn:
            if len(wanted) == 1:
                found = _FETCH_ONE.all(conn, {"tenant": tenant, "token": wanted[0]})
            else:
                found = [
                    row
                    for chunk in _chunks(list(set(wanted)))
                    for row in conn.execute(_FETCH, {"tenant": tenant, "tokens": chunk})
                ]
            rows = {row.token: row for row in found}
        out = []
        for i, tok in enumerate(wanted):
            row = rows.get(tok)
            if row is None:
                raise InvalidToken(index=i if len(wanted) > 1 else None)
            out.append(_sealed(row))
        return out

    def fetch_subject(
        self, tenant: str, subject: str, categories: Iterable[DataCategory]
    ) -> list[Sealed]:
        """A subject's stored rows in these categories, still encrypted."""
        check_tenant(tenant)
        subject = check_subject(subject)
        t = table_of(VaultItem)
        with self.data.read() as conn:
            rows = conn.execute(
                select(t.c.token, t.c.subject_id, t.c.category, t.c.dek_id, t.c.ciphertext)
                .where(
                    t.c.tenant_id == tenant,
                    t.c.subject_id == subject,
                    t.c.category.in_([c.value for c in categories]),
                )
                .order_by(t.c.created_at, t.c.token)
            ).all()
        return [_sealed(row) for row in rows]

    def unseal(self, tenant: str, items: Sequence[Sealed]) -> list[Detokenized]:
        """Decrypt what `fetch` returned; an erased key makes the item an invalid token."""
        deks = self._keys_by_id(tenant, {s.dek_id for s in items})
        out = []
        for i, item in enumerate(items):
            index = i if len(items) > 1 else None
            dek = deks.get(item.dek_id)
            if dek is None:
                raise InvalidToken(index=index)
            record = item.record
            try:
                plain = dek.aead.decrypt(
                    item.ciphertext[:_NONCE],
                    item.ciphertext[_NONCE:],
                    _item_aad(
                        tenant, record.subject or "", record.category.value, dek.id, record.token
                    ),
                )
            except InvalidTag:
                raise InvalidToken(index=index) from None
            out.append(
                Detokenized(record.token, record.category, record.subject, plain.decode("utf-8"))
            )
        return out

    def reveal_masked(self, tenant: str, token: str) -> str:
        return self.reveal_masked_batch(tenant, [token])[0]

    def reveal_masked_batch(self, tenant: str, tokens: Sequence[str]) -> list[str]:
        """The display form only (`•••• 4242`): a lower-risk action than detokenize."""
        return [mask(d.category, d.value) for d in self.detokenize_batch(tenant, tokens)]

    # ------------------------------------------------------------------ search
    def find(self, tenant: str, value: str, *, category: DataCategory | str) -> list[TokenRecord]:
        """Tokens holding `value` (equality on the blind index), without decrypting anything."""
        category, blind = self._blind_of(tenant, value, category)
        t = table_of(VaultItem)
        with self.data.read() as conn:
            rows = conn.execute(
                select(t.c.token, t.c.subject_id)
                .where(
                    t.c.tenant_id == tenant,
                    t.c.blind_index == blind,
                    t.c.category == category.value,
                )
                .order_by(t.c.created_at, t.c.token)
            ).all()
        return [TokenRecord(r.token, category, r.subject_id or None) for r in rows]

    def blind_index(self, tenant: str, value: str, *, category: DataCategory | str) -> str:
        """The keyed hash other services may store to match "same value" without seeing it."""
        return self._blind_of(tenant, value, category)[1].hex()

    def _blind_of(
        self, tenant: str, value: str, category: DataCategory | str
    ) -> tuple[DataCategory, bytes]:
        check_tenant(tenant)
        prepared, _ = self._prepare(TokenizeRequest(value, category), index=None)
        return prepared.category, self._blind(
            self._index_key(tenant), prepared.category.value, prepared.normalized
        )

    # ------------------------------------------------------------------ rectification
    def rectify(
        self, tenant: str, token: str, value: str, *, subject: str | None = None
    ) -> TokenRecord:
        """Art. 16: put a corrected value behind an existing token, so its holders need no update.

        With `subject`, the token must belong to that subject. Card tokens carry BIN and last
        four, so a different card is a new token, never a rectification.
        """
        check_tenant(tenant)
        check_token_shape(token)
        t = table_of(VaultItem)
        with self.data.read() as conn:
            row = conn.execute(
                select(t.c.subject_id, t.c.category).where(
                    t.c.tenant_id == tenant, t.c.token == token
                )
            ).first()
        if row is None or (subject is not None and row.subject_id != subject):
            raise InvalidToken()
        category = DataCategory(row.category)
        if category is DataCategory.CARD_PAN:
            raise InvalidValue("a card number cannot be rectified: tokenize the new card")
        prepared, _ = self._prepare(
            TokenizeRequest(value, category, row.subject_id or None), index=None
        )
        owner = row.subject_id
        dek = self._owner_keys(tenant, "subject" if owner else "tenant", [owner])[owner]
        blind = self._blind(self._index_key(tenant), category.value, prepared.normalized)
        sealed = self._seal_row(
            tenant, owner, category.value, prepared.stored, dek, token, blind, self.clock()
        )
        with self.data.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.tenant_id == tenant, t.c.token == token)
                .values(dek_id=sealed["dek_id"], ciphertext=sealed["ciphertext"], blind_index=blind)
            )
        return TokenRecord(token, category, owner or None)

    # ------------------------------------------------------------------ erasure
    def erase_subject(self, tenant: str, subject: str) -> Erasure:
        """Crypto-shred: destroy the subject's data key, then its ciphertexts, and record it.

        The key goes first: if the process dies in between, what is left is
        unreadable, and calling again finishes the job. Erasing an erased
        subject returns the first record.
        """
        check_tenant(tenant)
        subject = check_subject(subject)
        if not subject:
            raise InvalidValue("subject id is required")
        # The journal key first: an erasure that could not be recorded must not start.
        journal_key = self.journal.key(tenant)
        kt = table_of(DataKey)
        with self.keys.begin() as conn:
            keys_destroyed = conn.execute(
                delete(kt).where(
                    kt.c.tenant_id == tenant, kt.c.scope == "subject", kt.c.subject_id == subject
                )
            ).rowcount
        with self._cache_lock:
            dek_id = self._owners.pop((tenant, "subject", subject), None)
            if dek_id:
                self._deks.pop(dek_id, None)
        if keys_destroyed and self.keys.is_sqlite:
            # Old page images in the write-ahead log still hold the key: fold and truncate it.
            with self.keys.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        it, et = table_of(VaultItem), table_of(SubjectErasure)
        with self.data.begin() as conn:
            items_destroyed = conn.execute(
                delete(it).where(it.c.tenant_id == tenant, it.c.subject_id == subject)
            ).rowcount
            if keys_destroyed or items_destroyed:
                now = self.clock()
                self.journal.record(
                    conn, journal_key, tenant, subject, now, keys_destroyed, items_destroyed
                )
                return Erasure(tenant, subject, now, keys_destroyed, items_destroyed)
            previous = conn.execute(
                select(et)
                .where(et.c.tenant_id == tenant, et.c.subject_id == subject)
                .order_by(et.c.id)
                .limit(1)
            ).first()
        if previous is None:
            raise UnknownSubject("no data is held for this subject")
        return Erasure(
            tenant, subject, previous.erased_at, previous.keys_destroyed, previous.items_destroyed
        )

    def reapply_erasures(self) -> JournalReplay:
        """The erasure journal applied again to the key store (see `ErasureJournal.replay`)."""
        replay = self.journal.replay(self.keys)
        if replay.destroyed:
            self.clear_cache()
        return replay

    def describe(self, tenant: str, tokens: Sequence[str]) -> list[TokenRecord]:
        """Category and subject of each token, without decrypting anything (for decisions)."""
        return [item.record for item in self.fetch(tenant, tokens)]

    def subject_tokens(self, tenant: str, subject: str) -> list[TokenRecord]:
        """Every token held for a subject (for access and export requests)."""
        check_tenant(tenant)
        subject = check_subject(subject)
        t = table_of(VaultItem)
        with self.data.read() as conn:
            rows = conn.execute(
                select(t.c.token, t.c.category)
                .where(t.c.tenant_id == tenant, t.c.subject_id == subject)
                .order_by(t.c.created_at, t.c.token)
            ).all()
        return [TokenRecord(r.token, DataCategory(r.category), subject) for r in rows]

    def count_items(self, tenant: str) -> int:
        t = table_of(VaultItem)
        with self.data.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(t).where(t.c.tenant_id == tenant)
                ).scalar_one()
            )

    def categories_held(self, tenant: str) -> dict[str, int]:
        """How many values of each category the tenant holds (the record of processing)."""
        t = table_of(VaultItem)
        with self.data.read() as conn:
            rows = conn.execute(
                select(t.c.category, func.count())
                .where(t.c.tenant_id == tenant)
                .group_by(t.c.category)
            ).all()
        return {str(category): int(count) for category, count in rows}

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._deks.clear()
            self._owners.clear()


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
