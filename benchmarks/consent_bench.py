"""Consent ledger speed against its floors, measured in the same run.

- appends/s with 1 and 8 writer threads sharing one ledger (group commit), SQLite and PostgreSQL;
- "may we?" latency in-process, p50/p99;
- verification of a 1,000,000-event chain against plain SHA-256 over the same bytes, and the
  keyed verification (chain and seals) against the keyed floor (SHA-256 and HMAC-SHA256).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _report import judge, print_table

from tessera.consent import (
    GENESIS,
    Catalogue,
    ChainRow,
    ConsentLedger,
    ConsentRequest,
    canonical,
    load_catalogue_file,
    verify_chain,
)
from tessera.consent._chain import seal
from tessera.storage import Database, Store, migrate
from tessera.vault import LocalKeyring, Vault

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "trust" / "cli" / "examples" / "purposes.toml"
PG_URL = os.environ.get("TESSERA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
APPEND_TARGET_PG_8 = 2000.0
VERIFY_RATIO_TARGET = 3.0
MAY_WE_P99_TARGET_MS = 1.0


def append_rate(ledger: ConsentLedger, tenant: str, writers: int, per_writer: int) -> float:
    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        barrier.wait()
        try:
            for i in range(per_writer):
                ledger.record(
                    tenant,
                    ConsentRequest(
                        f"w{n}-s{i % 200}",
                        ("marketing_sms", "analytics")[i % 2],
                        ("given", "withdrawn")[i % 2],
                        "web",
                        {"form_id": f"f{i}", "session_id": f"w{n}"},
                    ),
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return writers * per_writer / elapsed


def bench_backend(name: str, db: Database, events: int, workdir: Path) -> dict[str, float]:
    migrate(db, Store.DATA)
    keys = Database(f"sqlite:///{workdir}/{name}-keys.db", secure_delete=True)
    migrate(keys, Store.KEYS)
    keyring = LocalKeyring(workdir / f"{name}-keyring.json", secrets.token_urlsafe(16), create=True)
    vault = Vault(data=db, keys=keys, key_provider=keyring)
    catalogue = Catalogue(db)
    ledger = ConsentLedger(db, catalogue, vault=vault)
    out: dict[str, float] = {}
    for writers in (1, 8):
        tenant = f"bench-{writers}"
        catalogue.load(tenant, load_catalogue_file(CATALOGUE))
        append_rate(ledger, tenant, writers, 20)  # warm up
        out[f"append_{writers}w_per_s"] = append_rate(ledger, tenant, writers, events // writers)
    tenant = "bench-8"
    subjects = [f"w{n}-s{i}" for n in range(8) for i in range(200)]
    for s in subjects[:200]:
        ledger.may_we(tenant, s, "marketing_sms")
    lat = []
    for i in range(3000):
        t0 = time.perf_counter()
        ledger.may_we(tenant, subjects[i % len(subjects)], ("marketing_sms", "analytics")[i % 2])
        lat.append((time.perf_counter() - t0) * 1e3)
    lat.sort()
    out["may_we_p50_ms"] = statistics.median(lat)
    out["may_we_p99_ms"] = lat[int(0.99 * len(lat))]
    t0 = time.perf_counter()
    report = ledger.verify(tenant)
    out["db_verify_events_per_s"] = report.events / (time.perf_counter() - t0)
    print(f"  {name}: done", file=sys.stderr)
    return out


def synthetic_chain(n: int) -> list[ChainRow]:
    """Bodies shaped like real events; JCS equals sorted compact JSON for this ASCII content."""
    template = {
        "v": 1,
        "tenant": "acme",
        "subject": "",
        "purpose": "marketing_sms",
        "kind": "given",
        "channel": "voice_ivr",
        "notice_version": 3,
        "evidence": {"recording_ref": "rec-0000000"},
        "occurred_at": "2026-11-23T10:00:00.000000Z",
        "recorded_at": "2026-11-23T10:00:00.100000Z",
        "expires_at": None,
        "idempotency_key": None,
    }
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        body_obj = {**template, "seq": seq, "subject": f"cust-{seq % 50000}"}
        body = json.dumps(body_obj, sort_keys=True, separators=(",", ":")).encode()
        if seq <= 100:
            assert body == canonical(body_obj)
        digest = hashlib.sha256(bytes.fromhex(prev) + body).hexdigest()
        rows.append(ChainRow(seq, prev, digest, body))
        prev = digest
    return rows


def verify_vs_floor(n: int) -> dict[str, float]:
    rows = synthetic_chain(n)
    prevs = [bytes.fromhex(r.prev_hash) for r in rows]
    sha = hashlib.sha256
    t0 = time.perf_counter()
    for prev, row in zip(prevs, rows, strict=True):
        sha(prev + row.body).digest()
    floor = time.perf_counter() - t0
    t0 = time.perf_counter()
    verify_chain(rows, expected_head=rows[-1].hash)
    verify = time.perf_counter() - t0
    # Keyed: what `ConsentLedger.verify` adds, a seal per event (HMAC-SHA256 of its hash).
    key = secrets.token_bytes(32)
    seals = [seal(key, r.hash) for r in rows]
    hashes = [bytes.fromhex(r.hash) for r in rows]
    t0 = time.perf_counter()
    for prev, row, digest in zip(prevs, rows, hashes, strict=True):
        sha(prev + row.body).digest()
        hmac.new(key, digest, sha).digest()
    keyed_floor = time.perf_counter() - t0
    t0 = time.perf_counter()
    verify_chain(rows, expected_head=rows[-1].hash)
    for row, given in zip(rows, seals, strict=True):
        if not hmac.compare_digest(seal(key, row.hash), given):
            raise AssertionError("a seal does not verify")
    keyed = time.perf_counter() - t0
    return {
        "chain_events": n,
        "sha256_floor_s": floor,
        "verify_s": verify,
        "verify_ratio": verify / floor,
        "keyed_floor_s": keyed_floor,
        "keyed_verify_s": keyed,
        "keyed_verify_ratio": keyed / keyed_floor,
        "mean_body_bytes": sum(len(r.body) for r in rows[:1000]) / 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--events", type=int, default=4000, help="appends per measurement")
    parser.add_argument("--chain", type=int, default=1_000_000, help="events to verify")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tessera-consent-bench-"))
    results = {
        "sqlite": bench_backend(
            "sqlite", Database(f"sqlite:///{workdir}/data.db"), args.events, workdir
        )
    }
    if not args.no_pg:
        pg = Database(PG_URL, schema=f"bench_{secrets.token_hex(3)}")
        try:
            pg.ping()
            results["postgresql"] = bench_backend("postgresql", pg, args.events, workdir)
        except Exception as exc:  # report, and go on with the SQLite figures
            print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            pg.drop_schema()
    chain = verify_vs_floor(args.chain)

    print_table(results)
    print(
        f"chain of {chain['chain_events']:,} events ({chain['mean_body_bytes']:.0f} B bodies): "
        f"SHA-256 floor {chain['sha256_floor_s']:.2f} s, verify {chain['verify_s']:.2f} s; "
        f"keyed floor {chain['keyed_floor_s']:.2f} s, keyed verify {chain['keyed_verify_s']:.2f} s"
    )

    checks = [
        (
            f"verify within {VERIFY_RATIO_TARGET:.0f}× of the SHA-256 floor",
            chain["verify_ratio"],
            chain["verify_ratio"] <= VERIFY_RATIO_TARGET,
        ),
        (
            f"keyed verify within {VERIFY_RATIO_TARGET:.0f}× of the keyed floor",
            chain["keyed_verify_ratio"],
            chain["keyed_verify_ratio"] <= VERIFY_RATIO_TARGET,
        ),
    ]
    for name, r in results.items():
        checks.append(
            (
                f"may-we p99 ≤ {MAY_WE_P99_TARGET_MS} ms, {name}",
                r["may_we_p99_ms"],
                r["may_we_p99_ms"] <= MAY_WE_P99_TARGET_MS,
            )
        )
    if "postgresql" in results:
        rate = results["postgresql"]["append_8w_per_s"]
        checks.append(
            (
                f"appends with 8 writers on PostgreSQL ≥ {APPEND_TARGET_PG_8:,.0f}/s",
                rate,
                rate >= APPEND_TARGET_PG_8,
            )
        )
    return judge(checks, strict=args.check)


if __name__ == "__main__":
    raise SystemExit(main())
