"""Gateway speed against its floors, measured in the same run.

- data floor: one indexed read plus a raw AES-GCM decrypt; the gateway's `access` with
  detokenize, in-process;
- framework floor: a bare FastAPI endpoint on uvicorn; the gateway's `POST /v1/access` on the same
  server; both loaded by wrk from a second process on 127.0.0.1;
- a signed checkpoint over 1,000,000 audit entries, and proof verification.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import judge
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from sqlalchemy import insert, select

from tessera.consent import canonical, load_catalogue_file
from tessera.policies import Assurance
from tessera.trust import AccessRequest, AuditLog, AuthContext, Scope, Services, Settings
from tessera.trust.audit import AuditEntryRow, AuditHead, leaf_hash
from tessera.vault import TokenizeRequest
from tessera.vault._models import VaultItem

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "trust" / "cli" / "examples" / "purposes.toml"
PASSPHRASE = "gateway bench"
TENANT = "bench"
PG_URL = os.environ.get("TESSERA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def wrk_output(
    url: str, bodies: list[dict], headers: dict[str, str], seconds: int, *extra: str
) -> str:
    """wrk's report of POSTs that take `bodies` in turn (`extra`: more of wrk's flags)."""
    script = Path(tempfile.mkdtemp()) / "post.lua"
    lua_headers = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    lua_bodies = ", ".join(json.dumps(json.dumps(b)) for b in bodies)
    script.write_text(
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"{lua_headers}\nlocal bodies = {{{lua_bodies}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #bodies + 1\n"
        "  return wrk.format(nil, nil, nil, bodies[i])\nend\n"
    )
    out = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", *extra, "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} failed responses from {url}:\n{out}")
    return out


def wrk(url: str, bodies: list[dict], headers: dict[str, str], seconds: int) -> float:
    """Requests/s of POSTs that take `bodies` in turn."""
    out = wrk_output(url, bodies, headers, seconds)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def serve(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    # Logs go to a file: a pipe nobody reads fills up and stalls the server.
    log = Path(tempfile.mkdtemp()) / "server.log"
    proc = subprocess.Popen(
        args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    wait_up(port, proc)
    return proc


def bench_services(
    workdir: Path, pg_url: str | None = None, passphrase: str = PASSPHRASE
) -> tuple[Services, dict[str, str]]:
    """Services on SQLite files in `workdir`, or on two fresh PostgreSQL schemas, and the
    environment a `tessera serve` on the same stores runs with (no rate limit)."""
    env = {
        **os.environ,
        "TESSERA_DATA_DIR": str(workdir),
        "TESSERA_KEYRING_PASSPHRASE": passphrase,
        "TESSERA_RATE_LIMIT_PER_SECOND": "1000000",
        "TESSERA_RATE_LIMIT_BURST": "1000000",
    }
    if pg_url:
        schema = f"bench_gw_{secrets.token_hex(3)}"
        env |= {
            "TESSERA_DATABASE_URL": pg_url,
            "TESSERA_DATABASE_SCHEMA": f"{schema}_data",
            "TESSERA_KEYSTORE_URL": pg_url,
            "TESSERA_KEYSTORE_SCHEMA": f"{schema}_keys",
        }
    settings = Settings(
        data_dir=workdir,
        keyring_passphrase=SecretStr(passphrase),
        database_url=env.get("TESSERA_DATABASE_URL"),
        database_schema=env.get("TESSERA_DATABASE_SCHEMA"),
        keystore_url=env.get("TESSERA_KEYSTORE_URL"),
        keystore_schema=env.get("TESSERA_KEYSTORE_SCHEMA"),
    )
    return Services.from_settings(settings), env


def setup(
    workdir: Path, pg_url: str | None = None
) -> tuple[Services, dict[str, str], list[str], str]:
    """`bench_services` with a tenant, its purposes, 200 tokenized emails and an API key."""
    services, env = bench_services(workdir, pg_url)
    services.identity.create_tenant(TENANT)
    services.catalogue.load(TENANT, load_catalogue_file(EXAMPLE))
    records = services.vault.tokenize_batch(
        TENANT, [TokenizeRequest(f"user{i}@example.fr", "email", f"s{i}") for i in range(200)]
    )
    secret = services.identity.issue_key(
        TENANT, scopes=[Scope.ACCESS, Scope.AUTH_ASSERT], kind="expert"
    ).secret
    return services, env, [r.token for r in records], secret


def in_process(services: Services, tokens: list[str], secret: str) -> dict[str, float]:
    caller = services.identity.authenticate(secret)
    auth = AuthContext(Assurance.SUBSTANTIAL)
    for tok in tokens[:50]:
        services.gateway.access(
            caller,
            AccessRequest("detokenize", "customer_service", "chat", tokens=(tok,), auth=auth),
        )
    lat = []
    for i in range(2000):
        t0 = time.perf_counter()
        services.gateway.access(
            caller,
            AccessRequest(
                "detokenize",
                "customer_service",
                "chat",
                tokens=(tokens[i % len(tokens)],),
                auth=auth,
            ),
        )
        lat.append((time.perf_counter() - t0) * 1e6)
    t = VaultItem.__table__
    aead = AESGCM(AESGCM.generate_key(256))
    nonce = secrets.token_bytes(12)
    blob = aead.encrypt(nonce, b"user1@example.fr", b"aad")
    floor = []
    for i in range(2000):
        t0 = time.perf_counter()
        with services.data.read() as conn:
            conn.execute(
                select(t.c.ciphertext).where(
                    t.c.tenant_id == TENANT, t.c.token == tokens[i % len(tokens)]
                )
            ).one()
        aead.decrypt(nonce, blob, b"aad")
        floor.append((time.perf_counter() - t0) * 1e6)
    lat.sort()
    return {
        "access_p50_us": statistics.median(lat),
        "access_p99_us": lat[int(0.99 * len(lat))],
        "data_floor_p50_us": statistics.median(floor),
    }


def over_http(
    env: dict[str, str], tokens: list[str], secret: str, seconds: int, rounds: int = 3
) -> dict[str, float]:
    """Both servers run side by side and are loaded in turn, `rounds` times: on a noisy machine
    a slow spell then hits both, and the ratio is the median of the rounds' ratios."""
    # Each request reads another customer's token, as an agent desktop's would.
    bodies = [
        {"action": "read_masked", "purpose": "customer_service", "channel": "chat", "tokens": [t]}
        for t in tokens
    ]
    bare_port, gw_port = free_port(), free_port()
    tessera = shutil.which("tessera", path=str(Path(sys.executable).parent))
    servers = [
        serve(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "_bare_app:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
            ],
            {**env, "PYTHONPATH": str(ROOT / "benchmarks")},
            bare_port,
        )
    ]
    try:
        servers.append(serve([tessera, "serve", "--port", str(gw_port)], env, gw_port))
        bare_url = f"http://127.0.0.1:{bare_port}/v1/access"
        async_url = f"http://127.0.0.1:{bare_port}/v1/access-async"
        gw_url = f"http://127.0.0.1:{gw_port}/v1/access"
        key = {"Authorization": f"Bearer {secret}"}
        # Warmed first (2 s each): caches fill, first requests' imports are out of the figure.
        wrk(bare_url, bodies, {}, 2)
        wrk(async_url, bodies, {}, 2)
        wrk(gw_url, bodies, key, 2)
        bare_rps, async_rps, gw_rps = [], [], []
        for _ in range(rounds):
            bare_rps.append(wrk(bare_url, bodies, {}, seconds))
            async_rps.append(wrk(async_url, bodies, {}, seconds))
            gw_rps.append(wrk(gw_url, bodies, key, seconds))
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=30)
    return {
        "bare_rps": statistics.median(bare_rps),
        "async_rps": statistics.median(async_rps),
        "gateway_rps": statistics.median(gw_rps),
        "share": statistics.median(g / b for g, b in zip(gw_rps, bare_rps, strict=True)),
        "shares": [g / b for g, b in zip(gw_rps, bare_rps, strict=True)],
        "async_share": statistics.median(g / b for g, b in zip(gw_rps, async_rps, strict=True)),
    }


def checkpoint_at_scale(services: Services, entries: int) -> dict[str, float]:
    """Write `entries` audit entries as the log would, then time a signed checkpoint."""
    tenant = "bench-ckpt"
    chain = "0" * 64
    rows = []
    now = services.audit.clock()
    table = AuditEntryRow.__table__
    t0 = time.perf_counter()
    from tessera.trust.audit._verify import seal

    key = services.vault.tenant_secret(tenant, "audit-seal")
    for seq in range(entries):
        body = canonical(
            {
                "v": 1,
                "tenant": tenant,
                "seq": seq,
                "kind": "access",
                "at": now.isoformat(),
                "subject": f"s{seq % 5000}",
                "request_id": None,
                "action": "read_masked",
                "outcome": "allow",
            }
        )
        leaf = leaf_hash(body).hex()
        chain = hashlib.sha256(bytes.fromhex(chain) + bytes.fromhex(leaf)).hexdigest()
        rows.append(
            dict(
                tenant_id=tenant,
                seq=seq,
                kind="access",
                subject_id=f"s{seq % 5000}",
                request_id=None,
                recorded_at=now,
                body=body.decode(),
                leaf_hash=leaf,
                chain_hash=chain,
                mac=seal(key, chain),  # as the service seals it (the bench holds the keys)
            )
        )
        if len(rows) == 50_000:
            with services.data.begin() as conn:
                conn.execute(insert(table), rows)
            rows = []
    with services.data.begin() as conn:
        if rows:
            conn.execute(insert(table), rows)
        conn.execute(
            insert(AuditHead.__table__).values(tenant_id=tenant, size=entries, chain_hash=chain)
        )
    load = time.perf_counter() - t0
    audit: AuditLog = services.audit
    t0 = time.perf_counter()
    cp = audit.checkpoint(tenant)
    elapsed = time.perf_counter() - t0
    proof = audit.inclusion_proof(tenant, entries // 3, entries)
    from tessera.trust import verify_inclusion_proof

    t0 = time.perf_counter()
    for _ in range(1000):
        assert verify_inclusion_proof(proof)
    verify_us = (time.perf_counter() - t0) / 1000 * 1e6
    assert cp["size"] == entries
    return {
        "entries": entries,
        "load_s": load,
        "checkpoint_s": elapsed,
        "proof_verify_us": verify_us,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per round")
    parser.add_argument("--entries", type=int, default=1_000_000, help="audit entries")
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help=f"run on PostgreSQL (TESSERA_BENCH_PG_URL, default {PG_URL}) instead of SQLite",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: scripts/install installs it", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="tessera-gateway-bench-"))
    services, env, tokens, secret = setup(workdir, PG_URL if args.postgresql else None)
    try:
        print(f"store: {services.data.describe()}")
        local = in_process(services, tokens, secret)
        http = over_http(env, tokens, secret, args.seconds)
        scale = checkpoint_at_scale(services, args.entries)
    finally:
        services.data.drop_schema()
        services.keys.drop_schema()
        services.close()
        shutil.rmtree(workdir, ignore_errors=True)

    ratio = local["access_p50_us"] / local["data_floor_p50_us"]
    share = http["share"]
    print(
        f"in-process access with detokenize: p50 {local['access_p50_us']:.0f} µs, p99 "
        f"{local['access_p99_us']:.0f} µs; data floor (indexed read + decrypt) p50 "
        f"{local['data_floor_p50_us']:.0f} µs"
    )
    print(
        f"HTTP (uvicorn, 1 worker; wrk -c16 from a second process): bare FastAPI "
        f"{http['bare_rps']:,.0f} req/s, gateway POST /v1/access {http['gateway_rps']:,.0f} "
        f"req/s (medians of {len(http['shares'])} rounds; share by round: "
        + ", ".join(f"{x:.2f}" for x in http["shares"])
        + f"); an async no-op endpoint {http['async_rps']:,.0f} req/s, the gateway "
        f"{http['async_share']:.2f} of it"
    )
    print(
        f"audit: {scale['entries']:,} entries written in {scale['load_s']:.1f} s; signed "
        f"checkpoint in {scale['checkpoint_s']:.2f} s; inclusion proof verified in "
        f"{scale['proof_verify_us']:.1f} µs"
    )
    return judge(
        [
            ("in-process access ≤ 10× the data floor", ratio, ratio <= 10),
            ("gateway over HTTP ≥ 50% of the bare (sync) endpoint", share, share >= 0.5),
            (
                "checkpoint of the audit log in seconds (< 60 s)",
                scale["checkpoint_s"],
                scale["checkpoint_s"] < 60,
            ),
            (
                "proof verification ≤ 1 ms (µs)",
                scale["proof_verify_us"],
                scale["proof_verify_us"] <= 1000,
            ),
        ],
        strict=args.check,
    )


if __name__ == "__main__":
    raise SystemExit(main())
