"""What operations' view costs: the gateway's `POST /v1/access` over HTTP with metrics, tracing
(spans recorded, then dropped by a no-op exporter) and JSON logs on, against the same server
with them off, side by side in one run and loaded in turn by wrk from a second process.

Target: the server with them on keeps ≥ 90% of the requests/s of the server with them off.
As shipped, tracing takes a tenth of the requests and at most ten a second: a saturated
server's cost is bounded by the cap; the share without it is printed beside.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _report import judge
from gateway_bench import free_port, serve, setup, wrk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--seconds", type=int, default=3, help="wrk duration per round")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: scripts/install installs it", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="tessera-telemetry-bench-"))
    services, env, tokens, secret = setup(workdir)
    services.close()
    tessera = shutil.which("tessera", path=str(Path(sys.executable).parent))
    bodies = [
        {"action": "read_masked", "purpose": "customer_service", "channel": "chat", "tokens": [t]}
        for t in tokens
    ]
    key = {"Authorization": f"Bearer {secret}"}
    common = {**env, "TESSERA_LOG_LEVEL": "info", "TESSERA_WARM_REDACTION": "false"}
    on = {**common, "TESSERA_OTLP_ENDPOINT": "discard", "TESSERA_LOG_FORMAT": "json"}
    variants = {
        "off": {**common, "TESSERA_METRICS": "false", "TESSERA_LOG_FORMAT": "text"},
        # As a server starts with nothing configured: metrics and JSON logs, no tracing.
        "untraced": {**common, "TESSERA_LOG_FORMAT": "json"},
        # As shipped: a tenth of the requests traced (TESSERA_TRACE_SAMPLE_RATIO), at most ten
        # a second (TESSERA_TRACES_PER_SECOND)...
        "on": on,
        # ...a tenth without the cap, what a share alone costs a saturated server...
        "uncapped": {**on, "TESSERA_TRACES_PER_SECOND": "0"},
        # ...and every request traced, for what a span costs.
        "every": {**on, "TESSERA_TRACE_SAMPLE_RATIO": "1", "TESSERA_TRACES_PER_SECOND": "0"},
    }
    ports = {name: free_port() for name in variants}
    servers = [
        serve([tessera, "serve", "--port", str(ports[n])], e, ports[n]) for n, e in variants.items()
    ]
    rps: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for name in variants:  # warmed first: caches fill, imports are out of the figures
            wrk(f"http://127.0.0.1:{ports[name]}/v1/access", bodies, key, 2)
        for round_ in range(args.rounds):
            # Each round in the other order: a slow spell, or the log growing, hits both.
            for name in list(variants)[:: 1 if round_ % 2 == 0 else -1]:
                rps[name].append(
                    wrk(f"http://127.0.0.1:{ports[name]}/v1/access", bodies, key, args.seconds)
                )
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    shares = [on / off for on, off in zip(rps["on"], rps["off"], strict=True)]
    share = statistics.median(shares)
    every = statistics.median(e / o for e, o in zip(rps["every"], rps["off"], strict=True))
    uncapped = statistics.median(u / o for u, o in zip(rps["uncapped"], rps["off"], strict=True))
    untraced = statistics.median(u / o for u, o in zip(rps["untraced"], rps["off"], strict=True))
    print(
        f"POST /v1/access, 1 worker, wrk -c16: telemetry off {statistics.median(rps['off']):,.0f} "
        f"req/s; on (metrics, 10% of requests traced, at most 10/s, to a no-op exporter, JSON "
        f"logs) {statistics.median(rps['on']):,.0f} req/s, share by round "
        + ", ".join(f"{s:.2f}" for s in shares)
        + f"; 10% traced without the cap {statistics.median(rps['uncapped']):,.0f} req/s "
        f"({uncapped:.2f}); every request traced {statistics.median(rps['every']):,.0f} req/s "
        f"({every:.2f}); "
        f"metrics and JSON logs without tracing {statistics.median(rps['untraced']):,.0f} req/s "
        f"({untraced:.2f})"
    )
    return judge(
        [
            ("telemetry on keeps ≥ 90% of the requests/s with it off", share, share >= 0.9),
            ("metrics and JSON logs keep ≥ 90% (tracing off)", untraced, untraced >= 0.9),
        ],
        strict=args.check,
    )


if __name__ == "__main__":
    raise SystemExit(main())
