"""Run the installed `tessera` command as an operator would, in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESSERA = str(Path(sys.executable).parent / "tessera")


def cli_env(
    stores_env: dict[str, str], data_dir: Path, keyring: Path, passphrase: str | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(stores_env)
    env["TESSERA_DATA_DIR"] = str(data_dir)
    env["TESSERA_KEYRING_PATH"] = str(keyring)
    if passphrase is not None:
        env["TESSERA_KEYRING_PASSPHRASE"] = passphrase
    env["COLUMNS"] = "200"
    return env


def run(
    args: list[str], env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [TESSERA, *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"tessera {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done
