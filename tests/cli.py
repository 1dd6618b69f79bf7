"""Run the installed `tessera` command as an operator would, in its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
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


def kill_when(
    args: list[str], env: dict[str, str], prefix: str, done_enough: Callable[[int], bool]
) -> None:
    """Start `tessera ARGS`, read its progress lines (`<prefix> done/total`), and `kill -9` it
    as soon as `done_enough(done)`: a crash at a point the test chooses, not a clean stop."""
    proc = subprocess.Popen(
        [TESSERA, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        if line.startswith(prefix + " "):
            done = int(line.split()[1].split("/")[0])
            seen.append(done)
            if done_enough(done):
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"finished before the kill: {seen}"
