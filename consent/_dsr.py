"""Data-subject requests (GDPR Art. 15-21): a state machine with due dates, and the work itself.

received → identity_verified → in_progress → completed, or rejected (with a reason) from any
open state. The answer is due one month after receipt (Art. 12(3)), extendable once by two
months with a reason. Nothing is released for a request whose identity is not verified.

This module never opens or destroys a subject's data itself: `SubjectData` does, and the one
the service wires in is the gateway, which decides by policy and records before it acts. An
access request's export is released once, by `export`.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import enum
import hashlib
import hmac
import io
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dateutil.relativedelta import relativedelta
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from tessera.storage import Database, utcnow
from tessera.vault import check_subject, check_tenant

from ._errors import (
    DsrNotFound,
    IdempotencyConflict,
    IdentityNotVerified,
    InvalidEvent,
    InvalidTransition,
)
from ._ledger import ConsentLedger, ConsentRequest
from ._model import Channel, EventKind
from ._receipts import Receipts
from ._tables import DsrRequestRow

__all__ = [
    "AccessHistory",
    "DataSubjectRights",
    "DsrKind",
    "DsrRequest",
    "DsrState",
    "SubjectData",
]


class DsrKind(enum.StrEnum):
    ACCESS = "access"  # Art. 15
    PORTABILITY = "portability"  # Art. 20
    RECTIFICATION = "rectification"  # Art. 16
    ERASURE = "erasure"  # Art. 17
    RESTRICTION = "restriction"  # Art. 18
    OBJECTION = "objection"  # Art. 21


class DsrState(enum.StrEnum):
    RECEIVED = "received"
    IDENTITY_VERIFIED = "identity_verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"


_NEXT = {
    DsrState.RECEIVED: {DsrState.IDENTITY_VERIFIED, DsrState.REJECTED},
    DsrState.IDENTITY_VERIFIED: {DsrState.IN_PROGRESS, DsrState.REJECTED},
    DsrState.IN_PROGRESS: {DsrState.COMPLETED, DsrState.REJECTED},
    DsrState.COMPLETED: set(),
    DsrState.REJECTED: set(),
}
_OPEN = (DsrState.RECEIVED, DsrState.IDENTITY_VERIFIED, DsrState.IN_PROGRESS)


class AccessHistory(Protocol):
    """Who accessed a subject's data: provided by the audit trail (trust), wired in at start-up."""

    def for_subject(self, tenant: str, subject: str) -> list[dict[str, Any]]: ...


class SubjectData(Protocol):
    """Opens and destroys a subject's data for a request: the gateway, bound to the caller and
    their authentication, which decides by policy and records before it releases or erases."""

    def release(self, request: DsrRequest) -> list[dict[str, str]]:
        """Every value held for the subject: token, category and value."""
        ...

    def erase(self, request: DsrRequest) -> dict[str, Any]:
        """Crypto-shred the subject; counts and time, never data."""
        ...

    def rectify(self, request: DsrRequest, token: str, value: str) -> dict[str, Any]:
        """Replace the value behind one of the subject's tokens."""
        ...


@dataclass(frozen=True, slots=True)
class DsrRequest:
    id: str
    tenant: str
    subject: str
    kind: DsrKind
    state: DsrState
    received_at: dt.datetime
    due_at: dt.datetime
    extension_reason: str | None
    identity_verified_at: dt.datetime | None
    verified_by: str | None
    completed_at: dt.datetime | None
    rejection_reason: str | None
    details: dict[str, Any]

    @property
    def extended(self) -> bool:
        return self.extension_reason is not None

    def overdue(self, at: dt.datetime) -> bool:
        return self.state in _OPEN and self.due_at < at


def _request_digest(key: bytes, subject: str, kind: DsrKind, details: Mapping[str, Any]) -> str:
    """What a retry must repeat to be the same request under its idempotency key. Keyed:
    the details may hold a personal value (a rectification's), and a plain hash of a phone
    number is as good as the number."""
    message = json.dumps([subject, kind.value, dict(details)], sort_keys=True).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


_DIGEST_KEY = "dsr-requests"
_SEALED_VALUE = "sealed_value"


def _value_label(dsr_id: str) -> str:
    return f"dsr-rectification:{dsr_id}"


def due_date(received_at: dt.datetime) -> dt.datetime:
    """One calendar month later; the last day of a shorter month when the day does not exist."""
    return received_at + relativedelta(months=1)


def _request(row: DsrRequestRow) -> DsrRequest:
    return DsrRequest(
        row.id,
        row.tenant_id,
        row.subject_id,
        DsrKind(row.kind),
        DsrState(row.state),
        row.received_at,
        row.due_at,
        row.extension_reason,
        row.identity_verified_at,
        row.verified_by,
        row.completed_at,
        row.rejection_reason,
        json.loads(row.details),
    )


class DataSubjectRights:
    def __init__(
        self,
        db: Database,
        *,
        ledger: ConsentLedger,
        receipts: Receipts,
        clock: Callable[[], dt.datetime] = utcnow,
        access_history: AccessHistory | None = None,
    ) -> None:
        self.db = db
        self.ledger = ledger
        self.receipts = receipts
        self.clock = clock
        self.access_history = access_history

    # ------------------------------------------------------------------ lifecycle
    def open(
        self,
        tenant: str,
        subject: str,
        kind: DsrKind | str,
        *,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> DsrRequest:
        """`request_id`: chosen beforehand (see `new_id`), so that its record can come first.
        `idempotency_key`: a retry with the same key and request answers the same request."""
        check_tenant(tenant)
        subject = check_subject(subject)
        if not subject:
            raise InvalidEvent("subject is required")
        try:
            kind = DsrKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in DsrKind)
            raise InvalidEvent(
                f"unknown request kind {str(kind)[:40]!r}; expected one of: {allowed}"
            ) from None
        details = dict(details or {})
        self._check_details(kind, details)
        vault = self.ledger.vault
        digest = _request_digest(vault.tenant_secret(tenant, _DIGEST_KEY), subject, kind, details)
        if idempotency_key is not None:
            if not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key) <= 128:
                raise InvalidEvent("an idempotency key is 1 to 128 characters")
            seen = self.replayed(tenant, idempotency_key, subject, kind, details)
            if seen is not None:
                return seen
        now = self.clock()
        request_id = request_id or self.new_id()
        stored = dict(details)
        if kind is DsrKind.RECTIFICATION:
            # The new value waits for execution sealed under the subject's key, never in clear
            # (erasing the subject shreds it too).
            value = str(stored.pop("value")).encode()
            sealed = vault.seal_secret(tenant, subject, _value_label(request_id), value)
            stored[_SEALED_VALUE] = base64.b64encode(sealed).decode()
        row = DsrRequestRow(
            id=request_id,
            tenant_id=tenant,
            subject_id=subject,
            kind=kind.value,
            state=DsrState.RECEIVED.value,
            received_at=now,
            due_at=due_date(now),
            details=json.dumps(stored),
            updated_at=now,
            idempotency_key=idempotency_key,
            request_sha256=digest if idempotency_key is not None else None,
        )
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:  # the same key, from a retry running at the same time
            seen = self.replayed(tenant, idempotency_key or "", subject, kind, details)
            if seen is None:
                raise
            return seen
        return _request(row)

    def replayed(
        self, tenant: str, key: str, subject: str, kind: DsrKind, details: Mapping[str, Any]
    ) -> DsrRequest | None:
        """The request opened before with this idempotency key, if the same one is asked
        again; `IdempotencyConflict` if the key was used for another request."""
        with self.db.session() as s:
            row = s.exec(
                select(DsrRequestRow).where(
                    col(DsrRequestRow.tenant_id) == tenant,
                    col(DsrRequestRow.idempotency_key) == key,
                )
            ).first()
        if row is None:
            return None
        secret = self.ledger.vault.tenant_secret(tenant, _DIGEST_KEY)
        if not hmac.compare_digest(
            row.request_sha256 or "", _request_digest(secret, subject, kind, details)
        ):
            raise IdempotencyConflict("this idempotency key was used for another request")
        return _request(row)

    @staticmethod
    def new_id() -> str:
        return "dsr_" + secrets.token_hex(10)

    @staticmethod
    def _check_details(kind: DsrKind, details: dict[str, Any]) -> None:
        if len(json.dumps(details)) > 8192:
            raise InvalidEvent("request details exceed 8 KiB")
        rectification_ok = isinstance(details.get("token"), str) and isinstance(
            details.get("value"), str
        )
        if kind is DsrKind.RECTIFICATION and not rectification_ok:
            raise InvalidEvent("a rectification names the `token` to correct and the new `value`")
        if kind is DsrKind.OBJECTION:
            purposes = details.get("purposes")
            if (
                not isinstance(purposes, list)
                or not purposes
                or not all(isinstance(p, str) for p in purposes)
            ):
                raise InvalidEvent("an objection names the `purposes` objected to")

    def get(self, tenant: str, dsr_id: str) -> DsrRequest:
        with self.db.session() as s:
            row = s.get(DsrRequestRow, dsr_id)
        if row is None or row.tenant_id != tenant:
            raise DsrNotFound(f"no request {dsr_id[:40]!r}")
        return _request(row)

    def list(
        self, tenant: str, *, overdue: bool = False, subject: str | None = None
    ) -> list[DsrRequest]:
        query = select(DsrRequestRow).where(col(DsrRequestRow.tenant_id) == tenant)
        if subject is not None:
            query = query.where(col(DsrRequestRow.subject_id) == subject)
        if overdue:
            query = query.where(
                col(DsrRequestRow.state).in_([s.value for s in _OPEN]),
                col(DsrRequestRow.due_at) < self.clock(),
            )
        with self.db.session() as s:
            rows = s.exec(query.order_by(col(DsrRequestRow.due_at))).all()
        return [_request(r) for r in rows]

    def open_counts(self) -> dict[tuple[str, bool], int]:
        """Open requests of every tenant by (state, overdue): what operations watch."""
        now = self.clock()
        overdue = col(DsrRequestRow.due_at) < now
        query = (
            select(col(DsrRequestRow.state), overdue, func.count())
            .where(col(DsrRequestRow.state).in_([s.value for s in _OPEN]))
            .group_by(col(DsrRequestRow.state), overdue)
        )
        with self.db.session() as s:
            return {(str(state), bool(late)): int(n) for state, late, n in s.exec(query).all()}

    def _move(self, tenant: str, dsr_id: str, to: DsrState, **changes: Any) -> DsrRequest:
        with self.db.session() as s:
            row = s.get(DsrRequestRow, dsr_id, with_for_update=True)
            if row is None or row.tenant_id != tenant:
                raise DsrNotFound(f"no request {dsr_id[:40]!r}")
            current = DsrState(row.state)
            if to not in _NEXT[current]:
                raise InvalidTransition(f"a request {current.value} cannot become {to.value}")
            row.state = to.value
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = self.clock()
            s.add(row)
            return _request(row)

    def verify_identity(self, tenant: str, dsr_id: str, *, verified_by: str) -> DsrRequest:
        """How the identity was proven (a session's factors and assurance, or a DPO's evidence).
        Whether that proof holds is decided above this package, by authentication and policy."""
        if not verified_by.strip():
            raise InvalidEvent("say how the identity was verified")
        return self._move(
            tenant,
            dsr_id,
            DsrState.IDENTITY_VERIFIED,
            identity_verified_at=self.clock(),
            verified_by=verified_by[:200],
        )

    def reject(self, tenant: str, dsr_id: str, *, reason: str) -> DsrRequest:
        if not reason.strip():
            raise InvalidEvent("a rejection needs a reason")
        return self._move(
            tenant,
            dsr_id,
            DsrState.REJECTED,
            rejection_reason=reason[:1000],
            completed_at=self.clock(),
        )

    def extend(self, tenant: str, dsr_id: str, *, reason: str) -> DsrRequest:
        """Art. 12(3): two more months, once, with a reason given to the subject."""
        if not reason.strip():
            raise InvalidEvent("an extension needs a reason")
        with self.db.session() as s:
            row = s.get(DsrRequestRow, dsr_id, with_for_update=True)
            if row is None or row.tenant_id != tenant:
                raise DsrNotFound(f"no request {dsr_id[:40]!r}")
            if DsrState(row.state) not in _OPEN:
                raise InvalidTransition(f"a request {row.state} cannot be extended")
            if row.extension_reason is not None:
                raise InvalidTransition("a request can be extended only once (Art. 12(3))")
            row.extension_reason = reason[:1000]
            row.due_at = due_date(row.received_at) + relativedelta(months=2)
            row.updated_at = self.clock()
            s.add(row)
            return _request(row)

    # ------------------------------------------------------------------ the work
    def execute(self, tenant: str, dsr_id: str, *, data: SubjectData) -> dict[str, Any]:
        """Do what the request asks and complete it; returns what was done. An access or
        portability request is then ready for its export, released once by `export`."""
        request = self.get(tenant, dsr_id)
        if request.state is DsrState.RECEIVED:
            raise IdentityNotVerified(
                "the requester's identity is not verified: nothing is released or changed"
            )
        if request.state is DsrState.IDENTITY_VERIFIED:
            request = self._move(tenant, dsr_id, DsrState.IN_PROGRESS)
        elif request.state is not DsrState.IN_PROGRESS:
            raise InvalidTransition(f"a request {request.state.value} cannot be executed")
        result = self._perform(request, data)
        kept = {k: v for k, v in request.details.items() if k != _SEALED_VALUE}  # in the vault now
        self._move(
            tenant,
            dsr_id,
            DsrState.COMPLETED,
            completed_at=self.clock(),
            details=json.dumps({**kept, "result": _summary(result)}),
        )
        return result

    def export(self, tenant: str, dsr_id: str, *, data: SubjectData) -> dict[str, Any]:
        """The access/portability export of a completed, verified request, released once."""
        request = self.get(tenant, dsr_id)
        if request.identity_verified_at is None:
            raise IdentityNotVerified(
                "the requester's identity is not verified: nothing is released"
            )
        if request.kind not in (DsrKind.ACCESS, DsrKind.PORTABILITY):
            raise InvalidTransition(f"a {request.kind.value} request has no export")
        if request.state is not DsrState.COMPLETED:
            raise InvalidTransition("the request is not completed yet")
        delivered = request.details.get("delivered_at")
        if delivered:
            raise InvalidTransition(
                f"the export was delivered at {delivered}: a new copy needs a new request"
            )
        export = self._subject_export(tenant, request.subject, request.id, data.release(request))
        self._note(tenant, dsr_id, delivered_at=self.clock().isoformat())
        return export

    def _note(self, tenant: str, dsr_id: str, **facts: Any) -> None:
        with self.db.session() as s:
            row = s.get(DsrRequestRow, dsr_id, with_for_update=True)
            if row is None or row.tenant_id != tenant:
                raise DsrNotFound(f"no request {dsr_id[:40]!r}")
            if json.loads(row.details).get("delivered_at"):
                raise InvalidTransition("the export was delivered already")
            row.details = json.dumps({**json.loads(row.details), **facts})
            row.updated_at = self.clock()
            s.add(row)

    def _perform(self, request: DsrRequest, data: SubjectData) -> dict[str, Any]:
        tenant, subject = request.tenant, request.subject
        match request.kind:
            case DsrKind.ACCESS | DsrKind.PORTABILITY:
                return {"export": "ready"}
            case DsrKind.ERASURE:
                return data.erase(request)
            case DsrKind.RESTRICTION:
                if request.details.get("lift"):
                    return {"restriction_lifted": self.ledger.lift_restriction(tenant, subject)}
                self.ledger.restrict(tenant, subject, dsr_id=request.id)
                return {"restricted": True}
            case DsrKind.OBJECTION:
                channel = request.details.get("channel", Channel.VOICE_AGENT.value)
                events = self.ledger.record_many(
                    tenant,
                    [
                        ConsentRequest(
                            subject,
                            purpose,
                            EventKind.OBJECTED,
                            channel,
                            {"dsr_id": request.id},
                            idempotency_key=f"{request.id}.{i}",
                        )
                        for i, purpose in enumerate(request.details["purposes"])
                    ],
                )
                return {"objections": [e.id for e in events]}
            case DsrKind.RECTIFICATION:
                sealed = base64.b64decode(request.details[_SEALED_VALUE])
                value = self.ledger.vault.open_secret(
                    tenant, subject, _value_label(request.id), sealed
                )
                return data.rectify(request, request.details["token"], value.decode())

    def _subject_export(
        self, tenant: str, subject: str, dsr_id: str, values: Sequence[Mapping[str, str]]
    ) -> dict[str, Any]:
        history = self.ledger.history(tenant, subject)
        current = self.ledger.current(tenant, subject)
        restricted = self.ledger.restricted_at(tenant, subject)
        return {
            "format": "tessera-dsr-export/1",
            "tenant": tenant,
            "subject": subject,
            "request": dsr_id,
            "generated_at": self.clock().isoformat(),
            "personal_data": [dict(v) for v in values],
            "consents": {
                "current": {
                    purpose: {
                        "kind": ref.kind.value,
                        "channel": ref.channel.value,
                        "since": ref.occurred_at.isoformat(),
                        "seq": ref.seq,
                    }
                    for purpose, ref in sorted(current.items())
                },
                "history": [
                    {**e.body(), "hash": e.hash, "receipt": self.receipts.issue(tenant, e)}
                    for e in history
                ],
            },
            "restriction": {"since": restricted.isoformat()} if restricted else None,
            "requests": [
                {
                    "id": r.id,
                    "kind": r.kind.value,
                    "state": r.state.value,
                    "received_at": r.received_at.isoformat(),
                }
                for r in self.list(tenant, subject=subject)
            ],
            "access_history": (
                self.access_history.for_subject(tenant, subject) if self.access_history else []
            ),
            "public_key": self.receipts.public_jwk(tenant),
        }


def export_csv(export: dict[str, Any]) -> str:
    """The consent history of an export as CSV, for people who open it in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "occurred_at", "purpose", "kind", "channel", "notice_version", "hash"])
    for e in export["consents"]["history"]:
        writer.writerow(
            [
                e["seq"],
                e["occurred_at"],
                e["purpose"],
                e["kind"],
                e["channel"],
                e["notice_version"],
                e["hash"],
            ]
        )
    out.write("\n")
    writer.writerow(["token", "category", "value"])
    for item in export["personal_data"]:
        writer.writerow([item["token"], item["category"], item["value"]])
    return out.getvalue()


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    if "personal_data" in result:  # never keep the export itself in the request row
        return {
            "exported_values": len(result["personal_data"]),
            "exported_events": len(result["consents"]["history"]),
        }
    return result
