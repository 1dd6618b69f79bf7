"""HTTP API of oversight: the consent log and the access log searched as the DPO console
searches them (`GET /v1/consent/events`, `GET /v1/audit/entries`), newest first behind a cursor.
Each search is decided by policy (purpose `oversight`: the DPO's and analysts' keys) and
recorded before anything is answered; the caller's session or asserted assurance travels in
a header. Subjects are ids or tokens: an e-mail or phone number is never put in an address."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from tessera.consent import ConsentQuery
from tessera.policies import Action
from tessera.trust._errors import NoSuchProof
from tessera.trust.audit import AccessQuery
from tessera.trust.http._dependencies import CallerDep, ServicesDep
from tessera.trust.http._models import (
    MAX_POSITION,
    AuthContextIn,
    SubjectPath,
    auth_context_of,
)
from tessera.trust.http._pages import CursorQuery, LimitQuery, cursor_for, page_of, position_of
from tessera.trust.identity import Scope
from tessera.vault import InvalidValue

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["oversight"])
_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "refused by policy, or a step-up is needed"}
}


def _auth(session_id: str | None, assurance: str | None) -> Any:
    if session_id is None and assurance is None:
        return None
    return auth_context_of(AuthContextIn(session_id=session_id, assurance=assurance))


def _subjects(services: Any, tenant: str, subject: str | None) -> tuple[str, ...] | None:
    if subject is None:
        return None
    if subject.startswith("tok_"):
        from tessera.vault import VaultError

        try:
            return tuple(
                {r.subject for r in services.vault.describe(tenant, [subject]) if r.subject}
            )
        except VaultError:
            return ()
    return (subject,)


def _asked(**given: Any) -> dict[str, Any]:
    """What was asked, for the record: the filters, a subject as the kind of thing it was."""
    asked = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in given.items()}
    if asked.get("subject") is not None:
        asked["subject"] = "token" if str(asked["subject"]).startswith("tok_") else "subject"
    return {k: v for k, v in asked.items() if v is not None}


@router.get("/audit/entries", responses=_REFUSED)
def search_accesses(
    who: CallerDep,
    services: ServicesDep,
    subject: str | None = Query(default=None, max_length=128),
    caller: str | None = Query(default=None, max_length=128),
    caller_kind: str | None = Query(default=None, max_length=16),
    action: str | None = Query(default=None, max_length=32),
    outcome: str | None = Query(default=None, max_length=16),
    policy: str | None = Query(default=None, max_length=128),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: CursorQuery = None,
    limit: int = Query(default=50, ge=1, le=200),
    session_id: str | None = Header(default=None, alias="Tessera-Session", max_length=128),
    assurance: str | None = Header(default=None, alias="Tessera-Assurance", max_length=16),
) -> dict[str, Any]:
    """Who accessed what, when, why, under which policy: every decision and act of oversight,
    each entry checked where it lies before it is answered (scope `audit:read`)."""
    who.require(Scope.AUDIT)
    subjects = _subjects(services, who.tenant, subject)
    query = AccessQuery(
        subjects=subjects,
        caller=caller,
        caller_kind=caller_kind,
        action=action,
        outcome=outcome,
        policy=policy,
        since=since,
        until=until,
        before=position_of(cursor, "s"),
        limit=limit,
    )
    asked = _asked(
        subject=subject,
        caller=caller,
        caller_kind=caller_kind,
        action=action,
        outcome=outcome,
        policy=policy,
        since=since,
        until=until,
        cursor=cursor,
    )
    services.gateway.oversee(
        who,
        Action.SEARCH_LOGS,
        "log:access",
        auth=_auth(session_id, assurance),
        subject=subjects[0] if subjects and len(subjects) == 1 else "",
        facts=asked,
    )
    entries, next_before = services.audit.search(who.tenant, query)
    return {
        "data": [
            {"seq": e.seq, "recorded_at": e.recorded_at.isoformat(), **e.body} for e in entries
        ],
        "next_cursor": None if next_before is None else cursor_for("s", next_before),
    }


@router.get("/consent/events", responses=_REFUSED)
def search_consents(
    who: CallerDep,
    services: ServicesDep,
    subject: str | None = Query(default=None, max_length=128),
    purpose: str | None = Query(default=None, max_length=64),
    channel: str | None = Query(default=None, max_length=32),
    kind: str | None = Query(default=None, max_length=16),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: CursorQuery = None,
    limit: int = Query(default=50, ge=1, le=200),
    session_id: str | None = Header(default=None, alias="Tessera-Session", max_length=128),
    assurance: str | None = Header(default=None, alias="Tessera-Assurance", max_length=16),
) -> dict[str, Any]:
    """Consent events by subject, purpose, channel, kind and period, with their evidence; each
    checked where it lies (seal, hash, columns) before it is answered (scope `audit:read`)."""
    who.require(Scope.AUDIT)
    subjects = _subjects(services, who.tenant, subject)
    query = ConsentQuery(
        subjects=subjects,
        purpose=purpose,
        channel=channel,
        kind=kind,
        since=since,
        until=until,
        before=position_of(cursor, "s"),
        limit=limit,
    )
    asked = _asked(
        subject=subject,
        purpose=purpose,
        channel=channel,
        kind=kind,
        since=since,
        until=until,
        cursor=cursor,
    )
    services.gateway.oversee(
        who,
        Action.SEARCH_LOGS,
        "log:consent",
        auth=_auth(session_id, assurance),
        subject=subjects[0] if subjects and len(subjects) == 1 else "",
        facts=asked,
    )
    events, next_before = services.consents.search(who.tenant, query)
    return {
        "data": [
            {
                "seq": e.seq,
                "id": e.id,
                "subject": e.subject,
                "purpose": e.purpose,
                "kind": e.kind.value,
                "channel": e.channel.value,
                "notice_version": e.notice_version,
                "evidence": e.evidence,
                "occurred_at": e.occurred_at.isoformat(),
                "recorded_at": e.recorded_at.isoformat(),
                "hash": e.hash,
            }
            for e in events
        ],
        "next_cursor": None if next_before is None else cursor_for("s", next_before),
    }


def _lines(objects: Iterator[dict[str, Any]], per_chunk: int = 500) -> Iterator[bytes]:
    """NDJSON in chunks of lines: the server reads the rows off the loop, one hop a chunk."""
    chunk: list[bytes] = []
    for item in objects:
        chunk.append(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode())
        if len(chunk) == per_chunk:
            yield b"\n".join(chunk) + b"\n"
            chunk = []
    if chunk:
        yield b"\n".join(chunk) + b"\n"


def _decide_export(
    who: Any,
    services: Any,
    overseen: str,
    after: int,
    upto: int | None,
    auth: Any,
    form: str = "ndjson",
) -> None:
    """A range that makes sense, then the export decided and recorded: before any line."""
    who.require(Scope.AUDIT)
    if upto is not None and upto <= after:
        raise InvalidValue("upto must be after after")
    services.gateway.oversee(
        who,
        Action.EXPORT_LOGS,
        overseen,
        auth=auth,
        facts=_asked(after=after, upto=upto, format=form),
    )


_NDJSON = "application/x-ndjson"
_STREAMED: dict[int | str, dict[str, Any]] = {
    200: {"content": {_NDJSON: {}}, "description": "one JSON object a line"},
    **_REFUSED,
}


@router.get("/audit/entries/export", response_class=StreamingResponse, responses=_STREAMED)
def export_accesses(
    who: CallerDep,
    services: ServicesDep,
    after: int = Query(default=0, ge=0, le=MAX_POSITION, description="entries after this seq"),
    upto: int | None = Query(default=None, ge=1, le=MAX_POSITION, description="up to this seq"),
    session_id: str | None = Header(default=None, alias="Tessera-Session", max_length=128),
    assurance: str | None = Header(default=None, alias="Tessera-Assurance", max_length=16),
) -> StreamingResponse:
    """Stream the access log as NDJSON, a range of it: a header line (the chain hash the
    range starts from), an entry a line, then the signed checkpoints. Memory stays bounded
    whatever the log's size; decided (export, the DPO at high assurance) and recorded first."""
    _decide_export(who, services, "log:access", after, upto, _auth(session_id, assurance))
    lines = services.audit.export_lines(who.tenant, after=after, upto=upto)
    first = next(lines)  # a range that starts past the log is refused before the stream
    return StreamingResponse(_lines(itertools.chain([first], lines)), media_type=_NDJSON)


@router.get("/consent/events/export", response_class=StreamingResponse, responses=_STREAMED)
def export_consents(
    who: CallerDep,
    services: ServicesDep,
    after: int = Query(default=0, ge=0, le=MAX_POSITION, description="events after this seq"),
    upto: int | None = Query(default=None, ge=1, le=MAX_POSITION, description="up to this seq"),
    session_id: str | None = Header(default=None, alias="Tessera-Session", max_length=128),
    assurance: str | None = Header(default=None, alias="Tessera-Assurance", max_length=16),
) -> StreamingResponse:
    """Stream the consent ledger as NDJSON, a range of it: a header line, an event a line
    (its canonical body, hash and link), then the ledger's signed head. Decided (export) and
    recorded first."""
    _decide_export(who, services, "log:consent", after, upto, _auth(session_id, assurance))
    tenant = who.tenant
    last, _ = services.consents.head(tenant)
    if after > last:
        raise NoSuchProof(f"the ledger has no event {after}")
    upto = last if upto is None else min(upto, last)

    def objects() -> Iterator[dict[str, Any]]:
        yield {"format": "tessera-consent-lines/1", "tenant": tenant, "after": after, "upto": upto}
        count = 0
        for event in services.consents.events(tenant, after_seq=after):
            if event.seq > upto:
                break
            count += 1
            yield {
                "seq": event.seq,
                "body": event.body(),
                "hash": event.hash,
                "prev_hash": event.prev_hash,
            }
        seq, head = services.consents.head(tenant)
        yield {
            "end": True,
            "events": count,
            "head": {
                "seq": seq,
                "hash": head,
                "signed": services.receipts.sign_head(tenant, seq, head),
            },
        }

    return StreamingResponse(_lines(objects()), media_type=_NDJSON)


# The audit API's first two reads, kept at their addresses: acts of oversight like the others.
@router.get("/audit/subjects/{subject}", tags=["audit"], responses=_REFUSED)
def who_accessed(
    subject: SubjectPath,
    who: CallerDep,
    services: ServicesDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    session_id: str | None = Header(default=None, alias="Tessera-Session", max_length=128),
    assurance: str | None = Header(default=None, alias="Tessera-Assurance", max_length=16),
) -> dict[str, Any]:
    """Who accessed this subject's data, when, for which purpose, under which policy: a search
    of the log for one subject, decided (the DPO or an analyst, substantial assurance) and
    recorded before anything is read."""
    who.require(Scope.AUDIT)
    services.gateway.oversee(
        who,
        Action.SEARCH_LOGS,
        "log:access",
        auth=_auth(session_id, assurance),
        subject=subject,
        facts=_asked(subject=subject, cursor=cursor),
    )
    return page_of(services.audit.for_subject(who.tenant, subject), limit, cursor)


@router.get("/audit/export", tags=["audit"], responses=_REFUSED)
def audit_export(
    who: CallerDep,
    services: ServicesDep,
    session_id: str | None = Header(default=None, alias="Tessera-Session", max_length=128),
    assurance: str | None = Header(default=None, alias="Tessera-Assurance", max_length=16),
) -> dict[str, Any]:
    """The whole log in one body, to verify offline: its entries, signed checkpoints and
    consistency proofs; decided (export, the DPO at high assurance) and recorded first. For a
    large log, stream `/v1/audit/entries/export` instead."""
    _decide_export(who, services, "log:access", 0, None, _auth(session_id, assurance), "json")
    return services.audit.export(who.tenant)
