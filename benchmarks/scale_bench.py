"""The worker curve: `POST /v1/access` on PostgreSQL with 1, 2 and 4 server workers.

For each worker count, `tessera serve --workers N` and a bare FastAPI endpoint under
`uvicorn --workers N` (the framework's own ceiling on this machine) run side by side on the same
PostgreSQL stores, and wrk loads each from a second process on 127.0.0.1 (one thread, 32
connections). Prints requests/s and p99 for both, the gateway's share of the bare endpoint, and
the machine's core count beside them: past the cores, more workers only share them.

    .venv/bin/python benchmarks/scale_bench.py [--seconds 5] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gateway_bench import PG_URL, ROOT, free_port, serve, setup, wrk_output


def _wrk(
    url: str, bodies: list[dict], headers: dict[str, str], seconds: int
) -> tuple[float, float]:
    """Requests/s and p99 (ms), 32 connections."""
    out = wrk_output(url, bodies, headers, seconds, "-c32", "--latency")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: scripts/install installs it", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="tessera-scale-"))
    services, env, tokens, secret = setup(workdir, PG_URL)
    services.close()
    bodies = [
        {"action": "read_masked", "purpose": "customer_service", "channel": "chat", "tokens": [t]}
        for t in tokens
    ]
    key = {"Authorization": f"Bearer {secret}"}
    tessera = shutil.which("tessera", path=str(Path(sys.executable).parent))
    rows = []
    for workers in args.workers:
        bare_port, gw_port = free_port(), free_port()
        servers = [
            serve(
                [sys.executable, "-m", "uvicorn", "_bare_app:app", "--port", str(bare_port),
                 "--workers", str(workers), "--log-level", "warning"],
                {**env, "PYTHONPATH": str(ROOT / "benchmarks")},
                bare_port,
            )
        ]  # fmt: skip
        try:
            servers.append(
                serve(
                    [tessera, "serve", "--port", str(gw_port), "--workers", str(workers)],
                    {**env, "TESSERA_WARM_REDACTION": "false"},
                    gw_port,
                )
            )
            bare_url = f"http://127.0.0.1:{bare_port}/v1/access"
            gw_url = f"http://127.0.0.1:{gw_port}/v1/access"
            _wrk(bare_url, bodies, {}, 2)  # warm: every worker's first requests
            _wrk(gw_url, bodies, key, 2)
            bare = _wrk(bare_url, bodies, {}, args.seconds)
            gateway = _wrk(gw_url, bodies, key, args.seconds)
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=60)
        rows.append((workers, bare, gateway))
    print(f"PostgreSQL, {os.cpu_count()} cores, wrk -t1 -c32 from a second process")
    head = f"{'workers':>8}{'bare req/s':>12}{'p99 ms':>8}"
    print(head + f"{'gateway req/s':>15}{'p99 ms':>8}{'share':>8}")
    for workers, (b_rps, b_p99), (g_rps, g_p99) in rows:
        bare = f"{workers:>8}{b_rps:>12.0f}{b_p99:>8.1f}"
        print(bare + f"{g_rps:>15.0f}{g_p99:>8.1f}{g_rps / b_rps:>8.2f}")
    first = rows[0][2][0]
    for workers, _, (g_rps, _) in rows[1:]:
        print(f"gateway with {workers} workers / 1 worker: {g_rps / first:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
