"""Shared fixtures: real databases (SQLite, or PostgreSQL when TESSERA_TEST_DATABASE_URL is set).

On PostgreSQL every store is a fresh schema named after this run, dropped at
the end, so runs never see each other's state.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import pytest
from hypothesis import settings
from sqlalchemy import Connection, text

from tessera.storage import Database, Store, migrate, utcnow
from tessera.vault import LocalKeyring, Vault

PG_URL = os.environ.get("TESSERA_TEST_DATABASE_URL")
RUN_ID = secrets.token_hex(4)
PASSPHRASE = "correct horse battery staple"
# scrypt at its cheapest that is still sane: tests create many keyrings.
TEST_SCRYPT_COST = 2**12

# Property tests draw the same examples on every run (a red CI run is reproduced by running it
# again), keep no example database in the tree, and take what time they need. For a longer,
# random campaign: HYPOTHESIS_PROFILE=explore.
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@dataclass
class Stores:
    """A data store and a key store, plus the environment a subprocess needs to reach them."""

    data: Database
    keys: Database
    env: dict[str, str] = field(default_factory=dict)

    def dispose(self) -> None:
        self.data.dispose()
        self.keys.dispose()


class StoreFactory:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: list[Stores] = []

    @property
    def backend(self) -> str:
        return "postgresql" if PG_URL else "sqlite"

    def make(self, *, migrated: bool = True) -> Stores:
        n = len(self.made)
        if PG_URL:
            data_schema, keys_schema = f"tt_{RUN_ID}_{n}_data", f"tt_{RUN_ID}_{n}_keys"
            data = Database(PG_URL, schema=data_schema)
            keys = Database(PG_URL, schema=keys_schema, secure_delete=True)
            env = {
                "TESSERA_DATABASE_URL": PG_URL,
                "TESSERA_DATABASE_SCHEMA": data_schema,
                "TESSERA_KEYSTORE_URL": PG_URL,
                "TESSERA_KEYSTORE_SCHEMA": keys_schema,
            }
        else:
            folder = self.root / f"stores{n}"
            folder.mkdir()
            data_url, keys_url = f"sqlite:///{folder}/data.db", f"sqlite:///{folder}/keys.db"
            data = Database(data_url)
            keys = Database(keys_url, secure_delete=True)
            env = {"TESSERA_DATABASE_URL": data_url, "TESSERA_KEYSTORE_URL": keys_url}
        stores = Stores(data, keys, env)
        self.made.append(stores)
        if migrated:
            migrate(data, Store.DATA)
            migrate(keys, Store.KEYS)
        else:
            data.create_schema()
            keys.create_schema()
        # No idle connection kept for the session: many tests only hand the stores' settings
        # to a CLI or a server, and PostgreSQL allows a hundred clients in all.
        data.dispose()
        keys.dispose()
        return stores

    def cleanup(self) -> None:
        for stores in self.made:
            stores.data.drop_schema()
            stores.keys.drop_schema()
            stores.dispose()


@pytest.fixture(scope="session")
def store_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreFactory]:
    factory = StoreFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.cleanup()


@pytest.fixture(scope="session")
def shared_stores(store_factory: StoreFactory) -> Stores:
    """One pair of stores for the session: tests stay apart by using their own tenant."""
    return store_factory.make()


@pytest.fixture
def fresh_stores(store_factory: StoreFactory) -> Iterator[Stores]:
    """A new, empty pair of stores, for tests that look at whole tables. Their pooled
    connections close after the test (PostgreSQL has a hundred to share)."""
    stores = store_factory.make()
    yield stores
    stores.dispose()


def make_keyring(path: Path) -> LocalKeyring:
    return LocalKeyring(path, PASSPHRASE, create=True, scrypt_cost=TEST_SCRYPT_COST)


@pytest.fixture(scope="session")
def shared_keyring(tmp_path_factory: pytest.TempPathFactory) -> LocalKeyring:
    return make_keyring(tmp_path_factory.mktemp("keyring") / "keyring.json")


@pytest.fixture
def keyring(tmp_path: Path) -> LocalKeyring:
    return make_keyring(tmp_path / "keyring.json")


@pytest.fixture
def tenant() -> str:
    return f"t-{secrets.token_hex(6)}"


@pytest.fixture
def other_tenant() -> str:
    return f"o-{secrets.token_hex(6)}"


@pytest.fixture
def vault(shared_stores: Stores, shared_keyring: LocalKeyring) -> Vault:
    return Vault(data=shared_stores.data, keys=shared_stores.keys, key_provider=shared_keyring)


@contextmanager
def bypass_append_only(stores: Stores, table: str) -> Iterator[Connection]:
    """A connection that gets past an append-only table's triggers, as an attacker with direct
    database access would: to test that tampering is detected, not prevented."""
    with stores.data.engine.connect() as conn:
        if stores.data.is_postgresql:
            conn.execute(text("SET session_replication_role = replica"))
            yield conn
            conn.execute(text("SET session_replication_role = DEFAULT"))
        else:
            conn.execute(text(f"DROP TRIGGER {table}_no_update"))
            conn.execute(text(f"DROP TRIGGER {table}_no_delete"))
            yield conn
            for verb in ("UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                        "BEGIN SELECT RAISE(ABORT, 'append-only'); END"
                    )
                )
        conn.commit()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow().replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


# ------------------------------------------------------------------- a PKCS#11 token (SoftHSM2)
HSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
HSM_PIN = "246810"


@pytest.fixture(scope="session")
def softhsm_conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SoftHSM2 reads its configuration once per process: one token directory per run."""
    if not (shutil.which("softhsm2-util") and Path(HSM_MODULE).exists()):
        if os.environ.get("CI"):
            pytest.fail("SoftHSM2 is not installed: scripts/install should have installed it")
        pytest.skip("SoftHSM2 is not installed (scripts/install installs it)")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    return conf


@pytest.fixture
def softhsm(softhsm_conf: Path) -> Iterator[str]:
    """A new, empty token for each test."""
    import pkcs11

    label = f"tessera-{secrets.token_hex(4)}"
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            "13579",
            "--pin",
            HSM_PIN,
        ],
        check=True,
        capture_output=True,
    )
    pkcs11.lib(HSM_MODULE).reinitialize()  # see the token created by another process
    yield label


SLOW_SECONDS = 1.5  # how long the simulated processor's slow card takes


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server the test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def processor_url() -> Iterator[str]:
    """The simulated processor as a separate uvicorn process on 127.0.0.1."""
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "tessera.payments.simulator"),
            *("--port", str(port), "--slow", str(SLOW_SECONDS)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/v1/charges", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the simulated processor did not start") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


# ---------------------------------------------------------------------- no personal data in logs
# Every log record of the run, at DEBUG, goes to a file; server processes write theirs beside it
# (tests/cli.py). At the end the sweep looks there, and in every file the run left beside its
# stores, for the personal values the tests use (tests/leaks.py): a hit fails the run.
# SQLAlchemy's engine loggers stay at WARNING: at INFO and DEBUG they print every statement and
# result row (Tessera never turns them on), which is the database, not a log.
_LOG_DIR_ENV = "TESSERA_TEST_LOG_DIR"


def log_dir() -> Path:
    return Path(os.environ[_LOG_DIR_ENV])


def pytest_configure(config: pytest.Config) -> None:
    import logging
    import tempfile

    if _LOG_DIR_ENV not in os.environ:
        os.environ[_LOG_DIR_ENV] = tempfile.mkdtemp(prefix="tessera-test-logs-")
    handler = logging.FileHandler(log_dir() / "in-process.log", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # The tests' own WebSocket client prints its handshake headers (a bearer key) at DEBUG;
    # the server side is kept above that by `tessera serve` itself.
    logging.getLogger("websockets").setLevel(logging.INFO)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.leaks import sweep

    basetemp = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    hits = sweep(log_dir(), basetemp)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if hits:
        if reporter is not None:
            reporter.write_sep("=", "personal values found in logs or left files", red=True)
            for hit in hits[:50]:
                reporter.write_line(hit)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None:
        reporter.write_line(f"log sweep: no personal value in {log_dir()} or {basetemp}")
