"""Cards on file for returning customers, kept only while their consent for that purpose stands.

The card itself stays in the vault; this table holds its token, brand and expiry, never the
security code. Consent for the `card_on_file` purpose is checked when a card is kept, listed
and used, and a withdrawal (or a refusal, an objection, an expiry) removes the customer's cards
inside the transaction that records it (`consent_recorded`, wired as a ledger observer), so a
card never outlives the consent it was kept under.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from tessera.consent import ConsentEvent, ConsentLedger, EventKind, UnknownPurpose
from tessera.storage import Database, as_utc, table_of, utcnow
from tessera.vault import DataCategory, Vault, check_subject, check_tenant, mask

from ._errors import InvalidCard, NoCardOnFileConsent, UnknownCard
from ._tables import PaymentCardRow
from ._types import PaymentRecorder

__all__ = ["CARD_ON_FILE", "CardOnFile", "CardsOnFile"]

CARD_ON_FILE = "card_on_file"  # the purpose a customer consents to for their card to be kept
_CARDS = table_of(PaymentCardRow)


@dataclass(frozen=True, slots=True)
class CardOnFile:
    id: str
    subject: str
    card: str  # masked, e.g. "visa •••• 4242"
    brand: str
    expiry: str  # MM/YY
    created_at: dt.datetime
    last_used_at: dt.datetime | None


def _in_force(expiry: str, today: dt.date) -> bool:
    """A card is valid through the last day of its expiry month."""
    month, year = (int(part) for part in expiry.split("/"))
    return (2000 + year, month) >= (today.year, today.month)


class CardsOnFile:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        consents: ConsentLedger | None,
        *,
        recorder: PaymentRecorder | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = db
        self.vault = vault
        self.consents = consents
        self.recorder = recorder
        self.clock = clock

    def consent(self, tenant: str, subject: str) -> int | None:
        """The ledger position of the consent in force, or `NoCardOnFileConsent`."""
        if self.consents is None:
            raise NoCardOnFileConsent("cards on file need the consent ledger")
        try:
            decision = self.consents.may_we(tenant, subject, CARD_ON_FILE)
        except UnknownPurpose:
            raise NoCardOnFileConsent(
                f"this tenant offers no cards on file (no '{CARD_ON_FILE}' purpose)"
            ) from None
        if not decision.allowed:
            raise NoCardOnFileConsent(
                f"no consent to keep this customer's card on file: {decision.reason}"
            )
        return decision.deciding_event.seq if decision.deciding_event else None

    def keep(self, tenant: str, subject: str, token: str, *, brand: str, expiry: str) -> CardOnFile:
        """Keep a vaulted card for this customer (once per card: keeping it again refreshes
        its expiry and the consent it is kept under)."""
        seq = self.consent(tenant, subject)
        row = PaymentCardRow(
            id=f"card_{secrets.token_urlsafe(16)}",
            tenant_id=tenant,
            subject_id=subject,
            card_token=token,
            brand=brand,
            expiry=expiry,
            consent_seq=seq,
            created_at=self.clock(),
        )
        try:
            with self.db.begin() as conn:
                conn.execute(_CARDS.insert().values(**row.model_dump()))
        except IntegrityError:
            with self.db.begin() as conn:
                conn.execute(
                    update(_CARDS)
                    .where(*self._of(tenant, subject), _CARDS.c.card_token == token)
                    .values(expiry=expiry, consent_seq=seq)
                )
        return _view(next(r for r in self._rows(tenant, subject) if r.card_token == token))

    def cards(self, tenant: str, subject: str) -> list[CardOnFile]:
        """The customer's usable cards: none without consent (and any left are removed),
        none expired, none whose vaulted number was erased."""
        subject = _owner(tenant, subject)
        try:
            self.consent(tenant, subject)
        except NoCardOnFileConsent:
            # A consent that lapsed (no event says so) or a restriction: the cards go now.
            # Read first, so that a page view without consent writes nothing.
            if self._rows(tenant, subject):
                self.forget(tenant, subject)
            return []
        rows = self._rows(tenant, subject)
        if not rows:
            return []
        held = {t.token for t in self.vault.subject_tokens(tenant, subject)}
        today = self.clock().date()
        return [_view(r) for r in rows if r.card_token in held and _in_force(r.expiry, today)]

    def card(self, tenant: str, subject: str, card_id: str) -> PaymentCardRow:
        """One card to pay with, after the same checks as `cards`."""
        subject = _owner(tenant, subject)
        self.consent(tenant, subject)
        _check_id(card_id)
        found = next((r for r in self._rows(tenant, subject) if r.id == card_id), None)
        if found is None:
            raise UnknownCard("no such card on file")
        if not _in_force(found.expiry, self.clock().date()):
            raise InvalidCard("the card on file has expired: pay with another card")
        return found

    def used(self, tenant: str, card_id: str) -> None:
        with self.db.begin() as conn:
            conn.execute(
                update(_CARDS)
                .where(_CARDS.c.tenant_id == tenant, _CARDS.c.id == card_id)
                .values(last_used_at=self.clock())
            )

    def remove(self, tenant: str, subject: str, card_id: str) -> None:
        """The customer asked to remove one card: answered for first (if the record cannot be
        written, the card stays), then removed."""
        subject = _owner(tenant, subject)
        _check_id(card_id)
        found = next((r for r in self._rows(tenant, subject) if r.id == card_id), None)
        if found is None:
            raise UnknownCard("no such card on file")
        if self.recorder is not None:
            self.recorder.payment_recorded(
                tenant,
                subject,
                {"event": "card_removed", "card_on_file": card_id, "card": found.card_token},
            )
        with self.db.begin() as conn:
            removed = conn.execute(
                delete(_CARDS).where(*self._of(tenant, subject), _CARDS.c.id == card_id)
            ).rowcount
        if not removed:
            raise UnknownCard("no such card on file")

    def forget(self, tenant: str, subject: str) -> int:
        with self.db.begin() as conn:
            return conn.execute(delete(_CARDS).where(*self._of(tenant, subject))).rowcount or 0

    def consent_recorded(
        self, conn: Connection, tenant: str, events: Sequence[ConsentEvent]
    ) -> None:
        """A ledger observer: a choice other than "given" for cards on file removes the
        customer's cards in the same transaction as the event."""
        gone = {
            e.subject for e in events if e.purpose == CARD_ON_FILE and e.kind is not EventKind.GIVEN
        }
        for subject in sorted(gone):
            conn.execute(delete(_CARDS).where(*self._of(tenant, subject)))

    def _rows(self, tenant: str, subject: str) -> list[PaymentCardRow]:
        with self.db.read() as conn:
            found = conn.execute(
                select(_CARDS).where(*self._of(tenant, subject)).order_by(_CARDS.c.created_at)
            ).all()
        return [PaymentCardRow(**r._mapping) for r in found]

    @staticmethod
    def _of(tenant: str, subject: str) -> tuple[Any, Any]:
        return (_CARDS.c.tenant_id == tenant, _CARDS.c.subject_id == subject)


def _owner(tenant: str, subject: str) -> str:
    check_tenant(tenant)
    return check_subject(subject)


def _check_id(card_id: object) -> None:
    if not isinstance(card_id, str) or not 0 < len(card_id) <= 40:
        raise UnknownCard("no such card on file")


def _view(row: PaymentCardRow) -> CardOnFile:
    return CardOnFile(
        id=row.id,
        subject=row.subject_id,
        card=f"{row.brand} {mask(DataCategory.CARD_PAN, row.card_token)}",
        brand=row.brand,
        expiry=row.expiry,
        created_at=as_utc(row.created_at),
        last_used_at=as_utc(row.last_used_at) if row.last_used_at else None,
    )
