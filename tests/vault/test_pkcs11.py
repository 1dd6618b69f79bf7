"""The PKCS#11 provider against a real SoftHSM2 token, initialised for each test."""

from __future__ import annotations

from collections.abc import Iterator

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
from tests.conftest import HSM_MODULE as MODULE
from tests.conftest import HSM_PIN as PIN


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
