"""The SCA decision in-process: decisions per second and p50/p99 per decision, over a mix of
requests that exercise every article (low value with running totals, TRA bands, trusted
beneficiaries, recurring series, telephone orders, refusals), against an HMAC-SHA256 of the
same request measured in the same run (these machines are noisy: the ratio is the figure).

Target: p99 ≤ 1 ms per decision.

Then a payment end to end over HTTP (`--payments N`): `tessera serve` (1 worker, SQLite) and the
simulated processor as two local processes; each payment is create + card + capture from a
client process, p50/p99 per payment. The baseline, in the same run, is the processor alone
(authorize + capture called directly): the ratio is what Tessera adds around the two calls it
makes (vaulting, SCA decision, audit, state).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from _report import judge
from gateway_bench import free_port, serve

from tessera.auth import RiskDecision
from tessera.payments import RecurringSeries, ScaHistory, ScaRequest, decide_sca


def requests(n: int, seed: int) -> list[ScaRequest]:
    rng = random.Random(seed)
    made = []
    for _ in range(n):
        cents = rng.choice([rng.randint(100, 3_000), rng.randint(3_001, 60_000)])
        made.append(
            ScaRequest(
                amount=cents,
                currency="EUR",
                payee=f"shop-{rng.randint(0, 50)}",
                amount_eur=cents,
                history=ScaHistory(rng.randint(0, 6), rng.randint(0, 12_000)),
                risk=rng.choice([None, *RiskDecision]),
                fraud_rate=rng.choice(
                    [None, Decimal("0.00005"), Decimal("0.0005"), Decimal("0.001")]
                ),
                trusted_payee=rng.random() < 0.05,
                series=RecurringSeries(cents, "EUR", "shop-1", True)
                if rng.random() < 0.1
                else None,
                telephone_order=rng.random() < 0.05,
            )
        )
    return made


def _percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return ms[len(ms) // 2], ms[int(len(ms) * 0.99)]


def end_to_end(payments: int) -> tuple[float, float, float, float]:
    """(p50, p99) of a whole payment over HTTP, then of the processor alone, in ms."""
    import httpx2 as httpx
    from pydantic import SecretStr

    from tessera.payments import CardDetails, HttpProcessor, Money
    from tessera.trust import Scope, Services, Settings

    workdir = tempfile.mkdtemp(prefix="payments-bench-")
    sim_port, port = free_port(), free_port()
    env = {
        **os.environ,
        "TESSERA_DATA_DIR": workdir,
        "TESSERA_KEYRING_PASSPHRASE": "payments bench",
        "TESSERA_PROCESSOR_URL": f"http://127.0.0.1:{sim_port}",
        "TESSERA_RATE_LIMIT_PER_SECOND": "1000000",
        "TESSERA_RATE_LIMIT_BURST": "1000000",
        "TESSERA_CHECKPOINT_INTERVAL_SECONDS": "0",
    }
    simulator = serve(
        [sys.executable, "-m", "tessera.payments.simulator", "--port", str(sim_port)], env, sim_port
    )
    server = None
    try:
        settings = Settings(
            data_dir=workdir,
            keyring_passphrase=SecretStr("payments bench"),
            processor_url=env["TESSERA_PROCESSOR_URL"],
        )
        services = Services.from_settings(settings)
        services.identity.create_tenant("bench")
        secret = services.identity.issue_key(
            "bench", scopes=[Scope.PAYMENTS, Scope.PAYMENTS_CARD], name="bench"
        ).secret
        services.close()
        tessera = shutil.which("tessera", path=str(Path(sys.executable).parent))
        server = serve([str(tessera), "serve", "--port", str(port)], env, port)
        card = {"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123"}
        whole: list[float] = []
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {secret}"}
        ) as client:
            for i in range(payments + 10):
                t0 = time.perf_counter()
                created = client.post(
                    "/v1/payments",
                    json={"subject": f"c{i}", "amount": 1250, "currency": "EUR", "payee": "Shop"},
                    headers={"Idempotency-Key": f"bench-{i}"},
                ).json()
                paid = client.post(f"/v1/payments/{created['id']}/card", json=card).json()
                done = client.post(f"/v1/payments/{created['id']}/capture", json={}).json()
                if i >= 10:  # the first ones warm the server up
                    whole.append((time.perf_counter() - t0) * 1000)
                if paid["state"] != "authorized" or done["state"] != "captured":
                    raise RuntimeError(f"payment {i} ended {done}")
        processor = HttpProcessor(env["TESSERA_PROCESSOR_URL"])
        alone: list[float] = []
        details = CardDetails("4242424242424242", "12/34", "123")
        for i in range(payments + 10):
            t0 = time.perf_counter()
            charge = processor.authorize(
                details, Money(1250, "EUR"), payee="Shop", reference="", key=f"direct-{i}:a"
            )
            processor.capture(str(charge.reference), Money(1250, "EUR"), key=f"direct-{i}:c")
            if i >= 10:
                alone.append((time.perf_counter() - t0) * 1000)
        processor.close()
    finally:
        for proc in (server, simulator):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    return (*_percentiles(whole), *_percentiles(alone))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--payments", type=int, default=300, help="end to end over HTTP; 0: none")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    batch = requests(args.decisions, args.seed)
    outcomes: Counter[str] = Counter()
    timings = []
    started = time.perf_counter()
    for request in batch:
        t0 = time.perf_counter_ns()
        decision = decide_sca(request)
        timings.append(time.perf_counter_ns() - t0)
        outcomes[
            decision.exemption.value
            if decision.exemption
            else "sca"
            if not decision.refused
            else "refused"
        ] += 1
    elapsed = time.perf_counter() - started
    key = b"k" * 32
    floor = []
    for request in batch:
        t0 = time.perf_counter_ns()
        hmac.new(key, repr(request).encode(), hashlib.sha256).digest()
        floor.append(time.perf_counter_ns() - t0)
    timings.sort()
    floor.sort()
    n = len(timings)
    p50, p99 = timings[n // 2] / 1000, timings[int(n * 0.99)] / 1000
    base = floor[n // 2] / 1000
    print(f"{n:,} SCA decisions: {n / elapsed:,.0f} per second")
    print(
        f"p50 {p50:.1f} µs, p99 {p99:.1f} µs (HMAC of the request in the same run: "
        f"p50 {base:.1f} µs, ratio {p50 / base:.1f}×)"
    )
    print("outcomes:", ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
    checks = [("SCA decision p99 ≤ 1000 µs", p99, p99 <= 1000)]
    if args.payments:
        e50, e99, a50, a99 = end_to_end(args.payments)
        print(
            f"{args.payments} payments over HTTP (create + card + capture): p50 {e50:.1f} ms, "
            f"p99 {e99:.1f} ms; the processor alone (authorize + capture): p50 {a50:.1f} ms, "
            f"p99 {a99:.1f} ms; ratio p50 {e50 / a50:.1f}×"
        )
        checks.append(("payment over HTTP p50 / processor alone p50", e50 / a50, True))
    return judge(checks, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
