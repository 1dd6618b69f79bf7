"""Alembic environment: the `Database` to migrate is handed in by `tessera.storage.migrate`."""

from __future__ import annotations

from alembic import context

database = context.config.attributes["database"]

with database.engine.begin() as connection:
    context.configure(
        connection=connection,
        render_as_batch=database.is_sqlite,
        transaction_per_migration=True,
    )
    context.run_migrations()
