"""Migrations and models agree, on the database under test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import tessera.trust._services  # noqa: F401 - the composition root imports every table
from tessera.storage import Store, current_revision, head_revision
from tessera.vault import KEYSTORE_TABLES
from tests.conftest import Stores


def _diff(db, store: Store) -> list:
    def include(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table":
            in_keys = name in KEYSTORE_TABLES
            return name != "alembic_version" and in_keys == (store is Store.KEYS)
        return True

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_object": include, "compare_type": True}
        )
        return compare_metadata(ctx, SQLModel.metadata)


def test_data_store_schema_matches_the_models(shared_stores: Stores) -> None:
    assert current_revision(shared_stores.data) == head_revision(Store.DATA)
    assert _diff(shared_stores.data, Store.DATA) == []


def test_key_store_schema_matches_the_models(shared_stores: Stores) -> None:
    assert current_revision(shared_stores.keys) == head_revision(Store.KEYS)
    assert _diff(shared_stores.keys, Store.KEYS) == []


def test_migrating_twice_is_harmless(fresh_stores: Stores) -> None:
    from tessera.storage import migrate

    migrate(fresh_stores.data, Store.DATA)
    migrate(fresh_stores.keys, Store.KEYS)
    assert current_revision(fresh_stores.data) == head_revision(Store.DATA)


def test_a_new_data_folder_and_database_files_are_private_whatever_the_umask(tmp_path) -> None:
    import os
    import stat

    from tessera.storage import Database

    old = os.umask(0o022)
    try:
        db = Database(f"sqlite:///{tmp_path}/new/data.db")
        with db.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        db.dispose()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    for name in ("data.db", "data.db-wal"):
        path = tmp_path / "new" / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def test_the_audit_search_columns_are_filled_for_entries_written_before_them(
    store_factory,
) -> None:
    """0014 copies the search facts of the entries already written, and leaves the log as
    append-only as it found it."""
    import json

    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from tessera.storage import migrate, utcnow

    stores = store_factory.make(migrated=False)
    migrate(stores.data, Store.DATA, "0013")
    facts = {"caller": "key_1", "caller_kind": "agent", "action": "read_masked", "outcome": "allow"}
    with stores.data.begin() as conn:
        for seq, kind in enumerate(("access", "consent")):
            conn.execute(
                text(
                    "INSERT INTO audit_entries (tenant_id, seq, kind, subject_id, recorded_at, "
                    "body, leaf_hash, chain_hash) VALUES ('old', :seq, :kind, '', :at, :body, "
                    "'l', 'c')"
                ),
                {"seq": seq, "kind": kind, "at": utcnow(), "body": json.dumps(facts)},
            )
    migrate(stores.data, Store.DATA)
    with stores.data.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT kind, caller, caller_kind, action, outcome FROM audit_entries ORDER BY seq"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("access", "key_1", "agent", "read_masked", "allow"),
        ("consent", None, None, None, None),
    ]
    with pytest.raises(DBAPIError), stores.data.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET caller = 'x'"))
