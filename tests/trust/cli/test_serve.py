"""`tessera serve` as an operator starts it: `--dev` on a machine with nothing configured."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.cli import serving

pytestmark = pytest.mark.slow


def test_a_dev_server_starts_with_nothing_exported_and_keeps_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env["HOME"] = str(tmp_path)  # no ~/.local/share/tessera of a previous run either
    env["COLUMNS"] = "80"
    # Settings that would point it at real stores: a dev server never reads them.
    env["TESSERA_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    env["TESSERA_REGIONS"] = (
        '{"eu": {"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/eu"}}'
    )
    # Its output is not kept with the run's logs: a dev server prints its key by design (once,
    # to the person who started it), which the end-of-run sweep would rightly report.
    with serving(env, "--dev", keep=False) as (base, proc):
        out = proc.output_so_far()  # the banner is printed before the server answers
        key = re.search(r"^  (tsk_\S+)$", out, re.M).group(1)
        purposes = httpx.get(f"{base}/v1/purposes", headers={"Authorization": f"Bearer {key}"})
        assert purposes.status_code == 200, out
        assert len(purposes.json()["data"]) == 9
        assert httpx.get(f"{base}/docs").status_code == 200
        console = httpx.get(f"{base}/console/demo-bank/sign-in")
        assert console.status_code == 200
        workdir = Path(re.search(r"Data in (\S+) and", out).group(1))
        assert (workdir / "tessera.db").exists()
    out = proc.communicate(timeout=30)[0]
    assert "NOTHING IS KEPT" in out and "otpauth://totp/" in out
    assert "development server stopped" in out
    assert not workdir.exists()
    assert not (tmp_path / ".local").exists()


def test_the_server_loads_the_redaction_model_before_it_takes_a_request(tmp_path: Path) -> None:
    from tests.cli import cli_env, run
    from tests.conftest import PASSPHRASE

    env = cli_env({}, tmp_path / "data", tmp_path / "keyring.json", PASSPHRASE)
    env["TESSERA_WARM_REDACTION"] = "true"
    run(["keys", "init"], env)
    with serving(env, timeout=120) as (base, proc):
        assert httpx.get(f"{base}/readyz").status_code == 200
        out = proc.output_so_far()
    loaded = out.index("redaction model fr_core_news_sm loaded")
    assert loaded < out.index("Application startup complete"), out
