"""Risk assessment with its storage: what a channel waits for, not only the scoring function.

- in-process: `Authenticator.assess` with its reads (profile, factors, failures), its writes
  (the decision, a session when allowed) and its audit record, on SQLite and on PostgreSQL,
  beside the pure scoring function and one HMAC-SHA256 measured in the same run;
- over HTTP: `POST /v1/auth/assess` on `tessera serve` against a bare FastAPI endpoint on the
  same kind of server, loaded in turn by wrk from a second process.

Targets: assess ≤ 1 ms p50 and ≤ 3 ms p99 on SQLite, ≤ 2 ms p50 on PostgreSQL; over HTTP
≥ 0.5 of the bare endpoint's requests/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _report import judge
from gateway_bench import ROOT, bench_services, free_port, serve, wrk
from sqlalchemy import create_engine, text

from tessera.auth import Observation, Population, Profile, Signals, assess
from tessera.trust import Scope, Services

PG_URL = os.environ.get("TESSERA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSPHRASE = "auth storage bench"
TENANT = "bench"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148"


def _seen(i: int, at: dt.datetime) -> Observation:
    return Observation(
        channel="app", at=at, ip=f"86.200.{i % 200}.5", user_agent=IPHONE, device_id=f"dev-{i}"
    )


def _load_histories(services: Services, customers: int) -> None:
    """Each customer's last five strong sign-ins, as their identity provider reports them."""
    now = services.clock()
    for i in range(customers):
        for days in range(1, 6):
            services.authenticator.report_strong_authentication(
                TENANT, f"c{i}", _seen(i, now - dt.timedelta(days=days)), method="passkey"
            )


def in_process(services: Services, customers: int, calls: int) -> dict[str, float]:
    auth = services.authenticator
    for i in range(50):  # warm: caches, statements, the population
        auth.assess(TENANT, f"c{i % customers}", _seen(i % customers, services.clock()))
    timings = []
    for n in range(calls):
        i = n % customers
        started = time.perf_counter_ns()
        auth.assess(TENANT, f"c{i}", _seen(i, services.clock()))
        timings.append(time.perf_counter_ns() - started)
    timings.sort()
    return {
        "p50_ms": timings[len(timings) // 2] / 1e6,
        "p99_ms": timings[int(len(timings) * 0.99)] / 1e6,
    }


def floors(n: int = 20_000) -> dict[str, float]:
    """The pure scoring function on a learnt profile, and one HMAC, in this run."""
    profile, population = Profile(), Population()
    home = Signals(
        device="d", ua_family="Mobile Safari", os_family="iOS", network="86.200.1.0/24",
        asn="Orange", country="FR", hour=19, weekday=2, channel="app",
    )  # fmt: skip
    for i in range(60):
        profile = profile.learn(home)
        population = population.learn(Signals(device=f"d{i}", country="FR", channel="app"))
    scoring, mac = [], []
    key = b"k" * 32
    for i in range(n):
        started = time.perf_counter_ns()
        assess(home, profile, population)
        scoring.append(time.perf_counter_ns() - started)
        started = time.perf_counter_ns()
        hmac.new(key, f"device\x1finstall-{i}".encode(), hashlib.sha256).hexdigest()
        mac.append(time.perf_counter_ns() - started)
    return {
        "scoring_p50_us": statistics.median(scoring) / 1000,
        "hmac_p50_us": statistics.median(mac) / 1000,
    }


def over_http(env: dict[str, str], secret: str, customers: int, seconds: int, rounds: int) -> float:
    """Median share of the bare endpoint's requests/s that `POST /v1/auth/assess` keeps."""
    bodies = [
        {
            "subject": f"c{i}",
            "observation": {
                "channel": "app",
                "ip": f"86.200.{i % 200}.5",
                "user_agent": IPHONE,
                "device_id": f"dev-{i}",
            },
        }
        for i in range(customers)
    ]
    bare_port, port = free_port(), free_port()
    tessera = shutil.which("tessera", path=str(Path(sys.executable).parent))
    bare = [sys.executable, "-m", "uvicorn", "_bare_app:app", "--port", str(bare_port)]
    servers = [serve(bare, {**env, "PYTHONPATH": str(ROOT / "benchmarks")}, bare_port)]
    shares = []
    try:
        servers.append(
            serve(
                [tessera, "serve", "--port", str(port)],
                {**env, "TESSERA_WARM_REDACTION": "false"},
                port,
            )
        )
        bare_url = f"http://127.0.0.1:{bare_port}/v1/access"
        url = f"http://127.0.0.1:{port}/v1/auth/assess"
        key = {"Authorization": f"Bearer {secret}"}
        wrk(bare_url, bodies, {}, 2)
        wrk(url, bodies, key, 2)
        for _ in range(rounds):
            floor = wrk(bare_url, bodies, {}, seconds)
            shares.append(wrk(url, bodies, key, seconds) / floor)
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        "  over HTTP, share of the bare endpoint by round: " + ", ".join(f"{s:.2f}" for s in shares)
    )
    return statistics.median(shares)


def _postgres_up() -> bool:
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:  # any failure: the PostgreSQL figures are skipped
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    base = floors()
    print(
        f"pure scoring p50 {base['scoring_p50_us']:.1f} µs; one HMAC-SHA256 "
        f"{base['hmac_p50_us']:.2f} µs (the same run)"
    )
    checks = []
    figures = {}
    for backend in ("sqlite", "postgresql"):
        if backend == "postgresql" and not _postgres_up():
            print("PostgreSQL is not reachable: its figures are skipped")
            continue
        workdir = Path(tempfile.mkdtemp(prefix=f"tessera-auth-bench-{backend}-"))
        services, env = bench_services(
            workdir, PG_URL if backend == "postgresql" else None, PASSPHRASE
        )
        try:
            services.identity.create_tenant(TENANT)
            _load_histories(services, args.customers)
            figures[backend] = found = in_process(services, args.customers, args.calls)
            print(
                f"{backend}: assess with storage p50 {found['p50_ms']:.2f} ms, p99 "
                f"{found['p99_ms']:.2f} ms ({found['p50_ms'] * 1000 / base['scoring_p50_us']:.0f}× "
                f"the pure scoring, {found['p50_ms'] * 1000 / base['hmac_p50_us']:.0f}× one HMAC)"
            )
            if backend == "sqlite":
                secret = services.identity.issue_key(TENANT, scopes=[Scope.AUTH]).secret
                services.close()
                share = over_http(env, secret, args.customers, args.seconds, args.rounds)
                checks += [
                    ("SQLite: assess p50 ≤ 1 ms", found["p50_ms"], found["p50_ms"] <= 1.0),
                    ("SQLite: assess p99 ≤ 3 ms", found["p99_ms"], found["p99_ms"] <= 3.0),
                    ("POST /v1/auth/assess ≥ 0.5 of the bare endpoint", share, share >= 0.5),
                ]
            else:
                checks.append(
                    ("PostgreSQL: assess p50 ≤ 2 ms", found["p50_ms"], found["p50_ms"] <= 2.0)
                )
        finally:
            services.close()
            shutil.rmtree(workdir, ignore_errors=True)
    return judge(checks, strict=args.check)


if __name__ == "__main__":
    raise SystemExit(main())
