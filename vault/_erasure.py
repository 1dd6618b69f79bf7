"""The erasure journal against a restored key store: a data key older than its subject's
erasure, brought back by a key-store backup, is destroyed again before anything is served."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from tessera.storage import Database, as_utc, table_of

from ._models import DataKey, SubjectErasure

__all__ = ["reapply_erasures"]

_CHUNK = 500


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def reapply_erasures(data: Database, keys: Database) -> dict[str, int]:
    """Destroy again the data keys of erased subjects that a restored key-store backup
    brought back: the erasure journal lives in the data store, the keys in the key store,
    and a key older than its subject's erasure must not serve. A key made after the
    erasure (the same subject id, tokenized anew) is kept. Returns the keys destroyed per
    tenant; run at every start, before anything is served."""
    et, kt = table_of(SubjectErasure), table_of(DataKey)
    with data.read() as conn:
        erased = {
            (row.tenant_id, row.subject_id): as_utc(row.erased_at)
            for row in conn.execute(
                select(
                    et.c.tenant_id, et.c.subject_id, func.max(et.c.erased_at).label("erased_at")
                ).group_by(et.c.tenant_id, et.c.subject_id)
            )
        }
    destroyed: dict[str, int] = {}
    by_tenant: dict[str, list[str]] = {}
    for tenant, subject in erased:
        by_tenant.setdefault(tenant, []).append(subject)
    for tenant, subjects in by_tenant.items():
        for chunk in _chunks(subjects):
            with keys.read() as conn:
                back = [
                    row.id
                    for row in conn.execute(
                        select(kt.c.id, kt.c.subject_id, kt.c.created_at).where(
                            kt.c.tenant_id == tenant,
                            kt.c.scope == "subject",
                            kt.c.subject_id.in_(chunk),
                        )
                    )
                    if as_utc(row.created_at) <= erased[(tenant, row.subject_id)]
                ]
            if back:
                with keys.begin() as conn:
                    conn.execute(delete(kt).where(kt.c.id.in_(back)))
                destroyed[tenant] = destroyed.get(tenant, 0) + len(back)
    if destroyed and keys.is_sqlite:
        # Old page images in the write-ahead log still hold the keys: fold and truncate it.
        with keys.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return destroyed
