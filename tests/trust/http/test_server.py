"""`tessera serve` as a real uvicorn process on 127.0.0.1, spoken to over TCP."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.cli import cli_env, run, serving
from tests.conftest import PASSPHRASE, StoreFactory

pytestmark = pytest.mark.slow


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def server(
    store_factory: StoreFactory, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[str, str]]:
    stores = store_factory.make(migrated=False)
    env = cli_env(stores.env, tmp_path, tmp_path / "keyring.json", PASSPHRASE)
    run(["keys", "init"], env)
    from tests.consent.conftest import EXAMPLE

    run(["tenants", "create", "acme"], env)
    run(["consent", "load", str(EXAMPLE), "--tenant", "acme"], env)
    secret = run(
        [
            "apikeys",
            "create",
            "acme",
            "-s",
            "tokens:write",
            "-s",
            "tokens:reveal_masked",
            "-s",
            "redact",
            "--kind",
            "agent",
        ],
        env,
    ).stdout.strip()
    workers = request.param
    # One request log line each with --access-log (asked of the 2-worker server); none without.
    access_log = ["--access-log"] if workers == 2 else []
    with serving(env, "--workers", str(workers), *access_log) as (base, proc):
        yield base, secret
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    # uvicorn shuts down gracefully, then re-raises SIGTERM so that its exit status tells why.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert PASSPHRASE not in output and secret not in output
    assert "4970101234567893" not in output
    assert ('GET /healthz HTTP/1.1\\" 200' in output) is bool(access_log), output


def test_served_api_over_loopback(server: tuple[str, str]) -> None:
    base, secret = server
    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    created = httpx.post(
        f"{base}/v1/tokens",
        headers=auth,
        json={"value": "jean@example.fr", "category": "email", "subject": "c1"},
    )
    assert created.status_code == 201
    token = created.json()["token"]
    read = {"tokens": [token], "purpose": "customer_service", "channel": "chat"}
    masked = httpx.post(f"{base}/v1/tokens/reveal-masked", headers=auth, json=read)
    assert masked.json() == [{"token": token, "masked": "j•••@example.fr"}]
    denied = httpx.post(f"{base}/v1/tokens/detokenize", headers=auth, json=read)
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    assert "server" not in denied.headers  # no version banner


def test_the_redaction_stream_over_a_real_websocket(server: tuple[str, str]) -> None:
    from websockets.sync.client import connect

    base, secret = server
    url = base.replace("http://", "ws://") + "/v1/redact/stream"
    with connect(url, additional_headers={"Authorization": f"Bearer {secret}"}) as ws:
        ws.send(json.dumps({"type": "open"}))
        assert json.loads(ws.recv(timeout=60))["type"] == "opened"
        for text in ("ma carte 4970 1012", "3456 7893 merci"):
            ws.send(json.dumps({"type": "turn", "speaker": "client", "text": text}))
        released = [json.loads(ws.recv(timeout=60)) for _ in range(2)]
        assert [m["text"] for m in released] == ["ma carte <CARD>", "<CARD> merci"]
        ws.send(json.dumps({"type": "close"}))
        assert json.loads(ws.recv(timeout=10))["reason"] == "client"
    with pytest.raises(Exception, match="403"):  # no key: the handshake is refused
        connect(url, open_timeout=10).close()


def test_three_workers_stay_up_and_share_the_requests(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """`serve --workers 3` (on PostgreSQL in the PostgreSQL run): the schema migrated once by
    the parent, three workers up and answering, none lost at start; their counts meet in one
    metrics folder and the scrape adds them up."""
    stores = store_factory.make(migrated=False)
    env = cli_env(stores.env, tmp_path / "data", tmp_path / "keyring.json", PASSPHRASE)
    run(["keys", "init"], env)
    run(["tenants", "create", "acme"], env)
    secret = run(["apikeys", "create", "acme", "-s", "tokens:write"], env).stdout.strip()
    folder = tmp_path / "metrics"
    folder.mkdir()
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    auth = {"Authorization": f"Bearer {secret}"}
    with serving(env, "--workers", "3", timeout=120) as (base, proc):
        # Fresh connections, so that the kernel spreads them over the three listeners.
        answers = [
            httpx.post(f"{base}/v1/tokens", json={"value": f"v{i}"}, headers=auth)
            for i in range(60)
        ]
        scraped = httpx.get(f"{base}/metrics").text
        proc.terminate()
        output = proc.communicate(timeout=60)[0]
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers][:3]
    assert output.count("Application startup complete") == 3, output
    assert "died" not in output.lower() and "Traceback" not in output, output
    served_by = {p.name.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}
    assert len(served_by) >= 2, served_by  # more than one worker answered
    line = next(
        ln
        for ln in scraped.splitlines()
        if ln.startswith("tessera_http_requests_total{")
        and 'route="/v1/tokens"' in ln
        and 'status="201"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) == 60.0  # every worker's count, added up


def test_a_servers_heap_is_settled_once_started_and_an_embedded_apps_is_not(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """A server's app, alone in its process, sets its start-up heap out of the collector's
    reach and makes young collections rarer; an app embedded among others (a test's, a
    demo's) leaves the process's collector as it found it."""
    import subprocess
    import sys

    stores = store_factory.make(migrated=False)
    env = cli_env(stores.env, tmp_path, tmp_path / "keyring.json", PASSPHRASE)
    run(["keys", "init"], env)
    code = (
        "import gc\n"
        "print(0, gc.get_threshold()[0])\n"
        "from fastapi.testclient import TestClient\n"
        "from tessera.trust._services import Services\n"
        "from tessera.trust.http import create_app\n"
        "services = Services.from_settings()\n"
        "with TestClient(create_app(services)):\n"
        "    print(gc.get_freeze_count(), gc.get_threshold()[0])\n"
        "with TestClient(create_app(services, own_process=True)) as client:\n"
        "    assert client.get('/healthz').status_code == 200\n"
        "    print(gc.get_freeze_count(), gc.get_threshold()[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    before, embedded, served = (line.split() for line in done.stdout.splitlines())
    assert embedded == before
    assert int(served[0]) > 10_000 and served[1] == "10000"
