from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tessera.vault import (
    KeyProvider,
    KeyProviderError,
    LocalKeyring,
    MissingKeyVersion,
    WrappedKey,
    WrongPassphrase,
)
from tests.conftest import PASSPHRASE, TEST_SCRYPT_COST, make_keyring


def test_keyring_satisfies_the_key_provider_interface(keyring: LocalKeyring) -> None:
    assert isinstance(keyring, KeyProvider)


def test_keyring_file_is_private_to_its_owner(keyring: LocalKeyring) -> None:
    assert stat.S_IMODE(keyring.path.stat().st_mode) == 0o600


def test_keyring_file_holds_no_key_in_clear(keyring: LocalKeyring) -> None:
    raw = keyring.path.read_bytes()
    doc = json.loads(raw)
    assert doc["format"] == "tessera-keyring/1"
    assert set(doc["keys"][0]) == {"version", "nonce", "sealed"}
    assert PASSPHRASE.encode() not in raw


def test_wrap_and_unwrap_round_trip_with_associated_data(keyring: LocalKeyring) -> None:
    wrapped = keyring.wrap(b"k" * 32, aad=b"owner-1")
    assert keyring.unwrap(wrapped, aad=b"owner-1") == b"k" * 32
    with pytest.raises(KeyProviderError):
        keyring.unwrap(wrapped, aad=b"owner-2")


def test_wrong_passphrase_is_a_clear_error_and_changes_nothing(keyring: LocalKeyring) -> None:
    before = keyring.path.read_bytes()
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        LocalKeyring(keyring.path, "not the passphrase")
    assert keyring.path.read_bytes() == before


def test_missing_keyring_is_not_created_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(KeyProviderError, match="tessera keys init"):
        LocalKeyring(tmp_path / "none.json", PASSPHRASE)
    assert not (tmp_path / "none.json").exists()


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyProviderError, match="empty"):
        LocalKeyring(tmp_path / "k.json", "", create=True)


def test_corrupt_keyring_is_reported_not_crashed_on(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text("{not json")
    with pytest.raises(KeyProviderError, match="cannot read"):
        LocalKeyring(path, PASSPHRASE)
    path.write_text('{"format": "something-else"}')
    with pytest.raises(KeyProviderError, match="not a Tessera keyring"):
        LocalKeyring(path, PASSPHRASE)


def test_rotation_adds_a_version_and_old_wraps_stay_readable(keyring: LocalKeyring) -> None:
    old = keyring.wrap(b"a" * 32, aad=b"x")
    assert keyring.rotate() == 2
    assert keyring.current_version() == 2
    assert keyring.versions() == [1, 2]
    assert keyring.wrap(b"b" * 32, aad=b"x").kek_version == 2
    assert keyring.unwrap(old, aad=b"x") == b"a" * 32


def test_a_rotation_by_another_process_is_picked_up(keyring: LocalKeyring) -> None:
    other = LocalKeyring(keyring.path, PASSPHRASE)
    other.rotate()
    assert keyring.current_version() == 2
    assert keyring.unwrap(other.wrap(b"c" * 32, aad=b"y"), aad=b"y") == b"c" * 32


def test_unknown_key_version_is_named(keyring: LocalKeyring) -> None:
    with pytest.raises(MissingKeyVersion, match="version 7"):
        keyring.unwrap(WrappedKey(7, b"\0" * 60), aad=b"")


def test_errors_never_contain_the_passphrase(tmp_path: Path) -> None:
    keyring = make_keyring(tmp_path / "k.json")
    try:
        LocalKeyring(keyring.path, PASSPHRASE + "!")
    except WrongPassphrase as exc:
        assert PASSPHRASE not in str(exc)
    assert TEST_SCRYPT_COST < LocalKeyring.DEFAULT_COST
