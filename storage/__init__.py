"""Storage: database engines and schema migrations for both SQLite and PostgreSQL.

Tessera keeps two stores apart on purpose: the *data* store (tokens,
ciphertexts, tenants, ledgers) and the *key* store (wrapped data keys). A
backup of the data store therefore never carries the keys that open it, which
is what makes crypto-shredding hold for backups too.
"""

from __future__ import annotations

from ._database import Database, StorageError, as_utc, utcnow
from ._group_commit import GroupCommit, write_by_tenant
from ._hot import HotStatement
from ._migrations import Store, current_revision, head_revision, migrate
from ._tables import table_of

__all__ = [
    "Database",
    "GroupCommit",
    "HotStatement",
    "StorageError",
    "Store",
    "as_utc",
    "current_revision",
    "head_revision",
    "migrate",
    "table_of",
    "utcnow",
    "write_by_tenant",
]
