"""Bulk redaction past one machine: a folder's files redacted on a Dask cluster.

The coordinator (`tessera redact --cluster …`) reads each file, sends its bytes to a worker, and
writes what comes back: workers need no shared file system, and the output, the `.part` files
and the manifest stay where the job runs, so an interrupted job resumes exactly as it does on
one machine. Each worker loads and warms the model once, on its first file. At most two files
per worker are in flight, so a folder larger than memory streams through.

Transcripts are personal data: a remote scheduler is reached over TLS only (`tls://…`, with
Dask's own certificate settings); plain `tcp://` is accepted on the loopback interface alone.
`local` starts a cluster of `workers` processes on this machine.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tessera.trust._errors import RedactionError

from ._redactor import RedactionMode, Redactor
from ._speakers import Reading
from ._transcripts import redact_bytes, write_whole

__all__ = ["check_cluster_address", "redact_on_cluster"]

_IN_FLIGHT_PER_WORKER = 2
_CONNECT_SECONDS = 5


def check_cluster_address(address: str) -> str:
    """`local`, `tls://host:port`, or `tcp://` on the loopback interface; else why not."""
    if address == "local":
        return address
    parts = urlsplit(address)
    if parts.scheme not in ("tls", "tcp") or not parts.hostname:
        raise RedactionError(
            "--cluster is local, or a Dask scheduler's address: tls://host:port "
            "(tcp://127.0.0.1:port on this machine)"
        )
    if parts.scheme == "tcp" and not _loopback(parts.hostname):
        raise RedactionError(
            "transcripts are personal data: reach a remote scheduler over tls://, "
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


def redact_on_cluster(
    address: str,
    todo: Sequence[tuple[str, Path, Path]],
    *,
    workers: int,
    model: str,
    language: str,
    mode: RedactionMode,
    reading: Reading,
) -> Iterator[tuple[str, tuple[str, int, str]]]:
    """(relative path, (digest, findings, error)) of each file, as workers finish them."""
    if not todo:
        return
    check_cluster_address(address)
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if address == "local":
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.WARNING,
            )
            client = Client(cluster)
        else:
            client = Client(address, timeout=_CONNECT_SECONDS)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise RedactionError(f"no Dask scheduler answers at {address}: {exc}") from None
    try:
        limit = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        pending = iter(todo)
        where: dict[Any, tuple[str, Path]] = {}

        def submit() -> Any:
            item = next(pending, None)
            if item is None:
                return None
            rel, source, target = item
            future = client.submit(
                _on_worker,
                source.read_bytes(),
                source.suffix.lower(),
                language,
                mode.value,
                reading.value,
                model,
                pure=False,
            )
            where[future] = (rel, target)
            return future

        started = [f for f in (submit() for _ in range(limit * _IN_FLIGHT_PER_WORKER)) if f]
        running = as_completed(started)
        for future in running:
            rel, target = where.pop(future)
            digest, redacted, found, error = future.result()
            if redacted is not None:
                write_whole(target, redacted)
            yield rel, (digest, found, error)
            following = submit()
            if following is not None:
                running.add(following)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


_REDACTOR: Redactor | None = None


def _on_worker(
    raw: bytes, suffix: str, language: str, mode: str, reading: str, model: str
) -> tuple[str, str | None, int, str]:
    """One file's content redacted on a worker, which loads and warms the model once."""
    global _REDACTOR
    if _REDACTOR is None:
        from ._redactor import shared_redactor

        _REDACTOR = shared_redactor(model)
        _REDACTOR.warm()
    return redact_bytes(_REDACTOR, raw, suffix, language, RedactionMode(mode), Reading(reading))
