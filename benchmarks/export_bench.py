"""The access log's NDJSON export over 1,000,000 entries: the server's peak memory while it
streams the whole log, against the same server's memory before the export (the baseline, in
the same run), and the rate it streams at. Optionally (`--compare-json`) the one-body JSON
export of the same log, for what streaming saves.

Target: exporting the log raises the server's peak RSS by at most 100 MiB, whatever its size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2 as httpx
from _report import judge
from console_bench import TENANT, fill
from gateway_bench import PASSPHRASE, free_port, serve
from pydantic import SecretStr

from tessera.trust import Scope, Services, Settings

HIGH = {"Tessera-Assurance": "high"}


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def _sampled_peak(pid: int, stop: threading.Event, peak: list[int]) -> None:
    while not stop.wait(0.05):
        peak[0] = max(peak[0], _rss_kib(pid, "VmRSS"))


def _export(url: str, headers: dict[str, str], pid: int) -> tuple[int, float, int, int]:
    """(lines or bytes, seconds, RSS before KiB, peak RSS during KiB)."""
    before = _rss_kib(pid, "VmRSS")
    peak, stop = [before], threading.Event()
    sampler = threading.Thread(target=_sampled_peak, args=(pid, stop, peak), daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    count = 0
    with httpx.stream("GET", url, headers=headers, timeout=3600) as answer:
        answer.raise_for_status()
        for line in answer.iter_lines():
            count += 1 if line else 0
    seconds = time.perf_counter() - t0
    stop.set()
    sampler.join()
    return count, seconds, before, peak[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--compare-json", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tessera-export-bench-"))
    env = {
        **os.environ,
        "TESSERA_DATA_DIR": str(workdir),
        "TESSERA_KEYRING_PASSPHRASE": PASSPHRASE,
        "TESSERA_WARM_REDACTION": "false",
        "TESSERA_CHECKPOINT_INTERVAL_SECONDS": "0",
        "TESSERA_LOG_LEVEL": "warning",
    }
    services = Services.from_settings(
        Settings(data_dir=workdir, keyring_passphrase=SecretStr(PASSPHRASE))
    )
    try:
        print(f"writing {args.entries:,} audit entries", file=sys.stderr)
        fill(services, args.entries)
        services.identity.create_tenant(TENANT)
        secret = services.identity.issue_key(
            TENANT, scopes=[Scope.AUDIT, Scope.AUTH_ASSERT], kind="dpo"
        ).secret
    finally:
        services.close()
    port = free_port()
    tessera = shutil.which("tessera", path=str(Path(sys.executable).parent))
    server = serve([tessera, "serve", "--port", str(port)], env, port)
    headers = {"Authorization": f"Bearer {secret}", **HIGH}
    base = f"http://127.0.0.1:{port}"
    try:
        httpx.get(f"{base}/readyz").raise_for_status()
        lines, seconds, before, peak = _export(
            f"{base}/v1/audit/entries/export", headers, server.pid
        )
        compared = None
        if args.compare_json:
            compared = _export(f"{base}/v1/audit/export", headers, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)
    grown = (peak - before) / 1024
    print(
        f"NDJSON export of {lines - 2:,} entries in {seconds:.1f} s ({(lines - 2) / seconds:,.0f} "
        f"entries/s); server RSS before {before / 1024:,.0f} MiB (baseline), peak during "
        f"{peak / 1024:,.0f} MiB (+{grown:,.0f} MiB)"
    )
    if compared is not None:
        _, json_s, json_before, json_peak = compared
        print(
            f"one-body JSON export of the same log: {json_s:.1f} s, peak RSS "
            f"{json_peak / 1024:,.0f} MiB (+{(json_peak - json_before) / 1024:,.0f} MiB)"
        )
    return judge(
        [("export raises the server's peak RSS by ≤ 100 MiB (MiB)", grown, grown <= 100)],
        strict=args.check,
    )


if __name__ == "__main__":
    raise SystemExit(main())
