"""Migrations and models agree, on the database under test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import tessera.trust  # noqa: F401 - registers every table
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
