"""Alembic environment: the `Database` to migrate is handed in by `tessera.storage.migrate`."""

from tessera.storage._migrations import run_migrations

run_migrations()
