"""The SCA decision in-process: decisions per second and p50/p99 per decision, over a mix of
requests that exercise every article (low value with running totals, TRA bands, trusted
beneficiaries, recurring series, telephone orders, refusals), against an HMAC-SHA256 of the
same request measured in the same run (these machines are noisy: the ratio is the figure).

Target: p99 ≤ 1 ms per decision. The end-to-end HTTP payment against the simulated processor
comes with the payment links (issue 8, next step).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import random
import sys
import time
from collections import Counter
from decimal import Decimal

from _report import judge

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2026)
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
    return judge([("SCA decision p99 ≤ 1000 µs", p99, p99 <= 1000)], strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
