"""Schema-driven fuzzing of the whole API, as an attacker with a key holding every scope would
try it: schemathesis over the served OpenAPI, against a real `tessera serve` on 127.0.0.1.

Every operation is called with generated valid and invalid requests (examples, fuzzing, and
stateful sequences where the document links a create to its reads), and every answer is
checked: no server error, a status the operation declares, its declared content type and
schema, invalid input refused, no access without authentication. The budget is fixed and the
seed too, so that a CI run is repeatable; `scripts/fuzz` runs a longer campaign.

Left out: `positive_data_acceptance`. It expects any schema-valid request to be accepted, and
some rules cannot be said in JSON Schema (a purpose must be in the tenant's catalogue; a
step-up names a decision or a session, exactly one): those answer a 422 problem by design.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tessera.trust import Scope
from tests.cli import cli_env, run, serving
from tests.conftest import PASSPHRASE, StoreFactory

pytestmark = pytest.mark.slow

ST = str(Path(sys.executable).parent / "st")
SCOPES = [scope.value for scope in Scope]  # every scope there is
# The CI budget: examples per operation and the seed. `scripts/fuzz` raises the first.
EXAMPLES = int(os.environ.get("TESSERA_FUZZ_EXAMPLES", "12"))
SEED = int(os.environ.get("TESSERA_FUZZ_SEED", "20261202"))


def fuzz_command(base: str, secret: str, *, examples: int, seed: int) -> list[str]:
    return [
        ST,
        "run",
        f"{base}/openapi.json",
        "--header",
        f"Authorization: Bearer {secret}",
        "--header",
        "Tessera-Assurance: high",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        "examples,fuzzing,stateful",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--generation-database",
        "none",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
    ]


def test_fuzzing_the_served_api_finds_nothing(store_factory: StoreFactory, tmp_path: Path) -> None:
    stores = store_factory.make(migrated=False)
    env = cli_env(stores.env, tmp_path / "data", tmp_path / "keyring.json", PASSPHRASE)
    # The fuzzer is one caller: let it through the rate limiter, as a load test would be.
    env["TESSERA_RATE_LIMIT_PER_SECOND"] = "100000"
    env["TESSERA_RATE_LIMIT_BURST"] = "100000"
    run(["db", "upgrade"], env)
    run(["keys", "init"], env)
    from tests.consent.conftest import EXAMPLE

    run(["tenants", "create", "acme"], env)
    run(["consent", "load", str(EXAMPLE), "--tenant", "acme"], env)
    scopes = [arg for scope in SCOPES for arg in ("-s", scope)]
    secret = run(["apikeys", "create", "acme", *scopes, "--kind", "dpo"], env).stdout.strip()
    with serving(env) as (base, proc):
        done = subprocess.run(
            fuzz_command(base, secret, examples=EXAMPLES, seed=SEED),
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=900,
        )
        proc.terminate()
        served = proc.communicate(timeout=30)[0]
    report = done.stdout[-20000:]
    assert done.returncode == 0, report
    assert "Traceback" not in served, served[-5000:]
    assert secret not in served and secret not in done.stdout
