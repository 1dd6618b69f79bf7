from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tessera.vault import LocalKeyring, TokenizeRequest, Vault, key_status, rotate_keys
from tests.cli import TESSERA, cli_env, kill_when
from tests.conftest import PASSPHRASE, Stores


def _fill(stores: Stores, keyring: LocalKeyring, tenant: str, subjects: int) -> list[str]:
    vault = Vault(data=stores.data, keys=stores.keys, key_provider=keyring)
    records = vault.tokenize_batch(
        tenant, [TokenizeRequest(f"value of {i}", "generic", f"s{i}") for i in range(subjects)]
    )
    return [r.token for r in records]


def _all_readable(stores: Stores, keyring: LocalKeyring, tenant: str, tokens: list[str]) -> None:
    fresh = Vault(data=stores.data, keys=stores.keys, key_provider=keyring)  # empty key cache
    values = [d.value for d in fresh.detokenize_batch(tenant, tokens)]
    assert values == [f"value of {i}" for i in range(len(tokens))]


def test_rotation_rewraps_every_data_key(
    fresh_stores: Stores, keyring: LocalKeyring, tenant: str
) -> None:
    tokens = _fill(fresh_stores, keyring, tenant, 250)
    seen: list[tuple[int, int]] = []
    report = rotate_keys(
        fresh_stores.keys, keyring, batch_size=40, on_progress=lambda d, t: seen.append((d, t))
    )
    total = 250 + 1  # one key per subject, plus the tenant's blind-index key
    assert (report.target_version, report.resumed, report.rewrapped, report.total) == (
        2,
        False,
        total,
        total,
    )
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert key_status(fresh_stores.keys, keyring).pending_rewrap == 0
    _all_readable(fresh_stores, keyring, tenant, tokens)


def test_rotation_with_nothing_to_rewrap_still_adds_a_version(
    fresh_stores: Stores, keyring: LocalKeyring
) -> None:
    report = rotate_keys(fresh_stores.keys, keyring)
    assert (report.target_version, report.total) == (2, 0)


def test_bad_batch_size_is_refused(fresh_stores: Stores, keyring: LocalKeyring) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        rotate_keys(fresh_stores.keys, keyring, batch_size=0)
    assert keyring.versions() == [1]


@pytest.mark.slow
def test_rotation_killed_mid_way_loses_nothing_and_resumes(
    fresh_stores: Stores, keyring: LocalKeyring, tenant: str, tmp_path: Path
) -> None:
    tokens = _fill(fresh_stores, keyring, tenant, 1200)
    env = cli_env(fresh_stores.env, tmp_path, keyring.path, PASSPHRASE)
    kill_when(
        ["keys", "rotate", "--batch-size", "25", "--pause", "0.02"],
        env,
        "rewrapped",
        lambda done: done >= 200,
    )

    status = key_status(fresh_stores.keys, keyring)
    assert status.current_version == 2
    assert 0 < status.pending_rewrap < status.data_keys  # really stopped half-way
    _all_readable(fresh_stores, keyring, tenant, tokens)

    again = subprocess.run(
        [TESSERA, "keys", "rotate"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert "resumed and finished" in again.stdout
    status = key_status(fresh_stores.keys, keyring)
    assert (status.versions, status.pending_rewrap) == ([1, 2], 0)  # resumed, no third version
    _all_readable(fresh_stores, keyring, tenant, tokens)
