"""The production database goes away while the service runs: refused connections (the server
down), or a network that swallows packets (a partition). Each request fails closed within a
bound with a 503, liveness keeps answering, nothing is released or half-written, and the
service reconnects by itself when the database is back: no restart.

The fault is a real one: the service reaches PostgreSQL through a TCP relay on 127.0.0.1 that
the test cuts (every connection closed, the port refusing), or stalls (connections accepted,
nothing ever forwarded). An embedded SQLite file has no network to lose: its fault is another
writer's lock (tests/trust/test_locked_store.py)."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tessera.trust import PROBLEM_JSON, Scope, Services, create_app
from tests.conftest import PG_URL, Stores
from tests.trust.conftest import _issue, settings_for

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: SQLite is a local file")


class Relay:
    """A TCP relay to PostgreSQL that a test can cut, stall, and restore."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode = "forward"
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._serve()

    def _serve(self) -> None:
        listener = self._listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: the port refuses
            if self.mode == "cut":
                client.close()
                return
            with self._lock:
                self._links.append(client)
            if self.mode == "stall":
                continue  # accepted, never answered: a partition
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._links.append(server)
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def _drop_links(self) -> None:
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            with contextlib.suppress(OSError):
                link.shutdown(socket.SHUT_RDWR)
            link.close()

    def cut(self) -> None:
        """The database is down: live connections drop, new ones are refused."""
        self.mode = "cut"
        self._close_listener()
        self._drop_links()

    def _close_listener(self) -> None:
        # A thread blocked in accept() keeps a closed socket listening: shut it down first.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def stall(self) -> None:
        """The network swallows everything: live connections drop, new ones hang."""
        self.mode = "stall"
        self._drop_links()

    def restore(self) -> None:
        self._drop_links()
        self.mode = "forward"
        if self._listener.fileno() == -1:
            self._listener = socket.create_server(("127.0.0.1", self.port))
            self._serve()

    def close(self) -> None:
        self._close_listener()
        self._drop_links()


@pytest.fixture
def relayed(fresh_stores: Stores, keyring, tmp_path: Path, tenant: str):
    url = make_url(fresh_stores.env["TESSERA_DATABASE_URL"])
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    settings = settings_for(
        fresh_stores,
        tmp_path / "data",
        database_url=url.set(host="127.0.0.1", port=relay.port).render_as_string(False),
        database_connect_timeout_seconds=1,
    )
    services = Services.from_settings(settings, key_provider=keyring)
    headers = _issue(services, tenant, [Scope.TOKENIZE, Scope.ACCESS, Scope.AUDIT], "agent")
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        yield client, headers, services, relay
    relay.close()
    services.close()


@pytest.mark.parametrize("fault", ["cut", "stall"])
def test_an_unreachable_database_is_a_prompt_503_and_its_return_is_picked_up(
    relayed, tenant: str, fault: str
) -> None:
    client, headers, services, relay = relayed
    made = client.post(
        "/v1/tokens",
        json={"value": "jean@example.fr", "category": "email", "subject": "c1"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    ask = {"action": "read_masked", "purpose": "customer_service", "channel": "chat",
           "tokens": [made.json()["token"]]}  # fmt: skip
    assert client.post("/v1/access", json=ask, headers=headers).status_code == 200
    before = services.audit.size(tenant)
    getattr(relay, fault)()
    try:
        for _ in range(2):  # the first finds its pooled connection dead, the next can't connect
            refused = client.post("/v1/access", json=ask, headers=headers)
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith(PROBLEM_JSON)
            assert refused.json()["type"] == "urn:tessera:problem:storage-unavailable"
            assert "j•••" not in refused.text and "jean" not in refused.text
        assert client.get("/healthz").status_code == 200
    finally:
        relay.restore()
    assert client.post("/v1/access", json=ask, headers=headers).status_code == 200
    assert services.audit.size(tenant) == before + 1  # the refused reads left no entry
