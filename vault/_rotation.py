"""KEK rotation: add a KEK version, then rewrap every data key under it, resumably.

Each batch is one transaction that moves keys from an old KEK version to the
current one; old versions stay in the provider. A process killed at any point
leaves every key wrapped under *some* version the provider holds, so nothing
becomes unreadable, and running the rotation again resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update

from tessera.storage import Database, table_of

from ._keys import KeyProvider, WrappedKey, data_key_aad
from ._models import DataKey

__all__ = ["KeyStatus", "RotationReport", "key_status", "rotate_keys"]


@dataclass(frozen=True, slots=True)
class KeyStatus:
    provider: str
    current_version: int
    versions: list[int]
    data_keys: int
    pending_rewrap: int


@dataclass(frozen=True, slots=True)
class RotationReport:
    target_version: int
    resumed: bool
    rewrapped: int
    total: int


def key_status(keys: Database, provider: KeyProvider) -> KeyStatus:
    t = table_of(DataKey)
    current = provider.current_version()
    with keys.begin() as conn:
        total = conn.execute(select(func.count()).select_from(t)).scalar_one()
        pending = conn.execute(
            select(func.count()).select_from(t).where(t.c.kek_version != current)
        ).scalar_one()
    return KeyStatus(provider.name, current, provider.versions(), int(total), int(pending))


def rotate_keys(
    keys: Database,
    provider: KeyProvider,
    *,
    batch_size: int = 500,
    pause: float = 0.0,
    on_progress: Callable[[int, int], None] | None = None,
) -> RotationReport:
    """Rotate the KEK and rewrap all data keys; if a rotation is unfinished, finish it instead.

    `pause` seconds between batches bounds the load on a live database.
    `on_progress(done, total)` is called after each batch.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    status = key_status(keys, provider)
    resumed = status.pending_rewrap > 0
    target = status.current_version if resumed else provider.rotate()
    t = table_of(DataKey)
    with keys.begin() as conn:
        total = int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        done = total - int(
            conn.execute(
                select(func.count()).select_from(t).where(t.c.kek_version != target)
            ).scalar_one()
        )
    if on_progress:
        on_progress(done, total)
    rewrapped = 0
    while True:
        with keys.begin() as conn:
            rows = conn.execute(
                select(t).where(t.c.kek_version != target).order_by(t.c.id).limit(batch_size)
            ).all()
            if not rows:
                break
            for row in rows:
                aad = data_key_aad(row.tenant_id, row.scope, row.subject_id, row.id)
                raw = provider.unwrap(WrappedKey(row.kek_version, row.wrapped), aad=aad)
                fresh = provider.wrap(raw, aad=aad)
                if fresh.kek_version != target:
                    # Someone rotated again meanwhile: the next call resumes to the newer one.
                    target = fresh.kek_version
                conn.execute(
                    update(t)
                    .where(t.c.id == row.id, t.c.kek_version == row.kek_version)
                    .values(kek_version=fresh.kek_version, wrapped=fresh.blob)
                )
        rewrapped += len(rows)
        done += len(rows)
        if on_progress:
            on_progress(min(done, total), total)
        if pause:
            time.sleep(pause)
    return RotationReport(target, resumed, rewrapped, total)
