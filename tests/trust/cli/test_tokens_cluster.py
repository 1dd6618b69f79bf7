"""`tessera tokens import --cluster`: a file's batches tokenized by Dask workers (a
LocalCluster of two processes, each with the deployment's own settings) give the output one
process gives, line for line and in order; an address that would send values in clear over a
network is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tessera.trust import Services, Settings
from tests.cli import cli_env, run
from tests.conftest import PASSPHRASE, StoreFactory
from tests.trust.cli.test_cli import one_line_error

pytestmark = pytest.mark.slow


@pytest.fixture
def env(store_factory: StoreFactory, tmp_path: Path) -> dict[str, str]:
    stores = store_factory.make(migrated=False)
    env = cli_env(stores.env, tmp_path, tmp_path / "keyring.json", PASSPHRASE)
    run(["keys", "init"], env)
    run(["tenants", "create", "acme"], env)
    return env


def test_batches_tokenized_on_a_local_cluster_come_back_in_order(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "crm.jsonl"
    records = [
        {"value": f"+3361234{i:04d}", "category": "phone", "subject": f"c{i}", "ref": i}
        for i in range(300)
    ]
    records[7] = {"value": 42, "ref": 7}  # refused, in its place
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    output = tmp_path / "tokens.jsonl"
    args = ["tokens", "import", str(source), "--tenant", "acme", "--output", str(output)]
    done = run([*args, "--batch-size", "20", "--cluster", "local", "--workers", "2"], env)
    assert "299 values tokenized, 1 refused" in done.stdout, done.stdout
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [line["ref"] for line in lines] == list(range(300))
    assert lines[7]["error"] == "invalid-value"
    assert not (tmp_path / "tokens.jsonl.checkpoint").exists()
    # The workers wrote to this deployment's vault: each token opens to its value here.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    services = Services.from_settings(Settings())
    try:
        opened = services.vault.detokenize_batch("acme", [lines[0]["token"], lines[299]["token"]])
        assert [o.value for o in opened] == ["+33612340000", "+33612340299"]
    finally:
        services.close()


def test_a_cluster_address_in_clear_over_a_network_is_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"value": "x"}\n')
    args = ["tokens", "import", str(source), "--tenant", "acme", "--output", str(tmp_path / "o")]
    done = run([*args, "--cluster", "tcp://192.0.2.7:8786"], env, check=False)
    one_line_error(done, "over tls://")
    assert not (tmp_path / "o").exists()
