"""The erasure journal proves itself before it destroys anything: at every start the service
applies it to the key store, so a row a data-store writer adds, copies or moves in time must
not make it shred a customer's keys."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from sqlalchemy import delete, insert, select, update

from tessera.vault import LocalKeyring, Vault
from tessera.vault._models import DataKey, ErasureJournalKey, SubjectErasure
from tests.conftest import Stores

VICTIM, GONE = "cust-victim", "cust-gone"


def _tokens(vault: Vault, tenant: str, subject: str) -> str:
    return vault.tokenize(tenant, f"{subject}@example.fr", category="email", subject=subject).token


def _keys_of(stores: Stores, tenant: str, subject: str) -> int:
    t = DataKey.__table__
    with stores.keys.read() as conn:
        rows = conn.execute(
            select(t.c.id).where(t.c.tenant_id == tenant, t.c.subject_id == subject)
        ).all()
    return len(rows)


def _add_row(stores: Stores, tenant: str, subject: str, *, mac: str | None) -> None:
    with stores.data.begin() as conn:
        conn.execute(
            insert(SubjectErasure.__table__).values(
                tenant_id=tenant,
                subject_id=subject,
                erased_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
                keys_destroyed=1,
                items_destroyed=1,
                mac=mac,
            )
        )


@pytest.fixture
def stores(fresh_stores: Stores) -> Stores:
    return fresh_stores


def test_a_genuine_erasure_is_sealed_and_replays(
    stores: Stores, keyring: LocalKeyring, tenant: str
) -> None:
    vault = Vault(data=stores.data, keys=stores.keys, key_provider=keyring)
    _tokens(vault, tenant, GONE)
    vault.erase_subject(tenant, GONE)
    status = vault.journal.status()
    assert status.sealed == {tenant: 1}
    assert status.unsealed == status.forged == {}
    # The journal key is wrapped by the provider, never in clear in the data store.
    key = vault.journal.key(tenant)
    assert key is not None
    with stores.data.read() as conn:
        wrapped = conn.execute(select(ErasureJournalKey.__table__.c.wrapped)).scalar_one()
    assert key not in bytes(wrapped)


@pytest.mark.parametrize("mac", [None, "00" * 32, secrets.token_hex(32)])
def test_a_row_a_database_writer_adds_destroys_nothing(
    stores: Stores, keyring: LocalKeyring, tenant: str, mac: str | None
) -> None:
    vault = Vault(data=stores.data, keys=stores.keys, key_provider=keyring)
    token = _tokens(vault, tenant, VICTIM)
    _tokens(vault, tenant, GONE)
    vault.erase_subject(tenant, GONE)  # the tenant has a journal key
    _add_row(stores, tenant, VICTIM, mac=mac)

    replay = Vault(data=stores.data, keys=stores.keys, key_provider=keyring).reapply_erasures()
    assert replay.destroyed == {}
    assert _keys_of(stores, tenant, VICTIM) == 1
    assert vault.detokenize(tenant, token).value == f"{VICTIM}@example.fr"
    if mac is None:
        assert replay.status.unsealed == {tenant: 1}
    else:
        assert replay.status.forged == {tenant: 1}
    assert replay.status.sealed == {tenant: 1}


def test_a_genuine_row_copied_onto_another_subject_or_moved_in_time_is_forged(
    stores: Stores, keyring: LocalKeyring, tenant: str, other_tenant: str
) -> None:
    vault = Vault(data=stores.data, keys=stores.keys, key_provider=keyring)
    _tokens(vault, tenant, GONE)
    vault.erase_subject(tenant, GONE)
    token = _tokens(vault, tenant, VICTIM)
    other = _tokens(vault, other_tenant, GONE)
    t = SubjectErasure.__table__
    with stores.data.read() as conn:
        genuine = dict(conn.execute(select(t)).one()._mapping)
    del genuine["id"]
    # The same seal on the victim, on the same subject id in another tenant…
    with stores.data.begin() as conn:
        conn.execute(insert(t).values(genuine | {"subject_id": VICTIM}))
        conn.execute(insert(t).values(genuine | {"tenant_id": other_tenant}))
    # …and the genuine row moved forward, to reach a key made after the erasure.
    _tokens(vault, tenant, GONE)
    with stores.data.begin() as conn:
        conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant, t.c.subject_id == GONE)
            .values(erased_at=genuine["erased_at"] + dt.timedelta(days=30))
        )

    replay = Vault(data=stores.data, keys=stores.keys, key_provider=keyring).reapply_erasures()
    assert replay.destroyed == {}
    assert replay.status.forged == {tenant: 2, other_tenant: 1}
    assert vault.detokenize(tenant, token).value == f"{VICTIM}@example.fr"
    assert vault.detokenize(other_tenant, other).value == f"{GONE}@example.fr"
    assert _keys_of(stores, tenant, GONE) == 1  # tokenized anew after the erasure: kept


def test_a_replaced_journal_key_proves_nothing_and_does_not_stop_the_start(
    stores: Stores, keyring: LocalKeyring, tenant: str
) -> None:
    vault = Vault(data=stores.data, keys=stores.keys, key_provider=keyring)
    _tokens(vault, tenant, GONE)
    vault.erase_subject(tenant, GONE)
    kt = ErasureJournalKey.__table__
    with stores.data.begin() as conn:  # a blob the writer made: it does not unwrap
        conn.execute(update(kt).values(wrapped=secrets.token_bytes(60)))
    replay = Vault(data=stores.data, keys=stores.keys, key_provider=keyring).reapply_erasures()
    assert replay.destroyed == {}
    assert replay.status.forged == {tenant: 1}


def _unsealed_row(stores: Stores, tenant: str, subject: str, at: dt.datetime) -> None:
    """A journal row as revision 0011 wrote it: no seal."""
    with stores.data.begin() as conn:
        conn.execute(
            insert(SubjectErasure.__table__).values(
                tenant_id=tenant, subject_id=subject, erased_at=at, keys_destroyed=1,
                items_destroyed=1,
            )
        )  # fmt: skip


def test_rows_from_before_sealing_act_only_once_an_operator_vouches(
    stores: Stores, keyring: LocalKeyring, tenant: str
) -> None:
    vault = Vault(data=stores.data, keys=stores.keys, key_provider=keyring)
    _tokens(vault, tenant, GONE)
    kt = DataKey.__table__
    with stores.keys.read() as conn:  # the key as a backup holds it
        backed_up = [
            dict(r._mapping) for r in conn.execute(select(kt).where(kt.c.subject_id == GONE))
        ]
    # An erasure before revision 0012: the key destroyed, an unsealed row written.
    with stores.keys.begin() as conn:
        conn.execute(delete(kt).where(kt.c.subject_id == GONE))
    _unsealed_row(stores, tenant, GONE, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
    assert vault.reapply_erasures().status.unsealed == {tenant: 1}
    assert vault.journal.vouch_unsealed(stores.keys) == ({tenant: 1}, {})
    assert vault.journal.vouch_unsealed(stores.keys) == ({}, {})  # once
    with stores.keys.begin() as conn:  # then an old key-store backup is restored
        conn.execute(insert(kt), backed_up)
    vault.clear_cache()
    replay = vault.reapply_erasures()
    assert replay.destroyed == {tenant: 1}
    assert replay.status.sealed == {tenant: 1}
    assert _keys_of(stores, tenant, GONE) == 0


def test_an_unsealed_row_that_would_destroy_a_live_key_is_not_vouched_for(
    stores: Stores, keyring: LocalKeyring, tenant: str
) -> None:
    """A row a data-store writer adds without a seal, waiting for an operator's vouch."""
    vault = Vault(data=stores.data, keys=stores.keys, key_provider=keyring)
    token = _tokens(vault, tenant, VICTIM)
    _unsealed_row(stores, tenant, VICTIM, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert vault.journal.vouch_unsealed(stores.keys) == ({}, {tenant: 1})
    assert vault.reapply_erasures().destroyed == {}
    assert vault.journal.status().unsealed == {tenant: 1}
    assert vault.detokenize(tenant, token).value == f"{VICTIM}@example.fr"


def test_a_rotation_rewraps_the_journal_keys(
    stores: Stores, keyring: LocalKeyring, tenant: str
) -> None:
    vault = Vault(data=stores.data, keys=stores.keys, key_provider=keyring)
    _tokens(vault, tenant, GONE)
    vault.erase_subject(tenant, GONE)
    keyring.rotate()
    assert vault.journal.rewrap() == 1
    assert vault.journal.rewrap() == 0
    kt = ErasureJournalKey.__table__
    with stores.data.read() as conn:
        assert conn.execute(select(kt.c.kek_version)).scalar_one() == keyring.current_version()
    fresh = Vault(data=stores.data, keys=stores.keys, key_provider=keyring)
    assert fresh.journal.status().sealed == {tenant: 1}
