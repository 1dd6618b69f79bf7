"""The consent ledger: validated, idempotent, hash-chained appends with group commit.

Writers queue their events; whichever writer finds no append under way becomes the leader and
writes everything queued, up to `max_group` events, in one transaction that locks the tenant's
chain head (`SELECT … FOR UPDATE` on PostgreSQL; the write lock on SQLite). The chain stays
linear whatever the number of writers or processes; grouping is what keeps it fast.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from tessera.metrics import CONSENT_APPENDS
from tessera.storage import (
    Database,
    GroupCommit,
    HotStatement,
    table_of,
    utcnow,
    write_by_tenant,
)
from tessera.vault import InvalidValue, Vault, check_subject, check_tenant

from ._catalogue import Catalogue
from ._chain import (
    GENESIS,
    SEAL_KEY,
    ChainReport,
    ChainRow,
    canonical,
    link,
    seal,
    seal_matches,
    state_seal,
    verify_chain,
)
from ._errors import ChainBroken, IdempotencyConflict, InvalidEvent
from ._evidence import EVIDENCE_FIELDS, missing_evidence
from ._model import (
    Channel,
    ConsentDecision,
    ConsentEvent,
    EventKind,
    EventRef,
)
from ._projection import (
    decide,
    latest_per_subject_and_purpose,
    ref_of,
    sealed_fields,
    state_row,
)
from ._search import ConsentQuery, daily_counts, every_event, search_events
from ._tables import ChainHead, ConsentEventRow, ConsentState, SubjectRestriction

__all__ = ["ConsentLedger", "ConsentObserver", "ConsentRequest"]


class ConsentObserver(Protocol):
    """Told of every newly recorded event inside the transaction that records it (the audit
    trail in `trust`), so that both are written, or neither."""

    def consent_recorded(
        self, conn: Connection, tenant: str, events: list[ConsentEvent]
    ) -> None: ...


_MAX_EVIDENCE_VALUE = 256
_MAX_EVIDENCE_BYTES = 2048
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_RETRIES = 8

_EVENTS = table_of(ConsentEventRow)
_HEADS = table_of(ChainHead)
_STATE = table_of(ConsentState)
_RESTRICTIONS = table_of(SubjectRestriction)


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """A choice to record, as a channel reports it."""

    subject: str
    purpose: str
    kind: EventKind | str
    channel: Channel | str
    evidence: Mapping[str, str] = field(default_factory=dict)
    notice_version: int | None = None
    occurred_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    idempotency_key: str | None = None


def _parse_enum(enum_type: Any, value: Any, what: str) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum_type)
        raise InvalidEvent(
            f"unknown {what} {str(value)[:40]!r}; expected one of: {allowed}"
        ) from None


def _same_choice(a: ConsentEvent, b: ConsentEvent) -> bool:
    return (a.subject, a.purpose, a.kind, a.channel, a.evidence) == (
        b.subject,
        b.purpose,
        b.kind,
        b.channel,
        b.evidence,
    )


def event_from_row(row: Any) -> ConsentEvent:
    body = json.loads(row.body)
    return ConsentEvent(
        tenant=body["tenant"],
        seq=body["seq"],
        subject=body["subject"],
        purpose=body["purpose"],
        kind=EventKind(body["kind"]),
        channel=Channel(body["channel"]),
        notice_version=body["notice_version"],
        evidence=body["evidence"],
        occurred_at=_time(body["occurred_at"]),
        recorded_at=_time(body["recorded_at"]),
        expires_at=_time(body["expires_at"]) if body["expires_at"] else None,
        idempotency_key=body["idempotency_key"],
        prev_hash=row.prev_hash,
        hash=row.hash,
        mac=getattr(row, "mac", None),
    )


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise InvalidEvent("times must carry a time zone (e.g. 2026-11-23T10:00:00Z)")
    return moment.astimezone(dt.UTC) if moment else None


class ConsentLedger:
    def __init__(
        self,
        db: Database,
        catalogue: Catalogue,
        *,
        vault: Vault,
        clock: Callable[[], dt.datetime] = utcnow,
        max_group: int = 256,
        clock_skew: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        self.db = db
        self.catalogue = catalogue
        self.vault = vault
        self.clock = clock
        self.max_group = max_group
        self.clock_skew = clock_skew
        self.observer: ConsentObserver | None = None
        self._commits: GroupCommit[ConsentEvent, ConsentEvent] = GroupCommit(
            self._write_group, max_group=max_group, name="consent"
        )
        # Replace a state row only with an event that happened later (ledger order on ties).
        self._upsert_state = db.upsert(
            _STATE,
            key=["tenant_id", "subject_id", "purpose_id"],
            update=[
                "seq",
                "event_hash",
                "kind",
                "channel",
                "notice_version",
                "occurred_at",
                "expires_at",
                "mac",
            ],
            where=lambda new: or_(
                new.occurred_at > _STATE.c.occurred_at,
                and_(new.occurred_at == _STATE.c.occurred_at, new.seq > _STATE.c.seq),
            ),
        )
        # "May we?" in one round trip, one row always: the purpose's state (or nulls) and the
        # subject's restriction (or null), outer-joined to a one-row anchor. Every access asks.
        anchor = select(
            bindparam("tenant", type_=String).label("tenant_id"),
            bindparam("subject", type_=String).label("subject_id"),
        ).subquery("asked")
        self._may_we_query = HotStatement(
            select(
                _RESTRICTIONS.c.restricted_at,
                _STATE.c.seq,
                _STATE.c.event_hash,
                _STATE.c.kind,
                _STATE.c.channel,
                _STATE.c.notice_version,
                _STATE.c.occurred_at,
                _STATE.c.expires_at,
                _STATE.c.mac,
                # Events without a state row mean the row was deleted: noticed, not "no choice".
                exists()
                .where(
                    _EVENTS.c.tenant_id == anchor.c.tenant_id,
                    _EVENTS.c.subject_id == anchor.c.subject_id,
                    _EVENTS.c.purpose_id == bindparam("purpose"),
                )
                .label("has_events"),
            ).select_from(
                anchor.outerjoin(
                    _STATE,
                    and_(
                        _STATE.c.tenant_id == anchor.c.tenant_id,
                        _STATE.c.subject_id == anchor.c.subject_id,
                        _STATE.c.purpose_id == bindparam("purpose"),
                    ),
                ).outerjoin(
                    _RESTRICTIONS,
                    and_(
                        _RESTRICTIONS.c.tenant_id == anchor.c.tenant_id,
                        _RESTRICTIONS.c.subject_id == anchor.c.subject_id,
                    ),
                )
            )
        )

    # ------------------------------------------------------------------ validation
    def _prepare(self, tenant: str, request: ConsentRequest) -> ConsentEvent:
        try:
            check_tenant(tenant)
            subject = check_subject(request.subject)
        except InvalidValue as exc:
            raise InvalidEvent(exc.detail) from None
        if not subject:
            raise InvalidEvent("subject is required")
        purpose = self.catalogue.get(tenant, request.purpose)
        kind = _parse_enum(EventKind, request.kind, "event kind")
        channel = _parse_enum(Channel, request.channel, "channel")
        now = self.clock()
        occurred_at = _aware(request.occurred_at) or now
        if occurred_at > now + self.clock_skew:
            raise InvalidEvent("the event is dated in the future")
        notice_version = request.notice_version or purpose.notice_version
        if (
            not isinstance(notice_version, int)
            or isinstance(notice_version, bool)
            or not 1 <= notice_version <= purpose.notice_version
        ):
            raise InvalidEvent(f"notice version must be between 1 and {purpose.notice_version}")
        expires_at = _aware(request.expires_at)
        if expires_at is not None and kind is not EventKind.GIVEN:
            raise InvalidEvent("only a given consent can carry an expiry")
        if kind is EventKind.GIVEN and expires_at is None and purpose.consent_validity_days:
            expires_at = occurred_at + dt.timedelta(days=purpose.consent_validity_days)
        if expires_at is not None and expires_at <= occurred_at:
            raise InvalidEvent("a consent must expire after it was given")
        evidence = self._evidence(
            request.evidence, self.catalogue.controller(tenant).evidence_fields
        )
        missing = missing_evidence(channel, evidence)
        if missing:
            raise InvalidEvent(
                f"a consent on {channel.value} needs its evidence: {'; '.join(missing)}"
            )
        key = request.idempotency_key
        if key is not None and (not isinstance(key, str) or not _IDEMPOTENCY_KEY.match(key)):
            raise InvalidEvent("idempotency key must be 1-128 characters of A-Z a-z 0-9 _ . : -")
        return ConsentEvent(
            tenant=tenant,
            seq=0,
            subject=subject,
            purpose=purpose.id,
            kind=kind,
            channel=channel,
            notice_version=notice_version,
            occurred_at=occurred_at,
            recorded_at=now,
            expires_at=expires_at,
            evidence=evidence,
            idempotency_key=key,
        )

    @staticmethod
    def _evidence(evidence: Any, own: Sequence[str] = ()) -> dict[str, str]:
        """References only; the shipped vocabulary and the tenant's own fields (its catalogue's
        `[controller] evidence_fields`)."""
        if not isinstance(evidence, Mapping):
            raise InvalidEvent("evidence must be an object of references")
        allowed = EVIDENCE_FIELDS | set(own)
        unknown = set(evidence) - allowed
        if unknown:
            raise InvalidEvent(
                f"unknown evidence fields {sorted(unknown)[:5]}; expected among {sorted(allowed)}"
            )
        for name, value in evidence.items():
            if not isinstance(value, str) or not value or len(value) > _MAX_EVIDENCE_VALUE:
                raise InvalidEvent(
                    f"evidence {name!r} must be a string of 1 to {_MAX_EVIDENCE_VALUE} characters"
                )
        cleaned = dict(sorted(evidence.items()))
        if len(json.dumps(cleaned).encode()) > _MAX_EVIDENCE_BYTES:
            raise InvalidEvent(f"evidence exceeds {_MAX_EVIDENCE_BYTES} bytes")
        return cleaned

    # ------------------------------------------------------------------ appends
    def record(self, tenant: str, request: ConsentRequest) -> ConsentEvent:
        """Append one choice; a replay with the same idempotency key returns the first event."""
        return self.record_many(tenant, [request])[0]

    def record_many(self, tenant: str, requests: Sequence[ConsentRequest]) -> list[ConsentEvent]:
        """Validate all first (nothing is written if one is invalid), then append them in order."""
        return self._commits.submit([self._prepare(tenant, r) for r in requests])

    def _write_group(self, group: list[ConsentEvent]) -> list[ConsentEvent | BaseException]:
        outcomes = write_by_tenant(
            self.db, group, self._append, tenant_of=lambda e: e.tenant, retries=_RETRIES
        )
        for outcome in outcomes:
            if isinstance(outcome, ConsentEvent):
                CONSENT_APPENDS.labels(outcome.kind.value).inc()
        return outcomes

    def _lock_head(self, conn: Connection, tenant: str) -> tuple[int, str]:
        # A no-op UPDATE locks the head row (PostgreSQL) or takes the write lock (SQLite) and
        # returns it, in one round trip: no other writer reads this head until we commit.
        head = conn.execute(
            update(_HEADS)
            .where(_HEADS.c.tenant_id == tenant)
            .values(seq=_HEADS.c.seq)
            .returning(_HEADS.c.seq, _HEADS.c.hash)
        ).first()
        if head is None:
            conn.execute(insert(_HEADS).values(tenant_id=tenant, seq=0, hash=GENESIS))
            return 0, GENESIS
        return int(head.seq), str(head.hash)

    def _append(
        self, conn: Connection, tenant: str, group: list[ConsentEvent]
    ) -> dict[int, ConsentEvent | BaseException]:
        seq, head = self._lock_head(conn, tenant)
        sealing = self._seal_key(tenant)
        keys = [e.idempotency_key for e in group if e.idempotency_key]
        known: dict[str, ConsentEvent] = {}
        if keys:
            for row in conn.execute(
                select(_EVENTS).where(
                    _EVENTS.c.tenant_id == tenant, _EVENTS.c.idempotency_key.in_(keys)
                )
            ):
                known[row.idempotency_key] = event_from_row(row)
        outcomes: dict[int, ConsentEvent | BaseException] = {}
        rows: list[dict[str, Any]] = []
        written: list[ConsentEvent] = []
        for pending in group:
            key = pending.idempotency_key
            if key and key in known:
                first = known[key]
                outcomes[id(pending)] = (
                    first
                    if _same_choice(first, pending)
                    else IdempotencyConflict(
                        "this idempotency key was already used for a different event"
                    )
                )
                continue
            seq += 1
            unsealed = replace(pending, seq=seq, prev_hash=head)
            body = canonical(unsealed.body())
            chained = link(head, body)
            event = replace(unsealed, hash=chained, mac=seal(sealing, chained))
            head = event.hash
            rows.append(
                dict(
                    tenant_id=tenant,
                    seq=seq,
                    subject_id=event.subject,
                    purpose_id=event.purpose,
                    kind=event.kind.value,
                    channel=event.channel.value,
                    occurred_at=event.occurred_at,
                    idempotency_key=key,
                    prev_hash=event.prev_hash,
                    hash=event.hash,
                    body=body.decode("utf-8"),
                    mac=event.mac,
                )
            )
            written.append(event)
            if key:
                known[key] = event
            outcomes[id(pending)] = event
        if rows:
            conn.execute(insert(_EVENTS), rows)
            conn.execute(
                update(_HEADS).where(_HEADS.c.tenant_id == tenant).values(seq=seq, hash=head)
            )
            self._project(conn, tenant, written, sealing)
            if self.observer is not None:
                self.observer.consent_recorded(conn, tenant, written)
        return outcomes

    def _project(
        self, conn: Connection, tenant: str, events: list[ConsentEvent], key: bytes
    ) -> None:
        """Keep, per subject and purpose, the event that happened last (ledger order on ties)."""
        latest = latest_per_subject_and_purpose(events)
        conn.execute(self._upsert_state, [state_row(tenant, e, key) for e in latest.values()])

    def _seal_key(self, tenant: str) -> bytes:
        return self.vault.tenant_secret(tenant, SEAL_KEY)

    # ------------------------------------------------------------------ reads
    def choice_counts(self, tenant: str) -> dict[str, dict[str, int]]:
        """Current choices per purpose and kind (given, withdrawn, …), one per subject."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(_STATE.c.purpose_id, _STATE.c.kind, func.count())
                .where(_STATE.c.tenant_id == tenant)
                .group_by(_STATE.c.purpose_id, _STATE.c.kind)
            ).all()
        counts: dict[str, dict[str, int]] = {}
        for purpose, kind, count in rows:
            counts.setdefault(str(purpose), {})[str(kind)] = int(count)
        return counts

    def search(self, tenant: str, query: ConsentQuery) -> tuple[list[ConsentEvent], int | None]:
        """A page of the log for the console, newest first, each event checked where it lies;
        and the cursor of the next, older page (None at the end)."""
        return search_events(self.db, self._seal_key(tenant), tenant, query)

    def search_all(self, tenant: str, query: ConsentQuery) -> Iterator[ConsentEvent]:
        """Every event a search finds, newest first, read a page at a time (for an export)."""
        return every_event(self.db, self._seal_key(tenant), tenant, query)

    def daily_counts(self, tenant: str, since: dt.datetime) -> list[tuple[str, str, str, str, int]]:
        """(day, purpose, channel, kind, events) since a moment: what the charts draw."""
        return daily_counts(self.db, tenant, since)

    def history(self, tenant: str, subject: str) -> list[ConsentEvent]:
        with self.db.begin() as conn:
            rows = conn.execute(
                select(_EVENTS)
                .where(_EVENTS.c.tenant_id == tenant, _EVENTS.c.subject_id == subject)
                .order_by(_EVENTS.c.seq)
            ).all()
        return [event_from_row(r) for r in rows]

    def _pages(
        self, tenant: str, *, after_seq: int = 0, size: int = 5000
    ) -> Iterator[Sequence[Any]]:
        """The tenant's ledger rows in order, a page per short read (no long transaction)."""
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(_EVENTS)
                    .where(_EVENTS.c.tenant_id == tenant, _EVENTS.c.seq > after_seq)
                    .order_by(_EVENTS.c.seq)
                    .limit(size)
                ).all()
            if not rows:
                return
            yield rows
            after_seq = rows[-1].seq

    def events(self, tenant: str, *, after_seq: int = 0) -> Iterator[ConsentEvent]:
        """Every event of the tenant in ledger order (for exports and rebuilds)."""
        for page in self._pages(tenant, after_seq=after_seq):
            yield from (event_from_row(row) for row in page)

    def count(self, tenant: str) -> int:
        with self.db.begin() as conn:
            head = conn.execute(select(_HEADS.c.seq).where(_HEADS.c.tenant_id == tenant)).first()
        return int(head.seq) if head else 0

    def current(self, tenant: str, subject: str) -> dict[str, EventRef]:
        with self.db.begin() as conn:
            rows = conn.execute(
                select(_STATE).where(_STATE.c.tenant_id == tenant, _STATE.c.subject_id == subject)
            ).all()
        return {r.purpose_id: ref_of(r) for r in rows}

    def may_we(
        self, tenant: str, subject: str, purpose_id: str, *, at: dt.datetime | None = None
    ) -> ConsentDecision:
        """May subject S's data be used for purpose P now? With the basis and deciding event."""
        purpose = self.catalogue.get(tenant, purpose_id)
        at = at or self.clock()
        with self.db.read() as conn:
            row = self._may_we_query.one(
                conn, {"tenant": tenant, "subject": subject, "purpose": purpose.id}
            )
        if row.seq is None:
            if row.has_events:
                raise ChainBroken(
                    f"the consent state of this subject for {purpose.id} was deleted: "
                    "nothing is decided on it (run `tessera consent verify`)",
                    seq=0,
                )
            state = None
        else:
            expected = state_seal(
                self._seal_key(tenant), tenant, subject, purpose.id, *sealed_fields(row)
            )
            if not seal_matches(expected, row.mac):
                raise ChainBroken(
                    f"the consent state of this subject for {purpose.id} was not written by "
                    "this service: nothing is decided on it (run `tessera consent verify`)",
                    seq=int(row.seq),
                )
            state = ref_of(row)
        return decide(purpose, state, at=at, restricted=row.restricted_at is not None)

    def honour_gpc(
        self, tenant: str, subject: str, *, channel: Channel | str, signals: Sequence[str]
    ) -> list[ConsentEvent]:
        """`Sec-GPC: 1` objects to every sale/sharing purpose; any other value is ignored (the
        subject and channel are checked either way: a bad request is one with or without it)."""
        check_subject(subject)
        channel = _parse_enum(Channel, channel, "channel")
        if not any(value.strip() == "1" for value in signals):
            return []
        current = self.current(tenant, subject)
        requests = [
            ConsentRequest(subject, p.id, EventKind.OBJECTED, channel, {"signal": "Sec-GPC: 1"})
            for p in self.catalogue.purposes(tenant).values()
            if p.sale_or_sharing
            and (p.id not in current or current[p.id].kind is not EventKind.OBJECTED)
        ]
        return self.record_many(tenant, requests)

    def restrict(self, tenant: str, subject: str, *, dsr_id: str | None = None) -> None:
        with self.db.begin() as conn:
            exists = conn.execute(
                select(_RESTRICTIONS.c.subject_id).where(
                    _RESTRICTIONS.c.tenant_id == tenant, _RESTRICTIONS.c.subject_id == subject
                )
            ).first()
            if exists is None:
                conn.execute(
                    insert(_RESTRICTIONS).values(
                        tenant_id=tenant,
                        subject_id=subject,
                        restricted_at=self.clock(),
                        dsr_id=dsr_id,
                    )
                )

    def lift_restriction(self, tenant: str, subject: str) -> bool:
        with self.db.begin() as conn:
            return bool(
                conn.execute(
                    delete(_RESTRICTIONS).where(
                        _RESTRICTIONS.c.tenant_id == tenant, _RESTRICTIONS.c.subject_id == subject
                    )
                ).rowcount
            )

    def restricted_at(self, tenant: str, subject: str) -> dt.datetime | None:
        with self.db.begin() as conn:
            row = conn.execute(
                select(_RESTRICTIONS.c.restricted_at).where(
                    _RESTRICTIONS.c.tenant_id == tenant, _RESTRICTIONS.c.subject_id == subject
                )
            ).first()
        return row.restricted_at if row else None

    # ------------------------------------------------------------------ integrity
    def verify(
        self,
        tenant: str,
        *,
        deep: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
        trusted: tuple[int, str] | None = None,
    ) -> ChainReport:
        """Check the whole chain; `deep` also checks that indexed columns match the hashed body.
        `trusted`: a head (size, hash) kept from before, whose signature the caller checked:
        the ledger must extend it, so a ledger cut back to an earlier state fails."""
        with self.db.begin() as conn:
            head = conn.execute(
                select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.tenant_id == tenant)
            ).first()
        total = int(head.seq) if head else 0

        key = self._seal_key(tenant)

        def rows() -> Iterator[ChainRow]:
            done = 0
            for page in self._pages(tenant, size=20_000):
                for row in page:
                    if not seal_matches(seal(key, row.hash), row.mac):
                        raise ChainBroken(
                            f"event {row.seq} was not written by this service: its seal "
                            "does not verify",
                            seq=row.seq,
                        )
                    if trusted is not None and row.seq == trusted[0] and row.hash != trusted[1]:
                        raise ChainBroken(
                            f"the ledger does not extend the head you kept: event {row.seq} "
                            "differs",
                            seq=row.seq,
                        )
                    if deep:
                        _check_columns(row)
                    yield ChainRow(row.seq, row.prev_hash, row.hash, row.body.encode("utf-8"))
                done += len(page)
                if on_progress:
                    on_progress(done, total)

        report = verify_chain(rows(), expected_head=head.hash if head else GENESIS)
        if trusted is not None and report.events < trusted[0]:
            raise ChainBroken(
                f"the ledger was cut back: the head you kept holds {trusted[0]} events, the "
                f"ledger {report.events}",
                seq=report.events,
            )
        return report

    def head(self, tenant: str) -> tuple[int, str]:
        """The ledger's size and last hash, to sign and keep (`Receipts.sign_head`)."""
        with self.db.read() as conn:
            row = conn.execute(
                select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.tenant_id == tenant)
            ).first()
        return (int(row.seq), str(row.hash)) if row else (0, GENESIS)

    def rebuild(self, tenant: str) -> int:
        """Recompute the projection from the ledger alone, once the ledger verifies (a forged
        event is never projected); returns the number of events read."""
        self.verify(tenant)
        events = list(self.events(tenant))
        count = len(events)
        latest = latest_per_subject_and_purpose(events)
        with self.db.begin() as conn:
            conn.execute(delete(_STATE).where(_STATE.c.tenant_id == tenant))
            if latest:
                key = self._seal_key(tenant)
                rows = [state_row(tenant, e, key) for e in latest.values()]
                conn.execute(insert(_STATE), rows)
        return count


def _check_columns(row: Any) -> None:
    body = json.loads(row.body)
    columns = (row.subject_id, row.purpose_id, row.kind, row.channel, row.idempotency_key)
    facts = (
        body["subject"],
        body["purpose"],
        body["kind"],
        body["channel"],
        body["idempotency_key"],
    )
    if columns != facts or body["seq"] != row.seq:
        raise ChainBroken(
            f"event {row.seq}'s indexed columns disagree with its hashed content", seq=row.seq
        )
