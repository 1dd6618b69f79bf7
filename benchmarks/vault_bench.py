"""Vault speed against its floor: raw AES-GCM, and one indexed read, measured in the same run."""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from _report import judge, print_table
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from tessera.storage import Database, Store, migrate
from tessera.vault import LocalKeyring, TokenizeRequest, Vault
from tessera.vault._models import VaultItem

PG_URL = os.environ.get("TESSERA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BATCH_TARGET = 20_000  # values/s, SQLite
DETOK_RATIO_TARGET = 10.0


def per_second(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def raw_aes(values: list[bytes]) -> tuple[float, float]:
    """µs per value: encrypt, decrypt (fresh nonce each, as the vault does)."""
    aead = AESGCM(AESGCM.generate_key(256))
    aad = b"tessera/item/1\x1fbench"
    nonces = [secrets.token_bytes(12) for _ in values]
    t0 = time.perf_counter()
    cts = [aead.encrypt(n, v, aad) for n, v in zip(nonces, values, strict=True)]
    t1 = time.perf_counter()
    for n, c in zip(nonces, cts, strict=True):
        aead.decrypt(n, c, aad)
    t2 = time.perf_counter()
    return (t1 - t0) / len(values) * 1e6, (t2 - t1) / len(values) * 1e6


def bench_backend(name: str, data: Database, keys: Database, keyring: LocalKeyring) -> dict:
    migrate(data, Store.DATA)
    migrate(keys, Store.KEYS)
    vault = Vault(data=data, keys=keys, key_provider=keyring)
    tenant = "bench"
    out: dict[str, float] = {}

    # Tokenize, single calls: each is its own round of index lookup, insert and commit.
    n_single = 1000
    t0 = time.perf_counter()
    for i in range(n_single):
        vault.tokenize(tenant, f"single-{i}@example.fr", category="email", subject=f"s{i % 100}")
    out["tokenize_single_per_s"] = per_second(n_single, time.perf_counter() - t0)

    # Tokenize in batches of 10,000 (new values, 1,000 subjects).
    batches, size = 5, 10_000

    def batch(b: int) -> list[TokenizeRequest]:
        return [
            TokenizeRequest(f"batch-{b}-{i}@example.fr", "email", f"b{i % 1000}")
            for i in range(size)
        ]

    tokens: list[str] = []
    elapsed = 0.0
    for b in range(batches):
        items = batch(b)
        t0 = time.perf_counter()
        tokens += [r.token for r in vault.tokenize_batch(tenant, items)]
        elapsed += time.perf_counter() - t0
    out["tokenize_batch_per_s"] = per_second(batches * size, elapsed)
    # Memory in a pass of its own: tracemalloc slows Python down several times.
    items = batch(batches)
    tracemalloc.start()
    vault.tokenize_batch(tenant, items)
    out["tokenize_batch_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    # Detokenize one at a time, warm key cache: the gateway's hot path.
    sample = [tokens[secrets.randbelow(len(tokens))] for _ in range(2000)]
    for tok in sample[:200]:
        vault.detokenize(tenant, tok)
    lat = []
    for tok in sample:
        t0 = time.perf_counter()
        vault.detokenize(tenant, tok)
        lat.append((time.perf_counter() - t0) * 1e6)
    out["detok_p50_us"] = statistics.median(lat)
    out["detok_p99_us"] = percentile(lat, 0.99)

    # Baseline: one indexed read of the same rows plus a raw AES-GCM decrypt.
    t = VaultItem.__table__
    aead = AESGCM(AESGCM.generate_key(256))
    nonce = secrets.token_bytes(12)
    blob = aead.encrypt(nonce, b"single-1@example.fr", b"aad")
    base = []
    for tok in sample:
        t0 = time.perf_counter()
        with data.begin() as conn:
            conn.execute(
                select(t.c.ciphertext).where(t.c.tenant_id == tenant, t.c.token == tok)
            ).one()
        aead.decrypt(nonce, blob, b"aad")
        base.append((time.perf_counter() - t0) * 1e6)
    out["baseline_p50_us"] = statistics.median(base)
    out["detok_ratio"] = out["detok_p50_us"] / out["baseline_p50_us"]

    # Batch detokenize throughput.
    t0 = time.perf_counter()
    for start in range(0, 20_000, 5_000):
        vault.detokenize_batch(tenant, tokens[start : start + 5_000])
    out["detok_batch_per_s"] = per_second(20_000, time.perf_counter() - t0)
    print(f"  {name}: done", file=sys.stderr)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args()

    values = [f"value-{i}@example.fr".encode() for i in range(50_000)]
    enc_us, dec_us = raw_aes(values)
    workdir = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    keyring = LocalKeyring(workdir / "keyring.json", "bench", create=True)

    results: dict[str, dict[str, float]] = {}
    sqlite_data = Database(f"sqlite:///{workdir}/data.db")
    sqlite_keys = Database(f"sqlite:///{workdir}/keys.db", secure_delete=True)
    results["sqlite"] = bench_backend("sqlite", sqlite_data, sqlite_keys, keyring)

    if not args.no_pg:
        schema = f"bench_{secrets.token_hex(3)}"
        pg_data = Database(PG_URL, schema=f"{schema}_data")
        pg_keys = Database(PG_URL, schema=f"{schema}_keys", secure_delete=True)
        try:
            pg_data.ping()
            results["postgresql"] = bench_backend("postgresql", pg_data, pg_keys, keyring)
        except Exception as exc:  # report, and go on with the SQLite figures
            print(f"PostgreSQL skipped: {type(exc).__name__}", file=sys.stderr)
        finally:
            pg_data.drop_schema()
            pg_keys.drop_schema()

    print(
        f"raw AES-256-GCM (floor): encrypt {enc_us:.2f} µs/value "
        f"({per_second(1, enc_us / 1e6):,.0f}/s), decrypt {dec_us:.2f} µs/value"
    )
    print_table(results)

    sqlite = results["sqlite"]
    checks = [
        (
            f"batch tokenize on SQLite ≥ {BATCH_TARGET:,}/s",
            sqlite["tokenize_batch_per_s"],
            sqlite["tokenize_batch_per_s"] >= BATCH_TARGET,
        ),
    ]
    for name, r in results.items():
        checks.append(
            (
                f"detokenize p50 ≤ {DETOK_RATIO_TARGET:.0f}× (decrypt + indexed read), {name}",
                r["detok_ratio"],
                r["detok_ratio"] <= DETOK_RATIO_TARGET,
            )
        )
    checks.append(
        (
            "batch tokenize vs raw encrypt (×, cost of the vault per value)",
            per_second(1, enc_us / 1e6) / sqlite["tokenize_batch_per_s"],
            True,
        )
    )
    return judge(checks, strict=args.check)


if __name__ == "__main__":
    raise SystemExit(main())
