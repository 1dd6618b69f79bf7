from __future__ import annotations

import enum
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ._database import Database

__all__ = ["Store", "current_revision", "head_revision", "migrate", "run_migrations"]

_HERE = Path(__file__).parent / "migrations"


class Store(enum.StrEnum):
    """The two stores Tessera keeps apart: data, and the keys that open it."""

    DATA = "data"
    KEYS = "keys"


def _config(db: Database, store: Store) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / store.value))
    cfg.attributes["database"] = db
    return cfg


def run_migrations() -> None:
    """Body of each store's `env.py`: migrate the connection `migrate` handed in."""
    database: Database = context.config.attributes["database"]
    with database.engine.begin() as connection:
        context.configure(
            connection=connection,
            render_as_batch=database.is_sqlite,
            transaction_per_migration=True,
        )
        context.run_migrations()


def migrate(db: Database, store: Store, revision: str = "head") -> None:
    """Bring `db` to `revision` (Alembic), creating its schema first if needed."""
    db.create_schema()
    command.upgrade(_config(db, store), revision)


def head_revision(store: Store) -> str | None:
    return ScriptDirectory(str(_HERE / store.value)).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
