"""What operations' view costs: the gateway's `POST /v1/access` over HTTP with metrics, tracing
(spans recorded, then dropped by a no-op exporter) and JSON logs on, against the same server
with them off, measured in one run.

Target: the server with them on keeps ≥ 90% of the requests/s of the server with them off.
As shipped, tracing takes a tenth of the requests and at most ten a second: a saturated
server's cost is bounded by the cap; the share without it is printed beside.

How it is measured, and why: on this kind of machine one server's requests/s wanders by a
tenth from one few-second spell to the next (neighbours, checkpoints, the log growing), and
two servers started alike differ by a few percent. So every server has its own copy of the
same stores, two servers of each kind are started, and all are loaded at once, each by its
own wrk, round after round: a slow spell hits all of them alike, and the share of each round
compares servers that ran side by side. The two servers with telemetry off, compared with
each other, show the noise floor of the run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _report import judge
from gateway_bench import free_port, serve, setup, wrk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--seconds", type=int, default=3, help="wrk duration per round")
    parser.add_argument("--rounds", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: scripts/install installs it", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="tessera-telemetry-bench-"))
    services, env, tokens, secret = setup(workdir / "seed")
    services.close()
    tessera = shutil.which("tessera", path=str(Path(sys.executable).parent))
    bodies = [
        {"action": "read_masked", "purpose": "customer_service", "channel": "chat", "tokens": [t]}
        for t in tokens
    ]
    key = {"Authorization": f"Bearer {secret}"}
    common = {**env, "TESSERA_LOG_LEVEL": "info", "TESSERA_WARM_REDACTION": "false"}
    on = {**common, "TESSERA_OTLP_ENDPOINT": "discard", "TESSERA_LOG_FORMAT": "json"}
    off = {**common, "TESSERA_METRICS": "false", "TESSERA_LOG_FORMAT": "text"}
    kinds = {
        "off": off,
        # As shipped: a tenth of the requests traced (TESSERA_TRACE_SAMPLE_RATIO), at most ten
        # a second (TESSERA_TRACES_PER_SECOND).
        "on": on,
        # As a server starts with nothing configured: metrics and JSON logs, no tracing.
        "untraced": {**common, "TESSERA_LOG_FORMAT": "json"},
        # A tenth without the cap, what a share alone costs a saturated server.
        "uncapped": {**on, "TESSERA_TRACES_PER_SECOND": "0"},
        # Every request traced, for what a span costs.
        "every": {**on, "TESSERA_TRACE_SAMPLE_RATIO": "1", "TESSERA_TRACES_PER_SECOND": "0"},
    }
    try:
        # The judged comparison: two servers of each kind, side by side.
        judged = _side_by_side(
            workdir, tessera, bodies, key, kinds, ["off", "off", "on", "on"], args
        )
        # What each part costs, printed beside: one server of each, with one off.
        parts = _side_by_side(
            workdir, tessera, bodies, key, kinds, ["off", "untraced", "uncapped", "every"], args
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    offs, ons = judged[0], [a + b for a, b in zip(judged[2], judged[3], strict=True)]
    both_off = [a + b for a, b in zip(judged[0], judged[1], strict=True)]
    shares = [o / f for o, f in zip(ons, both_off, strict=True)]
    share = statistics.median(shares)
    floor = statistics.median(b / a for a, b in zip(offs, judged[1], strict=True))

    def beside(i: int) -> float:
        return statistics.median(x / o for x, o in zip(parts[i], parts[0], strict=True))

    untraced, uncapped, every = beside(1), beside(2), beside(3)
    print(
        f"POST /v1/access, 1 worker a server, four servers loaded at once by wrk -c16 each: "
        f"telemetry off {statistics.median(both_off) / 2:,.0f} req/s a server; on (metrics, 10% "
        f"of requests traced, at most 10/s, to a no-op exporter, JSON logs) "
        f"{statistics.median(ons) / 2:,.0f} req/s, share by round "
        + ", ".join(f"{s:.2f}" for s in shares)
        + f"; median {share:.3f}. Noise floor: the two servers with telemetry off differ by "
        f"{abs(1 - floor):.1%} (median ratio {floor:.3f}). Beside one server with it off: "
        f"metrics and JSON logs without tracing {untraced:.2f}; 10% traced without the cap "
        f"{uncapped:.2f}; every request traced {every:.2f}"
    )
    return judge(
        [
            ("telemetry on keeps ≥ 90% of the requests/s with it off", share, share >= 0.9),
            ("metrics and JSON logs keep ≥ 90% (tracing off)", untraced, untraced >= 0.9),
        ],
        strict=args.check,
    )


def _side_by_side(
    workdir: Path,
    tessera: str | None,
    bodies: list[dict],
    key: dict[str, str],
    kinds: dict[str, dict[str, str]],
    chosen: list[str],
    args: argparse.Namespace,
) -> list[list[float]]:
    """Requests/s of each chosen server by round, all of them loaded at the same time; each
    server on its own copy of the seeded stores."""
    ports = [free_port() for _ in chosen]
    servers = []
    try:
        for i, (kind, port) in enumerate(zip(chosen, ports, strict=True)):
            data = workdir / f"{kind}-{i}-{len(chosen)}-{port}"
            shutil.copytree(workdir / "seed", data)
            environment = {**kinds[kind], "TESSERA_DATA_DIR": str(data)}
            servers.append(serve([tessera, "serve", "--port", str(port)], environment, port))
        urls = [f"http://127.0.0.1:{port}/v1/access" for port in ports]
        with ThreadPoolExecutor(len(urls)) as pool:
            # Warmed first: caches fill, imports are out of the figures.
            list(pool.map(lambda url: wrk(url, bodies, key, 2), urls))
            rounds = [
                list(pool.map(lambda url: wrk(url, bodies, key, args.seconds), urls))
                for _ in range(args.rounds)
            ]
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=30)
    return [[r[i] for r in rounds] for i in range(len(chosen))]


if __name__ == "__main__":
    raise SystemExit(main())
