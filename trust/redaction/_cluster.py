"""Bulk redaction past one machine: a folder's files redacted on a Dask cluster.

The coordinator (`tessera redact --cluster …`) reads each file, sends its bytes to a worker, and
writes what comes back: workers need no shared file system, and the output, the `.part` files
and the manifest stay where the job runs, so an interrupted job resumes exactly as it does on
one machine. Each worker loads and warms the model once, on its first file. At most two files
per worker are in flight, so a folder larger than memory streams through. Which clusters may be
reached: `tessera.trust.cluster`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tessera.trust.cluster import connect, in_flight

from ._redactor import RedactionMode
from ._speakers import Reading
from ._transcripts import redact_bytes, worker_redactor, write_whole

__all__ = ["redact_on_cluster"]


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
    from distributed import as_completed

    with connect(address, workers=workers) as client:
        limit = in_flight(client, workers)
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

        running = as_completed([f for f in (submit() for _ in range(limit)) if f])
        for future in running:
            rel, target = where.pop(future)
            digest, redacted, found, error = future.result()
            if redacted is not None:
                write_whole(target, redacted)
            yield rel, (digest, found, error)
            following = submit()
            if following is not None:
                running.add(following)


def _on_worker(
    raw: bytes, suffix: str, language: str, mode: str, reading: str, model: str
) -> tuple[str, str | None, int, str]:
    """One file's content redacted on a worker, which loads and warms the model once."""
    return redact_bytes(
        worker_redactor(model), raw, suffix, language, RedactionMode(mode), Reading(reading)
    )
