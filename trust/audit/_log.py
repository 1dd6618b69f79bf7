"""The audit log: every access decision and consent event, hash-chained, with signed Merkle
checkpoints (RFC 9162) that a DPO verifies offline.

Entries hold tokens, categories, ids and outcomes, never a value in clear. Appends go through
group commit; each group locks the tenant's head. A checkpoint signs (Ed25519, JWS) the tree
size and root; consistency proofs show that each checkpoint extends the previous one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.jwk import OKPKey
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from tessera.consent import canonical, signing_jwk, tenant_signing_key
from tessera.metrics import AUDIT_APPEND_SECONDS, AUDIT_LAST_CHECKPOINT, DECISIONS
from tessera.storage import (
    Database,
    GroupCommit,
    HotStatement,
    as_utc,
    table_of,
    utcnow,
    write_by_tenant,
)
from tessera.trust._errors import AuditTampered, AuditUnavailable, NoSuchProof, ReplayedRequest
from tessera.vault import KeyProviderError, Vault

from ._merkle import MerkleTree, leaf_hash
from ._search import (
    AccessQuery,
    check_columns,
    daily_outcomes,
    refusals_by_policy,
    search_accesses,
    search_columns,
)
from ._tables import AuditCheckpoint, AuditEntryRow, AuditHead
from ._verify import (
    ALG,
    CHECKPOINT_TYPE,
    EXPORT_FORMAT,
    GENESIS,
    chain_hash,
    check_entries,
    check_entry,
    check_roots,
    check_seals,
    decode_checkpoint,
    seal,
    verify_export,
)

__all__ = ["AuditLog", "AuditRecord", "SubjectEntry"]

_log = logging.getLogger("tessera.audit")

_ENTRIES = table_of(AuditEntryRow)
_HEADS = table_of(AuditHead)
_CHECKPOINTS = table_of(AuditCheckpoint)
# The three statements of every append, run on the driver's cursor.
_LOCK_HEAD = HotStatement(
    update(_HEADS)
    .where(_HEADS.c.tenant_id == bindparam("tenant"))
    .values(size=_HEADS.c.size)
    .returning(_HEADS.c.size, _HEADS.c.chain_hash)
)
_INSERT_ENTRIES = HotStatement(
    insert(_ENTRIES).values({c.key: bindparam(c.key) for c in _ENTRIES.columns})
)
_MOVE_HEAD = HotStatement(
    update(_HEADS)
    .where(_HEADS.c.tenant_id == bindparam("tenant"))
    .values(size=bindparam("new_size"), chain_hash=bindparam("new_chain"))
)
EXPORT_LINES_FORMAT = "tessera-audit-lines/1"


@dataclass(frozen=True, slots=True)
class SubjectEntry:
    """An entry about one subject, as their history shows it."""

    seq: int
    recorded_at: dt.datetime
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What to record; `subject` and `request_id` are indexed, the rest lives in `facts`."""

    tenant: str
    kind: str  # "access", "consent", "auth" or "payment"
    facts: dict[str, Any]
    subject: str = ""
    request_id: str | None = None


def _unavailable(exc: BaseException) -> BaseException:
    """Fail closed, and say so without leaking internals (a replay is said as such, and so is
    a key provider that cannot give the tenant's audit key: the operator must act on it)."""
    if isinstance(exc, ReplayedRequest | AuditUnavailable | KeyProviderError):
        return exc
    error = AuditUnavailable(
        f"the audit record could not be written ({type(exc).__name__}): nothing was released"
    )
    error.__cause__ = exc
    return error


def _encode(facts: dict[str, Any]) -> bytes:
    """Deterministic JSON. The log hashes the bytes it stores and verifiers hash the same
    bytes, never a re-encoding, so the C encoder serves (JCS is for receipts' signatures)."""
    return json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _search_columns(record: AuditRecord) -> dict[str, str | None]:
    return search_columns(record.kind, record.facts)


class AuditLog:
    def __init__(
        self, db: Database, *, vault: Vault, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.db = db
        self.vault = vault
        self.clock = clock
        self._commits: GroupCommit[AuditRecord, int] = GroupCommit(self._write_group, name="audit")
        self._soon: dict[
            asyncio.AbstractEventLoop, list[tuple[AuditRecord, asyncio.Future[int]]]
        ] = {}

    # ------------------------------------------------------------------ appends
    def record(self, records: Sequence[AuditRecord]) -> list[int]:
        """Append; returns each entry's seq. Raises `AuditUnavailable` or `ReplayedRequest`."""
        try:
            return self._commits.submit(list(records))
        except (ReplayedRequest, AuditUnavailable):
            raise
        except Exception as exc:
            raise _unavailable(exc) from exc

    async def record_soon(self, record: AuditRecord) -> int:
        """Append from an event loop: the records the loop's requests hand in before it next
        comes round are written together, then each request resumes with its seq."""
        loop = asyncio.get_running_loop()
        waiting = loop.create_future()
        batch = self._soon.setdefault(loop, [])
        batch.append((record, waiting))
        if len(batch) == 1:
            loop.call_soon(self._write_soon, loop)
        return int(await waiting)

    def _write_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._soon.pop(loop, [])
        try:
            outcomes = self._commits.submit_each([record for record, _ in batch])
        except Exception as exc:  # pragma: no cover - submit_each reports errors per item
            outcomes = [exc] * len(batch)
        for (_, waiting), outcome in zip(batch, outcomes, strict=True):
            if waiting.done():  # the request went away; its record stays written
                continue
            if isinstance(outcome, BaseException):
                waiting.set_exception(_unavailable(outcome))
            else:
                waiting.set_result(outcome)

    def append_in(self, conn: Any, tenant: str, records: list[AuditRecord]) -> list[int]:
        """Append inside the caller's transaction (consent events: both written, or neither);
        an append that fails is `AuditUnavailable` (503), and the caller's write goes with it."""
        started = time.perf_counter()
        try:
            outcomes = self._append(conn, tenant, records)
        except Exception as exc:
            raise _unavailable(exc) from exc
        AUDIT_APPEND_SECONDS.observe(time.perf_counter() - started)
        _count(records)
        seqs = []
        for r in records:
            outcome = outcomes[id(r)]
            if isinstance(outcome, BaseException):
                raise outcome
            seqs.append(int(outcome))
        return seqs

    def _write_group(self, group: list[AuditRecord]) -> list[int | BaseException]:
        started = time.perf_counter()
        outcomes = write_by_tenant(self.db, group, self._append, tenant_of=lambda r: r.tenant)
        AUDIT_APPEND_SECONDS.observe(time.perf_counter() - started)
        _count(
            [r for r, o in zip(group, outcomes, strict=True) if not isinstance(o, BaseException)]
        )
        return outcomes

    def _append(
        self, conn: Any, tenant: str, records: list[AuditRecord]
    ) -> dict[int, int | BaseException]:
        head = _LOCK_HEAD.first(conn, {"tenant": tenant})
        if head is None:
            conn.execute(insert(_HEADS).values(tenant_id=tenant, size=0, chain_hash=GENESIS))
            size, chain = 0, GENESIS
        else:
            size, chain = int(head.size), str(head.chain_hash)
        ids = [r.request_id for r in records if r.request_id]
        seen = set()
        if ids:
            seen = {
                row.request_id
                for row in conn.execute(
                    select(_ENTRIES.c.request_id).where(
                        _ENTRIES.c.tenant_id == tenant, _ENTRIES.c.request_id.in_(ids)
                    )
                )
            }
        outcomes: dict[int, int | BaseException] = {}
        rows = []
        now = self.clock()
        key = self._seal_key(tenant)
        for record in records:
            if record.request_id and record.request_id in seen:
                outcomes[id(record)] = ReplayedRequest(
                    "this request id was already used: a replayed request is refused"
                )
                continue
            if record.request_id:
                seen.add(record.request_id)
            body = _encode(
                {
                    **record.facts,  # the envelope below always wins: a fact cannot move it
                    "v": 1,
                    "tenant": tenant,
                    "seq": size,
                    "kind": record.kind,
                    "at": now.isoformat(),
                    "subject": record.subject,
                    "request_id": record.request_id,
                }
            )
            leaf = leaf_hash(body).hex()
            chain = chain_hash(chain, leaf)
            rows.append(
                dict(
                    tenant_id=tenant,
                    seq=size,
                    kind=record.kind,
                    subject_id=record.subject,
                    request_id=record.request_id,
                    recorded_at=now,
                    body=body.decode("utf-8"),
                    leaf_hash=leaf,
                    chain_hash=chain,
                    mac=seal(key, chain),
                    **_search_columns(record),
                )
            )
            outcomes[id(record)] = size
            size += 1
        if rows:
            _INSERT_ENTRIES.execute_many(conn, rows)
            _MOVE_HEAD.execute(conn, {"tenant": tenant, "new_size": size, "new_chain": chain})
        return outcomes

    # ------------------------------------------------------------------ reading
    def size(self, tenant: str) -> int:
        with self.db.read() as conn:
            head = conn.execute(select(_HEADS.c.size).where(_HEADS.c.tenant_id == tenant)).first()
        return int(head.size) if head else 0

    def _rows(
        self, tenant: str, *, below: int | None = None, page: int = 20_000, after: int = -1
    ) -> Iterator[Any]:
        while True:
            query = (
                select(_ENTRIES)
                .where(_ENTRIES.c.tenant_id == tenant, _ENTRIES.c.seq > after)
                .order_by(_ENTRIES.c.seq)
                .limit(page)
            )
            if below is not None:
                query = query.where(_ENTRIES.c.seq < below)
            with self.db.read() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            yield from rows
            after = rows[-1].seq

    def for_subject(self, tenant: str, subject: str) -> list[dict[str, Any]]:
        """Who accessed this subject's data, when, for which purpose, under which policy; each
        entry checked as the service wrote it (a forged one is refused, never exported)."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    _ENTRIES.c.seq,
                    _ENTRIES.c.body,
                    _ENTRIES.c.leaf_hash,
                    _ENTRIES.c.chain_hash,
                    _ENTRIES.c.mac,
                )
                .where(
                    _ENTRIES.c.tenant_id == tenant,
                    _ENTRIES.c.subject_id == subject,
                    _ENTRIES.c.kind.in_(("access", "dsr")),
                )
                .order_by(_ENTRIES.c.seq)
            ).all()
        self.check_shown(tenant, list(rows), subject=subject)
        return [json.loads(r.body) for r in rows]

    def subject_page(
        self,
        tenant: str,
        subject: str,
        *,
        before: int | None = None,
        since: dt.datetime | None = None,
        purpose: str | None = None,
        limit: int = 25,
    ) -> tuple[list[SubjectEntry], int | None]:
        """One page of `for_subject`, newest first: the entries below `before` (a seq), since a
        time, for one purpose; and the cursor of the next, older page (None at the end)."""
        found: list[SubjectEntry] = []
        shown: list[Any] = []
        batch = limit + 1 if purpose is None else 200  # a filter reads further to fill a page
        cursor = before
        while len(found) <= limit:
            query = (
                select(
                    _ENTRIES.c.seq,
                    _ENTRIES.c.recorded_at,
                    _ENTRIES.c.body,
                    _ENTRIES.c.leaf_hash,
                    _ENTRIES.c.chain_hash,
                    _ENTRIES.c.mac,
                )
                .where(
                    _ENTRIES.c.tenant_id == tenant,
                    _ENTRIES.c.subject_id == subject,
                    _ENTRIES.c.kind.in_(("access", "dsr")),
                )
                .order_by(_ENTRIES.c.seq.desc())
                .limit(batch)
            )
            if cursor is not None:
                query = query.where(_ENTRIES.c.seq < cursor)
            if since is not None:
                query = query.where(_ENTRIES.c.recorded_at >= since)
            with self.db.read() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                body = json.loads(row.body)
                if purpose is None or body.get("purpose") == purpose:
                    found.append(SubjectEntry(int(row.seq), as_utc(row.recorded_at), body))
                    shown.append(row)
            if len(rows) < batch:
                break
            cursor = int(rows[-1].seq)
        self.check_shown(tenant, shown[:limit], subject=subject)
        if len(found) > limit:
            return found[:limit], found[limit - 1].seq
        return found, None

    def check_shown(self, tenant: str, rows: list[Any], *, subject: str | None = None) -> None:
        """What a customer or the console is shown is checked entry by entry: its body hashes
        to its leaf, the leaf links from the entry before it, the link carries the service's
        seal, and the body names this tenant, seq and (for a customer) subject. An entry a
        database writer added, rewrote or moved to another customer is refused
        (`AuditTampered`), never shown as history."""
        if not rows:
            return
        wanted = sorted({int(r.seq) - 1 for r in rows if r.seq > 0})
        before: dict[int, str] = {}
        for start in range(0, len(wanted), 500):
            with self.db.read() as conn:
                before.update(
                    (int(r.seq), str(r.chain_hash))
                    for r in conn.execute(
                        select(_ENTRIES.c.seq, _ENTRIES.c.chain_hash).where(
                            _ENTRIES.c.tenant_id == tenant,
                            _ENTRIES.c.seq.in_(wanted[start : start + 500]),
                        )
                    )
                )
        for row in rows:
            seq = int(row.seq)
            prev = GENESIS if seq == 0 else before.get(seq - 1)
            if prev is None:
                raise AuditTampered(f"the entry before entry {seq} is missing", seq=seq)
            _, _, facts = check_entry(
                seq, seq, row.body, row.leaf_hash, row.chain_hash, prev, tenant
            )
            if subject is not None and facts.get("subject") != subject:
                raise AuditTampered(f"entry {seq} is about another subject", seq=seq)
        check_seals(((int(r.seq), r.chain_hash, r.mac) for r in rows), self._seal_key(tenant))

    def search(self, tenant: str, query: AccessQuery) -> tuple[list[SubjectEntry], int | None]:
        """A page of accesses, decisions and oversight for the console (`AccessQuery`), each
        entry checked where it lies; and the cursor of the next, older page."""
        return search_accesses(self, tenant, query)

    def daily_outcomes(self, tenant: str, since: dt.datetime) -> list[tuple[str, str, str, int]]:
        """(day, action, outcome, decisions) since a moment: what the charts draw."""
        return daily_outcomes(self, tenant, since)

    def refusals_by_policy(self, tenant: str, since: dt.datetime) -> dict[str, int]:
        return refusals_by_policy(self, tenant, since)

    def observed_accesses(
        self, tenant: str, *, since: dt.datetime, until: dt.datetime
    ) -> dict[tuple[str, str, str, tuple[str, ...]], int]:
        """Allowed accesses over a period, counted by (purpose, caller kind, action, categories):
        the recipients actually observed, for the record of processing."""
        counts: dict[tuple[str, str, str, tuple[str, ...]], int] = {}
        after = -1
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(_ENTRIES.c.seq, _ENTRIES.c.body)
                    .where(
                        _ENTRIES.c.tenant_id == tenant,
                        _ENTRIES.c.kind == "access",
                        _ENTRIES.c.recorded_at >= since,
                        _ENTRIES.c.recorded_at <= until,
                        _ENTRIES.c.seq > after,
                    )
                    .order_by(_ENTRIES.c.seq)
                    .limit(10_000)
                ).all()
            for row in rows:
                body = json.loads(row.body)
                if body.get("outcome") != "allow":
                    continue
                key = (
                    str(body.get("purpose", "")),
                    str(body.get("caller_kind", "service")),
                    str(body.get("action", "")),
                    tuple(sorted(str(c) for c in body.get("categories", []))),
                )
                counts[key] = counts.get(key, 0) + 1
            if len(rows) < 10_000:
                return counts
            after = int(rows[-1].seq)

    def security_events(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's security events (keys, tenants, webhooks, rotations, policy loads)."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(_ENTRIES.c.body)
                .where(_ENTRIES.c.tenant_id == tenant, _ENTRIES.c.kind == "security")
                .order_by(_ENTRIES.c.seq)
            ).all()
        return [json.loads(r.body) for r in rows]

    def _seal_key(self, tenant: str) -> bytes:
        """The tenant's audit key, from the vault (wrapped under the key provider's KEK)."""
        return self.vault.tenant_secret(tenant, "audit-seal")

    # ------------------------------------------------------------------ checkpoints
    def _key(self, tenant: str) -> OKPKey:
        return tenant_signing_key(self.vault, tenant, "audit")

    def public_jwk(self, tenant: str) -> dict[str, Any]:
        return signing_jwk(self._key(tenant))

    def _tree(self, tenant: str, size: int | None = None) -> tuple[MerkleTree, list[Any]]:
        """The log's tree, after checking every entry and every signed root it must extend:
        a tampered log is reported, never signed."""
        rows = list(self._rows(tenant, below=size))
        leaves = check_entries(((r.seq, r.body, r.leaf_hash, r.chain_hash) for r in rows), tenant)
        check_seals(((r.seq, r.chain_hash, r.mac) for r in rows), self._seal_key(tenant))
        tree = MerkleTree(leaves)
        if size is None:
            check_roots(
                tree, {c["size"]: bytes.fromhex(c["root"]) for c in self.checkpoints(tenant)}
            )
        return tree, rows

    def checkpoint(self, tenant: str) -> dict[str, Any]:
        """Sign the current tree head (size, root); returns it. Idempotent for a size."""
        return self._sign(tenant, self._tree(tenant)[0])

    def _sign(self, tenant: str, tree: MerkleTree) -> dict[str, Any]:
        """Sign a tree that `_tree` has just checked, unless its size is signed already."""
        latest = self.latest_checkpoint(tenant)
        if latest and latest["size"] == tree.size:
            return latest
        key = self._key(tenant)
        now = self.clock()
        statement = {
            "tenant": tenant,
            "size": tree.size,
            "root": tree.root().hex(),
            "at": now.isoformat(),
        }
        signed = jws.serialize_compact(
            {"alg": ALG, "typ": CHECKPOINT_TYPE, "kid": key.thumbprint()},
            canonical(statement),
            key,
            algorithms=[ALG],
        )
        try:
            with self.db.begin() as conn:
                conn.execute(
                    insert(_CHECKPOINTS).values(
                        tenant_id=tenant,
                        size=tree.size,
                        root_hash=statement["root"],
                        signed=signed,
                        created_at=now,
                    )
                )
        except IntegrityError:  # another process signed this size meanwhile
            return self.latest_checkpoint(tenant) or {}
        AUDIT_LAST_CHECKPOINT.set(now.timestamp())
        return {"size": tree.size, "root": statement["root"], "signed": signed}

    def checkpoint_all(self) -> list[dict[str, Any]]:
        """Sign a checkpoint for every tenant whose log grew since its last one. A tenant whose
        log does not verify is reported (and left unsigned); the others are still signed."""
        latest = (
            select(_CHECKPOINTS.c.tenant_id, func.max(_CHECKPOINTS.c.size).label("size"))
            .group_by(_CHECKPOINTS.c.tenant_id)
            .subquery()
        )
        with self.db.read() as conn:
            tenants = [
                row.tenant_id
                for row in conn.execute(
                    select(_HEADS.c.tenant_id)
                    .select_from(_HEADS.outerjoin(latest, latest.c.tenant_id == _HEADS.c.tenant_id))
                    .where(or_(latest.c.size.is_(None), latest.c.size < _HEADS.c.size))
                )
            ]
        signed = []
        for tenant in tenants:
            try:
                signed.append(self.checkpoint(tenant))
            except AuditTampered as exc:
                _log.error("audit log of tenant %s does not verify: %s", tenant, exc.detail)
        return signed

    def checkpoints(self, tenant: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(_CHECKPOINTS)
                .where(_CHECKPOINTS.c.tenant_id == tenant)
                .order_by(_CHECKPOINTS.c.size)
            ).all()
        return [{"size": r.size, "root": r.root_hash, "signed": r.signed} for r in rows]

    def latest_checkpoint(self, tenant: str) -> dict[str, Any] | None:
        found = self.checkpoints(tenant)
        return found[-1] if found else None

    def _within(self, tenant: str, *sizes: int) -> None:
        """A proof is asked of sizes the log holds: beyond them is a client's mistake, not
        tampering."""
        held = self.size(tenant)
        for size in sizes:
            if not 0 <= size <= held:
                raise NoSuchProof(f"the log holds {held} entries: there is no tree of {size}")

    def inclusion_proof(self, tenant: str, seq: int, size: int) -> dict[str, Any]:
        self._within(tenant, size)
        if not 0 <= seq < size:
            raise NoSuchProof(f"no entry {seq} in a tree of {size}")
        tree, rows = self._tree(tenant, size)
        if tree.size != size:
            raise AuditTampered(f"the log does not hold the {size} entries its head says")
        return {
            "seq": seq,
            "size": size,
            "leaf_hash": rows[seq].leaf_hash,
            "proof": [p.hex() for p in tree.inclusion_proof(seq, size)],
            "root": tree.root(size).hex(),
        }

    def consistency_proof(self, tenant: str, first: int, second: int) -> dict[str, Any]:
        """From any size a client holds (a checkpoint it kept) to a later one."""
        self._within(tenant, first, second)
        if not 0 < first <= second:
            raise NoSuchProof(f"no consistency proof from {first} to {second}")
        tree, _ = self._tree(tenant, second)
        if tree.size != second:
            raise AuditTampered(f"the log does not hold the {second} entries its head says")
        return {
            "first": first,
            "second": second,
            "proof": [p.hex() for p in tree.consistency_proof(first, second)],
        }

    # ------------------------------------------------------------------ export and verify
    def export(
        self, tenant: str, *, on_progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Any]:
        """The log up to a fresh checkpoint, every earlier checkpoint, and the proofs that
        each checkpoint extends the one before it."""
        tree, rows = self._tree(tenant)  # read and checked once, then signed
        self._sign(tenant, tree)
        checkpoints = [c for c in self.checkpoints(tenant) if c["size"] <= tree.size]
        consistency = []
        for older, newer in itertools.pairwise(checkpoints):
            if older["size"] > 0:
                consistency.append(
                    {
                        "first": older["size"],
                        "second": newer["size"],
                        "proof": [
                            p.hex() for p in tree.consistency_proof(older["size"], newer["size"])
                        ],
                    }
                )
        entries = []
        for i, r in enumerate(rows):
            entries.append(
                {"seq": r.seq, "body": r.body, "leaf_hash": r.leaf_hash, "chain_hash": r.chain_hash}
            )
            if on_progress and (i + 1) % 10_000 == 0:
                on_progress(i + 1, len(rows))
        if on_progress:
            on_progress(len(rows), len(rows))
        return {
            "format": EXPORT_FORMAT,
            "tenant": tenant,
            "entries": entries,
            "checkpoints": checkpoints,
            "consistency": consistency,
        }

    def export_lines(
        self, tenant: str, *, after: int = 0, upto: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The log from entry `after + 1` to `upto`, one object at a time, read a page per
        short read (bounded memory on any size of log): a header with the chain hash the range
        starts from, each entry as `export` writes it, then the signed checkpoints. A range from
        the start, up to a checkpoint's size, verifies offline as the whole export does."""
        size = self.size(tenant)
        if after > size:
            raise NoSuchProof(f"the log has no entry {after}")
        last = size if upto is None else min(upto, size)  # past the end: up to the end
        previous = GENESIS
        if after > 0:
            with self.db.read() as conn:
                found = conn.execute(
                    select(_ENTRIES.c.chain_hash).where(
                        _ENTRIES.c.tenant_id == tenant, _ENTRIES.c.seq == after
                    )
                ).first()
            if found is None:
                raise NoSuchProof(f"the log has no entry {after}")
            previous = str(found.chain_hash)
        yield {
            "format": EXPORT_LINES_FORMAT,
            "tenant": tenant,
            "after": after,
            "upto": upto,
            "previous_chain_hash": previous,
        }
        count = 0
        for r in self._rows(tenant, below=last + 1, after=after, page=5000):
            count += 1
            yield {
                "seq": r.seq,
                "body": r.body,
                "leaf_hash": r.leaf_hash,
                "chain_hash": r.chain_hash,
            }
        yield {"end": True, "entries": count, "checkpoints": self.checkpoints(tenant)}

    def verify(self, tenant: str, *, trusted: dict[str, Any] | None = None) -> dict[str, Any]:
        """Check the stored log as a DPO would check an export (signatures included), against
        a checkpoint they kept if given; the report names the last checkpoint and its time."""
        export = self.export(tenant)
        report = verify_export(export, self.public_jwk(tenant), trusted=trusted)
        for row in self._rows(tenant):  # the search columns say what the hashed body says
            check_columns(row)
        last = export["checkpoints"][-1]
        statement = decode_checkpoint(last["signed"], self._key(tenant))
        return {**report, "checkpoint": {"size": last["size"], "at": statement.get("at")}}


def _count(records: Sequence[AuditRecord]) -> None:
    """Decisions written, for `/metrics`: by action, outcome and the first deciding policy."""
    for r in records:
        outcome = r.facts.get("outcome")
        if outcome is not None:
            policies = r.facts.get("policies") or ("none",)
            DECISIONS.labels(str(r.facts.get("action", "")), str(outcome), str(policies[0])).inc()
