"""What operations' view costs: the gateway's `POST /v1/access` over HTTP with metrics, tracing
(spans recorded, then dropped by a no-op exporter) and JSON logs on, against the same server
with them off, measured in one run.

Target: the server with them on keeps ≥ 90% of the requests/s of the server with them off.
As shipped, tracing takes a tenth of the requests and at most ten a second: a saturated
server's cost is bounded by the cap; the share without it is printed beside.

How it is measured, and why: on this kind of machine one server's requests/s wanders by a
tenth from one few-second spell to the next (neighbours, checkpoints, the log growing), and
two servers started alike differ by a few percent. So every server has its own copy of the
same stores, and the server with telemetry off and the one with it on are loaded at once,
each by its own wrk, round after round: a slow spell hits both alike, and each round's share
compares two servers that ran side by side. A second pair of fresh servers follows; two
servers with telemetry off, loaded at once, show the run's noise floor. Two at a time, each
server runs near its own pace on two cores, so the traces' cap is the share of requests it
would be on a server of its own.
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
    parser.add_argument("--rounds", type=int, default=12, help="rounds for each pair")
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
        # The judged comparison: a server with telemetry off and one with it on, loaded at
        # once; then a second pair of fresh servers, as two servers started alike differ.
        pairs = [
            _side_by_side(workdir, tessera, bodies, key, kinds, ["off", "on"], args)
            for _ in range(2)
        ]
        # The noise floor: two servers with it off, loaded at once.
        same = _side_by_side(workdir, tessera, bodies, key, kinds, ["off", "off"], args, half=True)
        # What each part costs, printed beside: one server of each, with one off.
        parts = _side_by_side(
            workdir,
            tessera,
            bodies,
            key,
            kinds,
            ["off", "untraced", "uncapped", "every"],
            args,
            half=True,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    shares = [o / f for pair in pairs for f, o in zip(*pair, strict=True)]
    share = statistics.median(shares)
    by_pair = [statistics.median(o / f for f, o in zip(*pair, strict=True)) for pair in pairs]
    floor = statistics.median(b / a for a, b in zip(*same, strict=True))
    off_rps = statistics.median(x for pair in pairs for x in pair[0])
    on_rps = statistics.median(x for pair in pairs for x in pair[1])

    def beside(i: int) -> float:
        return statistics.median(x / o for x, o in zip(parts[i], parts[0], strict=True))

    untraced, uncapped, every = beside(1), beside(2), beside(3)
    print(
        f"POST /v1/access, 1 worker a server, two servers loaded at once by wrk -c16 each: "
        f"telemetry off {off_rps:,.0f} req/s; on (metrics, 10% of requests traced, at most "
        f"10/s, to a no-op exporter, JSON logs) {on_rps:,.0f} req/s; share by round "
        + ", ".join(f"{s:.2f}" for s in shares)
        + f"; median {share:.3f} (first pair {by_pair[0]:.3f}, second {by_pair[1]:.3f}). "
        f"Noise floor: two servers with telemetry off differ by {abs(1 - floor):.1%} (median "
        f"ratio {floor:.3f}). Four at once, beside one with it off: metrics and JSON logs "
        f"without tracing {untraced:.2f}; 10% traced without the cap {uncapped:.2f}; every "
        f"request traced {every:.2f}"
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
    *,
    half: bool = False,
) -> list[list[float]]:
    """Requests/s of each chosen server by round (half as many rounds with `half`), all of
    them loaded at the same time; each server on its own copy of the seeded stores."""
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
                for _ in range(args.rounds // 2 if half else args.rounds)
            ]
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=30)
    return [[r[i] for r in rounds] for i in range(len(chosen))]


if __name__ == "__main__":
    raise SystemExit(main())
