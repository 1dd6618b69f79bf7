"""The DPO console's access-log search over 1,000,000 audit entries, against the floor of one
indexed read, in the same run, on SQLite and (if reachable) PostgreSQL.

The entries are written as the log writes them (hash-chained, sealed, with their search
columns). Each search answers its first page of 50 as the console asks it, through
`AuditLog.search`, which also checks every entry shown in place (its leaf, its link from the
entry before it, its seal) and its columns against its body. Target (issue 23): the first page
in ≤ 200 ms on both databases; the figures are also printed as multiples of the floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _report import judge, print_table
from pydantic import SecretStr
from sqlalchemy import insert, select

from tessera.trust import Services, Settings
from tessera.trust.audit import AccessQuery, AuditEntryRow, AuditHead, leaf_hash
from tessera.trust.audit._verify import seal

PG_URL = os.environ.get("TESSERA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSPHRASE = "bench-console-passphrase"
TENANT = "bench-console"
TARGET_MS = 200.0
KINDS = ["agent", "bot", "expert", "analytics", "service", "customer"]
ACTIONS = ["read_masked", "detokenize", "export", "search_logs"]


def _services(workdir: Path, pg_url: str | None) -> Services:
    schema = f"bench_console_{secrets.token_hex(3)}"
    settings = Settings(
        data_dir=workdir,
        keyring_passphrase=SecretStr(PASSPHRASE),
        database_url=pg_url,
        database_schema=f"{schema}_data" if pg_url else None,
        keystore_url=pg_url,
        keystore_schema=f"{schema}_keys" if pg_url else None,
    )
    services = Services.from_settings(settings)
    # The tenant is not created: its log holds the bench's entries alone, from seq 0.
    return services


def _outcome(seq: int) -> str:
    return "deny" if seq % 97 == 0 else "step_up" if seq % 53 == 0 else "allow"


def fill(services: Services, entries: int) -> float:
    """`entries` access entries as the log writes them; returns the seconds it took."""
    table = AuditEntryRow.__table__
    key = services.vault.tenant_secret(TENANT, "audit-seal")
    start = services.audit.clock() - dt.timedelta(days=90)
    chain, rows = "0" * 64, []
    t0 = time.perf_counter()
    for seq in range(entries):
        at = start + dt.timedelta(seconds=seq * 90 * 86400 / entries)  # over 90 days
        kind = KINDS[seq % len(KINDS)]
        outcome = _outcome(seq)
        facts = {
            "caller": f"key_{kind}_{seq % 40}",
            "caller_kind": kind,
            "action": ACTIONS[seq % len(ACTIONS)],
            "purpose": "customer_service",
            "channel": "chat",
            "categories": ["email"],
            "tokens": [f"tok_{seq % 50_000:08x}"],
            "outcome": outcome,
            "reason": "bench",
            "policies": ["default-deny"] if outcome == "deny" else ["agent-masked-contact"],
            "v": 1,
            "tenant": TENANT,
            "seq": seq,
            "kind": "access",
            "at": at.isoformat(),
            "subject": f"cust-{seq % 50_000}",
            "request_id": None,
        }
        body = json.dumps(facts, sort_keys=True, separators=(",", ":")).encode()
        leaf = leaf_hash(body).hex()
        chain = hashlib.sha256(bytes.fromhex(chain) + bytes.fromhex(leaf)).hexdigest()
        rows.append(
            {
                "tenant_id": TENANT,
                "seq": seq,
                "kind": "access",
                "subject_id": facts["subject"],
                "request_id": None,
                "recorded_at": at,
                "body": body.decode(),
                "leaf_hash": leaf,
                "chain_hash": chain,
                "mac": seal(key, chain),
                "caller": facts["caller"],
                "caller_kind": kind,
                "action": facts["action"],
                "outcome": outcome,
            }
        )
        if len(rows) == 20_000:
            with services.data.begin() as conn:
                conn.execute(insert(table), rows)
            rows = []
            print(f"\r  written {seq + 1:,} / {entries:,}", end="", file=sys.stderr, flush=True)
    with services.data.begin() as conn:
        if rows:
            conn.execute(insert(table), rows)
        conn.execute(
            insert(AuditHead.__table__).values(tenant_id=TENANT, size=entries, chain_hash=chain)
        )
    if services.data.is_postgresql:
        with services.data.begin() as conn:
            conn.exec_driver_sql("ANALYZE audit_entries")
    print(file=sys.stderr)
    return time.perf_counter() - t0


def _time(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def measure(services: Services, entries: int, rounds: int) -> dict[str, float]:
    table = AuditEntryRow.__table__
    audit = services.audit

    def floor() -> object:  # one indexed read: an entry by its key
        with services.data.read() as conn:
            return conn.execute(
                select(table.c.body).where(table.c.tenant_id == TENANT, table.c.seq == entries // 2)
            ).first()

    _, next_page = audit.search(TENANT, AccessQuery())
    deep = AccessQuery(before=entries // 3)
    searches = {
        "newest": AccessQuery(),
        "a subject": AccessQuery(subjects=("cust-4242",)),
        "a caller": AccessQuery(caller="key_agent_6"),
        "refused, bots": AccessQuery(caller_kind="bot", outcome="deny"),
        "stepped up, export": AccessQuery(action="export", outcome="step_up"),
        "a week, 2 months ago": AccessQuery(
            since=audit.clock() - dt.timedelta(days=60), until=audit.clock() - dt.timedelta(days=53)
        ),
        "a page deep (cursor)": deep,
        "next page": AccessQuery(before=next_page),
    }
    figures: dict[str, float] = {}
    p50, p95 = _time(floor, rounds)
    figures["floor p50 ms"], figures["floor p95 ms"] = p50, p95
    for name, query in searches.items():
        found, _ = audit.search(TENANT, query)
        assert found, name
        p50, p95 = _time(lambda q=query: audit.search(TENANT, q), rounds)
        figures[f"{name} p50 ms"], figures[f"{name} p95 ms"] = p50, p95
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    backends: dict[str, str | None] = {"sqlite": None}
    if not args.sqlite_only:
        backends["postgresql"] = PG_URL
    results: dict[str, dict[str, float]] = {}
    checks = []
    for name, url in backends.items():
        workdir = Path(tempfile.mkdtemp(prefix="tessera-console-bench-"))
        try:
            services = _services(workdir, url)
        except Exception as exc:  # PostgreSQL not reachable: SQLite alone
            print(f"{name}: skipped ({type(exc).__name__})", file=sys.stderr)
            shutil.rmtree(workdir, ignore_errors=True)
            continue
        try:
            print(f"{name}: writing {args.entries:,} audit entries", file=sys.stderr)
            load = fill(services, args.entries)
            figures = measure(services, args.entries, args.rounds)
            figures["load s"] = load
            results[name] = figures
            floor = figures["floor p95 ms"]
            for key, value in figures.items():
                if key.endswith("p95 ms") and not key.startswith("floor"):
                    checks.append(
                        (
                            f"{name} {key} (×{value / floor:,.0f} the floor) ≤ {TARGET_MS:.0f}",
                            value,
                            value <= TARGET_MS,
                        )
                    )
        finally:
            if url:
                services.data.drop_schema()
                services.keys.drop_schema()
            services.close()
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    return judge(checks, strict=args.check)


if __name__ == "__main__":
    sys.exit(main())
