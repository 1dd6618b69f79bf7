from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
import json
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tessera.storage import Database
from tessera.trust import (
    AuditLog,
    AuditRecord,
    AuditTampered,
    AuditUnavailable,
    NoSuchProof,
    ReplayedRequest,
    verify_export,
    verify_inclusion_proof,
)
from tessera.vault import Vault
from tests.conftest import Stores, bypass_append_only


@pytest.fixture
def audit(shared_stores: Stores, vault: Vault) -> AuditLog:
    return AuditLog(shared_stores.data, vault=vault)


def fill(audit: AuditLog, tenant: str, n: int, *, checkpoint_every: int = 4) -> None:
    for i in range(n):
        audit.record(
            [
                AuditRecord(
                    tenant,
                    "access",
                    {"action": "read_masked", "n": i, "outcome": "allow" if i % 3 else "deny"},
                    subject=f"s{i % 2}",
                )
            ]
        )
        if (i + 1) % checkpoint_every == 0:
            audit.checkpoint(tenant)


def test_an_export_verifies_offline(audit: AuditLog, tenant: str) -> None:
    fill(audit, tenant, 10)
    export = audit.export(tenant)
    report = verify_export(export, audit.public_jwk(tenant))
    assert report["entries"] == 10
    assert report["checkpoints"] == [4, 8, 10]
    assert len(export["consistency"]) == 2


def test_entries_hold_no_value_in_clear(audit: AuditLog, vault: Vault, tenant: str) -> None:
    vault.tokenize(tenant, "jean@example.fr", category="email", subject="s0")
    fill(audit, tenant, 3)
    assert "jean@example.fr" not in str(audit.export(tenant))


@pytest.fixture
def export_and_key(audit: AuditLog, tenant: str) -> tuple[dict, dict]:
    fill(audit, tenant, 12)
    return audit.export(tenant), audit.public_jwk(tenant)


def _edit(export: dict) -> None:
    export["entries"][5]["body"] = export["entries"][5]["body"].replace('"n":5', '"n":50')


def _edit_and_rehash(export: dict) -> None:
    from tessera.trust.audit import leaf_hash

    entry = export["entries"][5]
    entry["body"] = entry["body"].replace('"n":5', '"n":50')
    entry["leaf_hash"] = leaf_hash(entry["body"].encode()).hex()


def _delete(export: dict) -> None:
    del export["entries"][7]


def _reorder(export: dict) -> None:
    e = export["entries"]
    e[2], e[3] = e[3], e[2]


def _insert(export: dict) -> None:
    export["entries"].insert(4, copy.deepcopy(export["entries"][4]))


def _truncate(export: dict) -> None:
    del export["entries"][-2:]


def _forge_checkpoint(export: dict) -> None:
    signed = export["checkpoints"][-1]["signed"]
    export["checkpoints"][-1]["signed"] = (
        signed[:-6] + ("A" if signed[-6] != "A" else "B") + signed[-5:]
    )


def _drop_checkpoints(export: dict) -> None:
    export["checkpoints"] = []


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_edit, "entry 5 was altered"),
        (_edit_and_rehash, "entry 5 does not link"),
        (_delete, "entry 7 is missing"),
        (_reorder, "entry 2 is missing, inserted or out of order"),
        (_insert, "entry 5 is missing, inserted or out of order"),
        (_truncate, "entries were removed"),
        (_forge_checkpoint, "signature does not verify"),
        (_drop_checkpoints, "no signed checkpoint"),
    ],
)
def test_each_tampering_of_an_export_is_detected(export_and_key, tamper, message) -> None:
    export, key = export_and_key
    tamper(export)
    with pytest.raises(AuditTampered, match=message):
        verify_export(export, key)


def test_another_tenants_key_does_not_verify(
    export_and_key, audit: AuditLog, other_tenant: str
) -> None:
    export, _ = export_and_key
    with pytest.raises(AuditTampered, match="signature"):
        verify_export(export, audit.public_jwk(other_tenant))


def tamper(stores: Stores):
    return bypass_append_only(stores, "audit_entries")


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (
            [
                "UPDATE audit_entries SET body = replace(body, 'read_masked', 'detokenize') "
                "WHERE tenant_id = :t AND seq = 3"
            ],
            "entry 3 was altered",
        ),
        (["DELETE FROM audit_entries WHERE tenant_id = :t AND seq = 6"], "entry 6 is missing"),
        (
            [
                "UPDATE audit_entries SET seq = 1000 WHERE tenant_id = :t AND seq = 2",
                "UPDATE audit_entries SET seq = 2 WHERE tenant_id = :t AND seq = 3",
                "UPDATE audit_entries SET seq = 3 WHERE tenant_id = :t AND seq = 1000",
            ],
            "entry 2 is missing, inserted or out of order",
        ),
        (["DELETE FROM audit_entries WHERE tenant_id = :t AND seq >= 9"], "entries were removed"),
        (
            [
                "INSERT INTO audit_entries (tenant_id, seq, kind, subject_id, request_id, "
                "recorded_at, body, leaf_hash, chain_hash) SELECT tenant_id, 12, kind, "
                "subject_id, NULL, recorded_at, body, leaf_hash, chain_hash FROM audit_entries "
                "WHERE tenant_id = :t "
                "AND seq = 11"
            ],
            "entry 12 is missing, inserted or out of order",
        ),
    ],
)
def test_each_tampering_of_the_database_is_detected(
    audit: AuditLog, tenant: str, shared_stores: Stores, statements, message
) -> None:
    fill(audit, tenant, 12)
    audit.checkpoint(tenant)
    with tamper(shared_stores) as conn:
        for statement in statements:
            conn.execute(text(statement), {"t": tenant})
    with pytest.raises(AuditTampered, match=message):
        audit.verify(tenant)


def test_the_database_refuses_updates_and_deletes(
    audit: AuditLog, tenant: str, shared_stores: Stores
) -> None:
    fill(audit, tenant, 2)
    for statement in (
        "UPDATE audit_entries SET kind = 'x' WHERE tenant_id = :t",
        "DELETE FROM audit_entries WHERE tenant_id = :t",
    ):
        with pytest.raises(DBAPIError, match="append-only"), shared_stores.data.begin() as c:
            c.execute(text(statement), {"t": tenant})
    assert audit.verify(tenant)["entries"] == 2


def test_inclusion_and_consistency_proofs(audit: AuditLog, tenant: str) -> None:
    fill(audit, tenant, 9)
    proof = audit.inclusion_proof(tenant, 4, 9)
    assert verify_inclusion_proof(proof)
    assert not verify_inclusion_proof({**proof, "seq": 5})
    # Asking beyond the log is the client's mistake, not tampering (no false alarm for a DPO).
    for seq, size in ((9, 9), (0, 10), (0, 2**63), (-1, 5)):
        with pytest.raises(NoSuchProof):
            audit.inclusion_proof(tenant, seq, size)
    for first, second in ((0, 5), (6, 5), (1, 10), (2**63, 2**64)):
        with pytest.raises(NoSuchProof):
            audit.consistency_proof(tenant, first, second)
    with pytest.raises(NoSuchProof):
        audit.consistency_proof(tenant + "-empty", 1, 1)
    assert audit.consistency_proof(tenant, 3, 9)["proof"]  # from any size a client holds


def test_a_trusted_checkpoint_catches_a_log_cut_back_or_rewritten_and_signed_again(
    audit: AuditLog, shared_stores: Stores, tenant: str, other_tenant: str
) -> None:
    fill(audit, tenant, 8)
    kept = audit.checkpoint(tenant)  # the DPO downloads it
    fill(audit, tenant, 3, checkpoint_every=100)
    key = audit.public_jwk(tenant)
    assert verify_export(audit.export(tenant), key, trusted=kept)["extends"] == 8
    export = audit.export(tenant)
    # Cut back before the checkpoint the DPO trusts: alone, the shorter export verifies.
    cut = copy.deepcopy(export)
    cut["entries"] = cut["entries"][:4]
    cut["checkpoints"] = [c for c in cut["checkpoints"] if c["size"] <= 4]
    cut["consistency"] = [p for p in cut["consistency"] if p["second"] <= 4]
    assert verify_export(cut, key)["entries"] == 4
    with pytest.raises(AuditTampered, match="covers 8 entries, the log holds 4"):
        verify_export(cut, key, trusted=kept)
    # A checkpoint of another tenant, or a forged one, is refused.
    fill(audit, other_tenant, 2)
    theirs = audit.checkpoint(other_tenant)
    with pytest.raises(AuditTampered):
        verify_export(export, key, trusted=theirs)
    with pytest.raises(AuditTampered, match="not a Tessera checkpoint"):
        verify_export(export, key, trusted={"size": 8, "root": kept["root"]})


def test_a_replayed_request_id_is_refused_and_the_log_stays_whole(
    audit: AuditLog, tenant: str
) -> None:
    audit.record([AuditRecord(tenant, "access", {"n": 1}, request_id="k1:req-1")])
    with pytest.raises(ReplayedRequest):
        audit.record([AuditRecord(tenant, "access", {"n": 2}, request_id="k1:req-1")])
    assert audit.size(tenant) == 1
    assert audit.verify(tenant)["entries"] == 1


def test_concurrent_writers_keep_one_log(shared_stores: Stores, vault: Vault, tenant: str) -> None:
    logs = [AuditLog(shared_stores.data, vault=vault) for _ in range(4)]

    def writer(n: int) -> None:
        for i in range(25):
            logs[n % 4].record([AuditRecord(tenant, "access", {"w": n, "i": i})])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert logs[0].verify(tenant)["entries"] == 200


def test_records_handed_in_on_one_turn_of_the_loop_are_written_together(
    shared_stores: Stores, vault: Vault, tenant: str
) -> None:
    ticks = itertools.count()
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    audit = AuditLog(
        shared_stores.data, vault=vault, clock=lambda: start + dt.timedelta(seconds=next(ticks))
    )

    async def requests() -> list[int]:
        return await asyncio.gather(
            *(audit.record_soon(AuditRecord(tenant, "access", {"n": i})) for i in range(5))
        )

    assert asyncio.run(requests()) == [0, 1, 2, 3, 4]
    entries = audit.export(tenant)["entries"]
    # One transaction: the clock was read once for all five.
    assert {json.loads(e["body"])["at"] for e in entries} == {start.isoformat()}
    assert audit.verify(tenant)["entries"] == 5


def test_a_replay_in_a_batch_fails_alone(audit: AuditLog, tenant: str) -> None:
    async def requests() -> list[int | BaseException]:
        return await asyncio.gather(
            audit.record_soon(AuditRecord(tenant, "access", {"n": 1}, request_id="k:r1")),
            audit.record_soon(AuditRecord(tenant, "access", {"n": 2}, request_id="k:r1")),
            audit.record_soon(AuditRecord(tenant, "access", {"n": 3})),
            return_exceptions=True,
        )

    first, replayed, other = asyncio.run(requests())
    assert (first, other) == (0, 1)
    assert isinstance(replayed, ReplayedRequest)
    assert audit.verify(tenant)["entries"] == 2


def test_a_batch_that_cannot_be_written_fails_closed_for_each(vault: Vault, tenant: str) -> None:
    broken = AuditLog(Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"), vault=vault)

    async def requests() -> list[int | BaseException]:
        return await asyncio.gather(
            *(broken.record_soon(AuditRecord(tenant, "access", {"n": i})) for i in range(3)),
            return_exceptions=True,
        )

    outcomes = asyncio.run(requests())
    assert all(isinstance(o, AuditUnavailable) for o in outcomes)
    assert all("nothing was released" in str(o) for o in outcomes)


def _forge_append(stores: Stores, tenant: str, facts: dict) -> int:
    """What a database writer can do without the key provider: append an entry whose leaf and
    chain hashes are exactly right, and move the head to it."""
    import json as _json

    from sqlalchemy import text

    from tessera.trust.audit._merkle import leaf_hash
    from tessera.trust.audit._verify import chain_hash

    with stores.data.engine.begin() as conn:
        head = conn.execute(
            text("SELECT size, chain_hash FROM audit_heads WHERE tenant_id = :t"), {"t": tenant}
        ).one()
        body = _json.dumps(
            {
                **facts,
                "v": 1,
                "tenant": tenant,
                "seq": head.size,
                "kind": "access",
                "at": "2026-12-01T10:00:00+00:00",
                "subject": "s0",
                "request_id": None,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        leaf = leaf_hash(body).hex()
        chain = chain_hash(head.chain_hash, leaf)
        conn.execute(
            text(
                "INSERT INTO audit_entries (tenant_id, seq, kind, subject_id, request_id, "
                "recorded_at, body, leaf_hash, chain_hash) VALUES (:t, :s, 'access', 's0', NULL, "
                ":at, :b, :l, :c)"
            ),
            {
                "t": tenant,
                "s": head.size,
                "at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                "b": body.decode(),
                "l": leaf,
                "c": chain,
            },
        )
        conn.execute(
            text("UPDATE audit_heads SET size = :n, chain_hash = :c WHERE tenant_id = :t"),
            {"n": head.size + 1, "c": chain, "t": tenant},
        )
    return int(head.size)


def test_an_entry_a_database_writer_appends_is_never_signed(
    audit: AuditLog, shared_stores: Stores, tenant: str
) -> None:
    fill(audit, tenant, 5)
    seq = _forge_append(shared_stores, tenant, {"action": "detokenize", "outcome": "allow"})
    for attempt in (
        lambda: audit.checkpoint(tenant),
        lambda: audit.export(tenant),
        lambda: audit.verify(tenant),
    ):
        with pytest.raises(AuditTampered, match=f"entry {seq} was not written by this service"):
            attempt()
    assert audit.latest_checkpoint(tenant)["size"] == 4  # the last honest checkpoint stands


def test_a_rewritten_history_with_recomputed_hashes_is_noticed(
    audit: AuditLog, shared_stores: Stores, tenant: str
) -> None:
    """Rewrite an entry and recompute every leaf and link after it: the chain is valid again,
    the seals are not."""
    from sqlalchemy import text

    from tessera.trust.audit._merkle import leaf_hash
    from tessera.trust.audit._verify import GENESIS, chain_hash

    fill(audit, tenant, 6, checkpoint_every=100)
    with tamper(shared_stores) as conn:
        rows = conn.execute(
            text("SELECT seq, body FROM audit_entries WHERE tenant_id = :t ORDER BY seq"),
            {"t": tenant},
        ).all()
        chain = GENESIS
        for row in rows:
            body = row.body.replace("deny", "allow") if row.seq == 3 else row.body
            leaf = leaf_hash(body.encode()).hex()
            chain = chain_hash(chain, leaf)
            conn.execute(
                text(
                    "UPDATE audit_entries SET body = :b, leaf_hash = :l, chain_hash = :c "
                    "WHERE tenant_id = :t AND seq = :s"
                ),
                {"b": body, "l": leaf, "c": chain, "t": tenant, "s": row.seq},
            )
        conn.execute(
            text("UPDATE audit_heads SET chain_hash = :c WHERE tenant_id = :t"),
            {"c": chain, "t": tenant},
        )
    with pytest.raises(AuditTampered, match="entry 3 was not written by this service"):
        audit.checkpoint(tenant)


def test_an_append_in_a_callers_transaction_that_fails_is_unavailable_not_a_500(
    audit: AuditLog, shared_stores: Stores, tenant: str
) -> None:
    conn = shared_stores.data.engine.connect()
    conn.close()  # the consent ledger's transaction, gone
    with pytest.raises(AuditUnavailable, match="nothing was released"):
        audit.append_in(conn, tenant, [AuditRecord(tenant, "consent", {"n": 1})])
