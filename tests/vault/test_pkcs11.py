"""The PKCS#11 provider against a real SoftHSM2 token, initialised for each test."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tessera.vault import (
    KeyProvider,
    KeyProviderError,
    MissingKeyVersion,
    Pkcs11KeyProvider,
    Vault,
    WrappedKey,
    WrongPassphrase,
)

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "246810"


@pytest.fixture(scope="session")
def softhsm_conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SoftHSM2 reads its configuration once per process: one token directory per run."""
    if not (shutil.which("softhsm2-util") and Path(MODULE).exists()):
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
            PIN,
        ],
        check=True,
        capture_output=True,
    )
    pkcs11.lib(MODULE).reinitialize()  # see the token created by another process
    yield label


@pytest.fixture
def hsm(softhsm: str) -> Iterator[Pkcs11KeyProvider]:
    provider = Pkcs11KeyProvider(module=MODULE, token_label=softhsm, pin=PIN)
    yield provider
    provider.close()


def test_pkcs11_provider_satisfies_the_key_provider_interface(hsm: Pkcs11KeyProvider) -> None:
    assert isinstance(hsm, KeyProvider)


def test_first_use_creates_version_one(hsm: Pkcs11KeyProvider) -> None:
    assert hsm.versions() == [1]


def test_wrap_is_bound_to_its_associated_data(hsm: Pkcs11KeyProvider) -> None:
    wrapped = hsm.wrap(b"d" * 32, aad=b"owner")
    assert wrapped.kek_version == 1
    assert b"d" * 32 not in wrapped.blob
    assert hsm.unwrap(wrapped, aad=b"owner") == b"d" * 32
    with pytest.raises(KeyProviderError):
        hsm.unwrap(wrapped, aad=b"another owner")


def test_rotation_keeps_old_versions_usable(hsm: Pkcs11KeyProvider) -> None:
    old = hsm.wrap(b"e" * 32, aad=b"a")
    assert hsm.rotate() == 2
    assert hsm.current_version() == 2
    assert hsm.unwrap(old, aad=b"a") == b"e" * 32


def test_keys_persist_in_the_token_across_sessions(softhsm: str) -> None:
    first = Pkcs11KeyProvider(module=MODULE, token_label=softhsm, pin=PIN)
    wrapped = first.wrap(b"f" * 32, aad=b"z")
    first.rotate()
    first.close()
    second = Pkcs11KeyProvider(module=MODULE, token_label=softhsm, pin=PIN)
    assert second.versions() == [1, 2]
    assert second.unwrap(wrapped, aad=b"z") == b"f" * 32
    second.close()


def test_wrong_pin_is_a_clear_error(softhsm: str) -> None:
    with pytest.raises(WrongPassphrase, match="wrong PIN"):
        Pkcs11KeyProvider(module=MODULE, token_label=softhsm, pin="000000")


def test_unknown_token_is_a_clear_error(softhsm: str) -> None:
    with pytest.raises(KeyProviderError, match="cannot open"):
        Pkcs11KeyProvider(module=MODULE, token_label="no-such-token", pin=PIN)


def test_missing_version_is_named(hsm: Pkcs11KeyProvider) -> None:
    with pytest.raises(MissingKeyVersion):
        hsm.unwrap(WrappedKey(9, b"\0" * 60), aad=b"")


def test_the_vault_runs_on_the_hsm(hsm: Pkcs11KeyProvider, fresh_stores, tenant: str) -> None:
    vault = Vault(data=fresh_stores.data, keys=fresh_stores.keys, key_provider=hsm)
    record = vault.tokenize(tenant, "4242 4242 4242 4242", category="card_pan", subject="c1")
    vault.clear_cache()
    assert vault.detokenize(tenant, record.token).value == "4242424242424242"
