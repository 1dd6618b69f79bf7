"""Crypto-shredding holds for backups: data backed up before an erasure is unreadable after it.

The backup is taken as an operator would: a file copy of the SQLite data store, or `pg_dump` of
the PostgreSQL data schema restored into another database. Keys live in a separate store that
the data backup does not carry.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import URL, make_url

from tessera.storage import Database
from tessera.vault import InvalidToken, LocalKeyring, TokenizeRequest, Vault
from tessera.vault._models import DataKey
from tests.conftest import PG_URL, Stores

pytestmark = pytest.mark.slow

ERASED, KEPT = "cust-erased", "cust-kept"


def _populate(vault: Vault, tenant: str) -> tuple[list[str], list[str]]:
    erased = vault.tokenize_batch(
        tenant,
        [
            TokenizeRequest("4970101234567893", "card_pan", ERASED),
            TokenizeRequest("jean.dupont@example.fr", "email", ERASED),
            TokenizeRequest("06 12 34 56 78", "phone", ERASED),
        ],
    )
    kept = vault.tokenize_batch(tenant, [TokenizeRequest("marie@example.fr", "email", KEPT)])
    return [r.token for r in erased], [r.token for r in kept]


def _wrapped_key(stores: Stores, tenant: str, subject: str) -> bytes:
    t = DataKey.__table__
    with stores.keys.begin() as conn:
        return bytes(
            conn.execute(
                select(t.c.wrapped).where(t.c.tenant_id == tenant, t.c.subject_id == subject)
            ).scalar_one()
        )


def _libpq() -> URL:
    """The test database's URL as libpq's tools (pg_dump, psql) take it."""
    return make_url(PG_URL).set(drivername="postgresql")


def _pg_dump(schema: str | None, dump: Path) -> None:
    """A plain-SQL dump of one schema, as an operator's backup job makes it."""
    subprocess.run(
        [
            "pg_dump",
            "--no-owner",
            "--schema",
            str(schema),
            "--file",
            str(dump),
            _libpq().render_as_string(hide_password=False),
        ],
        check=True,
    )


def _assert_backup_is_shredded(
    backup: Database,
    stores: Stores,
    keyring: LocalKeyring,
    tenant: str,
    erased: list[str],
    kept: list[str],
) -> None:
    restored = Vault(data=backup, keys=stores.keys, key_provider=keyring)
    # The backup holds the ciphertexts…
    assert restored.count_items(tenant) == len(erased) + len(kept)
    # …but the erased subject's key is gone, so they stay ciphertexts.
    for token in erased:
        with pytest.raises(InvalidToken):
            restored.detokenize(tenant, token)
    # The backup itself is sound: the other subject restores fine.
    assert restored.detokenize(tenant, kept[0]).value == "marie@example.fr"


@pytest.mark.skipif(PG_URL is not None, reason="SQLite file backup")
def test_sqlite_file_backup_taken_before_erasure_is_unreadable_after(
    fresh_stores: Stores, keyring: LocalKeyring, tenant: str, tmp_path: Path
) -> None:
    vault = Vault(data=fresh_stores.data, keys=fresh_stores.keys, key_provider=keyring)
    erased, kept = _populate(vault, tenant)
    destroyed = _wrapped_key(fresh_stores, tenant, ERASED)

    with fresh_stores.data.engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    source = Path(fresh_stores.data.url.database)
    backup_file = tmp_path / "backup-data.db"
    shutil.copyfile(source, backup_file)

    vault.erase_subject(tenant, ERASED)

    backup = Database(f"sqlite:///{backup_file}")
    _assert_backup_is_shredded(backup, fresh_stores, keyring, tenant, erased, kept)
    backup.dispose()

    # The destroyed key is in no file of the key store, read while the store is still open:
    # not in a free page (secure_delete), not in a write-ahead-log frame (truncated on erasure).
    with fresh_stores.keys.engine.connect() as conn:
        assert conn.execute(text("PRAGMA secure_delete")).scalar_one() == 1
        keys_file = Path(fresh_stores.keys.url.database)
        files = list(keys_file.parent.glob(keys_file.name + "*"))
        assert keys_file in files
        for path in files:
            assert destroyed not in path.read_bytes(), path.name


@pytest.mark.skipif(PG_URL is None, reason="PostgreSQL pg_dump backup")
def test_postgresql_dump_taken_before_erasure_is_unreadable_after(
    fresh_stores: Stores, keyring: LocalKeyring, tenant: str, tmp_path: Path
) -> None:
    if not shutil.which("pg_dump"):
        pytest.fail("pg_dump is missing: scripts/install installs postgresql-client")
    vault = Vault(data=fresh_stores.data, keys=fresh_stores.keys, key_provider=keyring)
    erased, kept = _populate(vault, tenant)

    dump = tmp_path / "data.sql"
    _pg_dump(fresh_stores.data.schema, dump)

    vault.erase_subject(tenant, ERASED)

    restore_db = f"tt_restore_{secrets.token_hex(4)}"
    admin = Database(PG_URL)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{restore_db}"'))
    try:
        target = _libpq().set(database=restore_db).render_as_string(hide_password=False)
        subprocess.run(
            ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", "--file", str(dump), target],
            check=True,
            capture_output=True,
        )
        backup = Database(
            make_url(PG_URL).set(database=restore_db).render_as_string(hide_password=False),
            schema=fresh_stores.data.schema,
        )
        _assert_backup_is_shredded(backup, fresh_stores, keyring, tenant, erased, kept)
        backup.dispose()
    finally:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{restore_db}" WITH (FORCE)'))
        admin.dispose()


def _backup_keys(stores: Stores, tmp_path: Path) -> Path:
    """A backup of the key store as an operator takes it: a file copy, or `pg_dump`."""
    if stores.keys.is_sqlite:
        with stores.keys.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        copy = tmp_path / "keys-backup.db"
        shutil.copyfile(stores.keys.url.database, copy)
        return copy
    dump = tmp_path / "keys.sql"
    _pg_dump(stores.keys.schema, dump)
    return dump


def _restore_keys(stores: Stores, backup: Path) -> None:
    stores.keys.dispose()
    if stores.keys.is_sqlite:
        keys_file = Path(stores.keys.url.database)
        for stale in keys_file.parent.glob(keys_file.name + "-*"):
            stale.unlink()
        shutil.copyfile(backup, keys_file)
        return
    with stores.keys.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP SCHEMA "{stores.keys.schema}" CASCADE'))
    subprocess.run(
        [
            "psql",
            "--quiet",
            "--set",
            "ON_ERROR_STOP=1",
            "--file",
            str(backup),
            _libpq().render_as_string(hide_password=False),
        ],
        check=True,
        capture_output=True,
    )


def test_a_restored_key_store_never_brings_an_erased_customer_back(
    fresh_stores: Stores, keyring: LocalKeyring, tenant: str, tmp_path: Path
) -> None:
    if fresh_stores.keys.is_postgresql and not shutil.which("pg_dump"):
        pytest.fail("pg_dump is missing: scripts/install installs postgresql-client")
    vault = Vault(data=fresh_stores.data, keys=fresh_stores.keys, key_provider=keyring)
    erased, kept = _populate(vault, tenant)
    keys_backup = _backup_keys(fresh_stores, tmp_path)
    data_backup = tmp_path / "data-backup"
    if fresh_stores.data.is_sqlite:  # an old copy of the data too: the worst case
        with fresh_stores.data.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        shutil.copyfile(fresh_stores.data.url.database, data_backup)

    vault.erase_subject(tenant, ERASED)
    again = vault.tokenize(tenant, "new@example.fr", category="email", subject=ERASED).token
    _restore_keys(fresh_stores, keys_backup)
    assert _wrapped_key(fresh_stores, tenant, KEPT)  # the restore is real…
    t = DataKey.__table__
    with fresh_stores.keys.begin() as conn:  # …and it brought the erased customer's key back
        back = conn.execute(
            select(t.c.id).where(t.c.tenant_id == tenant, t.c.subject_id == ERASED)
        ).all()
    assert len(back) == 1

    restarted = Vault(data=fresh_stores.data, keys=fresh_stores.keys, key_provider=keyring)
    assert restarted.reapply_erasures().destroyed == {tenant: 1}
    assert restarted.reapply_erasures().destroyed == {}  # once is enough
    if fresh_stores.data.is_sqlite:
        old_data = Database(f"sqlite:///{data_backup}")
        resurrect = Vault(data=old_data, keys=fresh_stores.keys, key_provider=keyring)
        for token in erased:
            with pytest.raises(InvalidToken):
                resurrect.detokenize(tenant, token)
        old_data.dispose()
    assert restarted.detokenize(tenant, kept[0]).value == "marie@example.fr"
    # The key restored from before the erasure is gone; the new data keeps no key: it was made
    # after the backup, so the restore lost it (an operator restores both stores together).
    with pytest.raises(InvalidToken):
        restarted.detokenize(tenant, again)
