from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from tessera import TesseraError

__all__ = ["Database", "StorageError", "as_utc", "utcnow"]

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StorageError(TesseraError):
    """The database is unreachable or not in the expected state."""


def utcnow() -> dt.datetime:
    """Aware UTC: the only kind of time Tessera stores (SQLite keeps it as UTC text)."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A time read back from the store, aware: SQLite returns it naive, and it is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


_SQLITE_POOL = 40


def _private_file(path: Any) -> None:
    """The folder 0700 and the database file 0600, whatever the umask: the data store holds
    ciphertexts and digests, the key store wrapped keys; nobody else on the machine reads them.
    SQLite gives its -wal and -shm files the database file's mode."""
    import os

    if not path.parent.exists():  # a folder we make is ours; one that exists is left as it is
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    path.chmod(0o600)


class Database:
    """One database (or one PostgreSQL schema) with the settings Tessera relies on.

    SQLite gets WAL (readers do not block the writer), a busy timeout and, for
    the key store, `secure_delete` so that a destroyed key is overwritten on
    disk rather than left in a free page.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        secure_delete: bool = False,
        echo: bool = False,
        lock_timeout: float = 5.0,
        connect_timeout: float = 5.0,
    ) -> None:
        """`lock_timeout`: how long a statement waits for a lock another writer holds (SQLite's
        write lock, a PostgreSQL row lock) before it fails; the service then answers 503, and
        a request never hangs for as long as the other writer keeps the lock.
        `connect_timeout` (PostgreSQL): how long opening a connection, or data the server
        never acknowledges, may take: a database down or partitioned away fails a request
        within it rather than after the system's TCP timeouts (minutes)."""
        self.url = make_url(url)
        self.schema = schema
        connect_args: dict[str, Any] = {}
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            connect_args["check_same_thread"] = False
            connect_args["timeout"] = lock_timeout
            if self.url.database and self.url.database != ":memory:":
                from pathlib import Path

                _private_file(Path(self.url.database))
                # As many kept connections as the server runs requests at once (anyio's 40
                # worker threads): beyond the pool, each request would open a connection, set
                # its pragmas, and close it again (a third of a loaded server's time).
                kwargs.update(pool_size=_SQLITE_POOL, max_overflow=_SQLITE_POOL)
        elif self.is_postgresql:
            # No pre-ping: it costs a round trip per checkout on the hot path. Connections are
            # recycled hourly instead, and a dead one fails one request, not the next.
            kwargs.update(pool_size=10, max_overflow=20, pool_recycle=3600)
            if schema:
                if not _SCHEMA_NAME.match(schema):
                    raise StorageError(f"invalid schema name {schema!r}")
                connect_args["options"] = f"-csearch_path={schema}"
            lock_ms = max(1, int(lock_timeout * 1000))
            connect_args["connect_timeout"] = max(1, math.ceil(connect_timeout))
            connect_args["tcp_user_timeout"] = max(1, int(connect_timeout * 1000))
            connect_args["options"] = (
                f"{connect_args.get('options', '')} -clock_timeout={lock_ms}".strip()
            )
        # Statement parameters are personal values: never in an error's text or a log line.
        self.engine: Engine = create_engine(
            self.url, connect_args=connect_args, echo=echo, hide_parameters=True, **kwargs
        )
        if self.is_sqlite:
            self._install_sqlite_pragmas(
                secure_delete=secure_delete, busy_ms=max(1, int(lock_timeout * 1000))
            )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    def _install_sqlite_pragmas(self, *, secure_delete: bool, busy_ms: int) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            if secure_delete:
                cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

    def create_schema(self) -> None:
        """Create the PostgreSQL schema this database lives in, if any."""
        if self.is_postgresql and self.schema:
            with self.engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))

    def drop_schema(self) -> None:
        if self.is_postgresql and self.schema:
            with self.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A Core connection in a transaction, for the hot paths."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in autocommit, for single-statement reads: no BEGIN/COMMIT round trips.
        SQLite's driver begins a transaction only before a write, so its connections are read
        as they are (switching the isolation level there and back costs more than the read)."""
        if self.is_sqlite:
            with self.engine.connect() as conn:
                yield conn
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def upsert(self, table: Any, *, key: list[str], update: list[str], where: Any = None) -> Any:
        """`INSERT … ON CONFLICT (key) DO UPDATE SET update [WHERE where]` for this dialect.

        `where` receives the `excluded` pseudo-row and returns the condition for replacing.
        """
        from sqlalchemy.dialects import postgresql, sqlite

        stmt = (postgresql.insert if self.is_postgresql else sqlite.insert)(table)
        return stmt.on_conflict_do_update(
            index_elements=key,
            set_={c: stmt.excluded[c] for c in update},
            where=where(stmt.excluded) if where is not None else None,
        )

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not ready"
            raise StorageError(f"database {self.describe()} is unreachable") from exc

    def describe(self) -> str:
        """The URL without its password, safe for logs and errors."""
        shown = self.url.render_as_string(hide_password=True)
        return f"{shown} (schema {self.schema})" if self.schema else shown

    def dispose(self) -> None:
        self.engine.dispose()
