"""Reaching a Dask cluster: `local` (a `LocalCluster` of worker processes on this machine), or
a running scheduler over TLS. What jobs send their workers is personal data (transcripts,
values to tokenize): plain `tcp://` is accepted on the loopback interface only."""

from __future__ import annotations

import ipaddress
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tessera.trust._errors import ClusterUnavailable

__all__ = [
    "ClusterUnavailable",
    "check_cluster_address",
    "connect",
    "in_flight",
    "ordered_map",
]

_CONNECT_SECONDS = 5

T = TypeVar("T")
R = TypeVar("R")


def check_cluster_address(address: str) -> str:
    """`local`, `tls://host:port`, or `tcp://` on the loopback interface; else why not."""
    if address == "local":
        return address
    parts = urlsplit(address)
    if parts.scheme not in ("tls", "tcp") or not parts.hostname:
        raise ClusterUnavailable(
            "--cluster is local, or a Dask scheduler's address: tls://host:port "
            "(tcp://127.0.0.1:port on this machine)"
        )
    if parts.scheme == "tcp" and not _loopback(parts.hostname):
        raise ClusterUnavailable(
            "what bulk jobs send is personal data: reach a remote scheduler over tls://, "
            "not tcp:// (plain TCP only on 127.0.0.1)"
        )
    return address


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextmanager
def connect(address: str, *, workers: int) -> Iterator[Any]:
    """A Dask client: of a `LocalCluster` of `workers` processes for `local`, else of the
    scheduler at `address` (its own TLS settings from Dask's configuration)."""
    check_cluster_address(address)
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if address == "local":
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                # A worker's failure reaches the job through its task; what the processes
                # log at shutdown (a heartbeat to a scheduler that has stopped) is noise.
                silence_logs=logging.CRITICAL,
            )
            client = Client(cluster)
        else:
            client = Client(address, timeout=_CONNECT_SECONDS)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterUnavailable(f"no Dask scheduler answers at {address}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def ordered_map(
    client: Any, task: Callable[..., R], items: Iterable[T], *args: Any, in_flight: int
) -> Iterator[tuple[T, R]]:
    """`task(item, *args)` on the cluster for each item, at most `in_flight` at once, given
    back in the items' order (a killed worker's tasks are run again by Dask elsewhere)."""
    window: deque[tuple[T, Any]] = deque()
    for item in items:
        window.append((item, client.submit(task, item, *args, pure=False)))
        if len(window) >= in_flight:
            first, future = window.popleft()
            yield first, future.result()
    while window:
        first, future = window.popleft()
        yield first, future.result()


_IN_FLIGHT_PER_WORKER = 2  # one running, one waiting: workers never idle for the next task


def in_flight(client: Any, workers: int) -> int:
    """How many tasks a job keeps on the cluster at once: two a worker it has now (`workers`
    when it says none), so that what is read waits in memory no longer than it must."""
    now = len(client.scheduler_info().get("workers", {})) or workers
    return _IN_FLIGHT_PER_WORKER * max(1, now)
