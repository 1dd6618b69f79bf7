"""Run the `tessera` command as an operator would.

`run` invokes it in this process through Typer's `CliRunner` (the same entry, errors and
output, without a second interpreter's start-up); `run_process` and `kill_when` start the
installed script, for what needs a real process: a `kill -9`, a server, a signal."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
    # Servers the tests start do not load the redaction model before they answer (each would
    # spend seconds on it); the warm start has a test of its own.
    env["TESSERA_WARM_REDACTION"] = "false"
    env["TESSERA_LOG_LEVEL"] = "debug"  # what a process logs is swept at the end of the run
    return env


@dataclass(frozen=True)
class Done:
    """What a run left: as `subprocess.CompletedProcess` has it."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run(args: list[str], env: dict[str, str], *, check: bool = True) -> Done:
    """`tessera ARGS` in this process, with exactly `env` as its `TESSERA_*` environment."""
    from typer.testing import CliRunner

    from tessera.trust.cli import app

    unset: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith("TESSERA_") and k not in env
    }
    result = CliRunner().invoke(app, args, env={**unset, **env})
    stderr = result.stderr
    if result.exc_info is not None and not isinstance(result.exc_info[1], SystemExit):
        # What the process would have printed: the tests look for it.
        stderr += "".join(traceback.format_exception(*result.exc_info))
    done = Done(args, result.exit_code, result.stdout, stderr)
    if check and done.returncode != 0:
        raise AssertionError(f"tessera {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def run_process(
    args: list[str], env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`tessera ARGS` as its own process (the installed script)."""
    done = subprocess.run(
        [TESSERA, *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    keep_log("process", done.stderr)
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
    seen, lines = [], []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith(prefix + " "):
            done = int(line.split()[1].split("/")[0])
            seen.append(done)
            if done_enough(done):
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(timeout=30)
    keep_log("killed", "".join(lines))
    assert proc.returncode == -signal.SIGKILL, f"finished before the kill: {seen}"


def keep_log(name: str, text: str) -> None:
    """Put what a process printed with the run's logs, for the sweep at the end."""
    from tests.conftest import log_dir

    path = log_dir() / f"{name}-{os.getpid()}-{time.monotonic_ns()}.log"
    path.write_text(text, encoding="utf-8")


def _keeping_output(
    proc: subprocess.Popen[str], *, keep: bool = True
) -> Callable[..., tuple[str, str]]:
    """`proc.communicate`, reading the output as it comes (a server logging at DEBUG fills a
    pipe nobody reads, and then blocks) and keeping it with the run's logs."""
    chunks: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: chunks.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()

    def communicate(
        *args: object, timeout: float | None = None, **kwargs: object
    ) -> tuple[str, str]:
        proc.wait(timeout=timeout)
        reader.join(timeout=timeout)
        output = "".join(chunks)
        if keep:
            keep_log("serve", output)
        return output, ""

    proc.output_so_far = lambda: "".join(chunks)  # type: ignore[attr-defined]
    return communicate


@contextlib.contextmanager
def serving(
    env: dict[str, str], *args: str, timeout: float = 60, keep: bool = True
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`tessera serve` as a real uvicorn process on 127.0.0.1: its base URL once `/healthz`
    answers, and the process (stopped with SIGTERM afterwards; its output is the caller's)."""
    import httpx2 as httpx

    from tests.conftest import free_port

    port = free_port()
    proc = subprocess.Popen(
        [TESSERA, "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    proc.communicate = _keeping_output(proc, keep=keep)  # type: ignore[method-assign]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError(f"server did not start: {proc.communicate()[0]}")
    try:
        yield base, proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            proc.communicate(timeout=30)
