"""Paying through a signed single-use link: issued to the conversation, opened on the card
page, used once."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from tessera.auth import Observation
from tessera.storage import Database, as_utc, table_of
from tessera.vault import Vault

from ._card import CardDetails
from ._errors import (
    InvalidCard,
    InvalidLink,
    LinkUsed,
    NoCardOnFileConsent,
    ProcessorUnavailable,
    UnknownCard,
)
from ._links import PaymentLink, link_payment, new_nonce, read_link, sign_link
from ._states import PaymentState, illegal
from ._tables import PaymentIntentRow
from ._types import LinkedPayment, PaymentIntent, PaymentsSettings, sha256_hex

__all__ = ["_PayByLink"]


class _PayByLink:
    """Part of `Payments`: what it needs of the rest is declared here, and `Payments` has it."""

    if TYPE_CHECKING:
        db: Database
        vault: Vault
        settings: PaymentsSettings
        clock: Callable[[], dt.datetime]

        def _live(self, tenant: str, intent_id: str) -> PaymentIntentRow: ...
        def _still_live(self, row: PaymentIntentRow) -> PaymentIntentRow: ...
        def _update(self, row: PaymentIntentRow, **changes: Any) -> PaymentIntentRow: ...
        def _record(self, row: PaymentIntentRow, event: str, **extra: Any) -> None: ...
        def _intent(self, row: PaymentIntentRow) -> PaymentIntent: ...

        # The card flows of `Payments` (`pay_with_card`, `pay_with_card_on_file`).
        pay_with_card: Callable[..., PaymentIntent]
        pay_with_card_on_file: Callable[..., PaymentIntent]

    # ------------------------------------------------------------------ links
    def issue_link(self, tenant: str, intent_id: str) -> PaymentLink:
        """A signed, single-use link to the card page, for a chat, a messaging thread or an
        SMS. Issuing another one replaces it (the older link stops working)."""
        row = self._live(tenant, intent_id)
        if row.link_used_at is not None or PaymentState(row.state) not in (
            PaymentState.CREATED,
            PaymentState.AWAITING_CUSTOMER,
        ):
            raise illegal(row.state, PaymentState.AWAITING_CUSTOMER)
        expires_at = min(self.clock() + self.settings.link_ttl, as_utc(row.expires_at))
        nonce = new_nonce()
        link = sign_link(self._link_secret(tenant), tenant, row.id, expires_at, nonce)
        row = self._update(row, state=PaymentState.AWAITING_CUSTOMER, link_nonce=nonce)
        self._record(row, "link_issued", link_expires_at=link.expires_at.isoformat())
        return link

    def holds_link(self, token: str) -> bool:
        """Whether the payment a link names is in these stores (not whether the link is
        genuine): where a deployment with regions serves the link's page from."""
        try:
            payment = link_payment(token)
        except InvalidLink:
            return False
        intents = table_of(PaymentIntentRow)
        with self.db.read() as conn:
            found = conn.execute(select(intents.c.id).where(intents.c.id == payment)).first()
        return found is not None

    def open_link(self, token: str) -> LinkedPayment:
        """The payment behind a link that is genuine, in force, unexpired and unused."""
        row = self._linked(token)
        return LinkedPayment(row.tenant_id, self._intent(self._still_live(row)))

    def pay_by_link(
        self,
        token: str,
        card: CardDetails,
        *,
        observation: Observation | None = None,
        save_card: bool = False,
    ) -> tuple[LinkedPayment, str]:
        """Use the link (once) to pay by card. Returns the payment and a step key, which the
        page alone holds, for the authentication that may follow (`link_session`)."""
        return self._use_link(
            token,
            lambda row: self.pay_with_card(
                row.tenant_id, row.id, card, observation=observation, save_card=save_card
            ),
        )

    def pay_by_link_on_file(
        self, token: str, card_id: str, *, observation: Observation | None = None
    ) -> tuple[LinkedPayment, str]:
        """Use the link (once) to pay with a card on file: the page then asks for the passkey."""
        return self._use_link(
            token,
            lambda row: self.pay_with_card_on_file(
                row.tenant_id, row.id, card_id, observation=observation
            ),
        )

    def _use_link(
        self, token: str, pay: Callable[[PaymentIntentRow], PaymentIntent]
    ) -> tuple[LinkedPayment, str]:
        row = self._still_live(self._linked(token))
        step = secrets.token_urlsafe(24)
        table = table_of(PaymentIntentRow)
        t = table.c
        with self.db.begin() as conn:
            taken = conn.execute(
                update(table)
                .where(t.id == row.id, t.link_nonce == row.link_nonce, t.link_used_at.is_(None))
                .values(link_used_at=self.clock(), link_step=sha256_hex(step))
            ).rowcount
        if not taken:
            raise LinkUsed("this payment link was already used")
        try:
            intent = pay(row)
        except (ProcessorUnavailable, NoCardOnFileConsent, UnknownCard, InvalidCard):
            # Nothing is settled yet: give the link back so the customer can try again (the
            # processor sees the same idempotency key, so a charge it made is not repeated; a
            # card on file that can't be used leaves the link for a typed card).
            with self.db.begin() as conn:
                conn.execute(
                    update(table)
                    .where(t.id == row.id, t.link_step == sha256_hex(step))
                    .values(link_used_at=None, link_step=None)
                )
            raise
        return LinkedPayment(row.tenant_id, intent), step

    def link_session(self, token: str, step: str) -> LinkedPayment:
        """The payment whose card this page submitted, for the steps after the card."""
        row = self._linked(token, used=True)
        if (
            not isinstance(step, str)
            or row.link_step is None
            or not hmac.compare_digest(row.link_step, sha256_hex(step))
        ):
            raise InvalidLink("this page's session is not valid: open the link again")
        return LinkedPayment(row.tenant_id, self._intent(row))

    def _link_secret(self, tenant: str) -> bytes:
        return self.vault.tenant_secret(tenant, "payment-links")

    def _linked(self, token: str, *, used: bool = False) -> PaymentIntentRow:
        """Genuine (MAC), unexpired, the link in force; unused unless `used`."""
        payment = link_payment(token)
        with self.db.read() as conn:
            found = conn.execute(
                select(intents := table_of(PaymentIntentRow)).where(intents.c.id == payment)
            ).first()
        if found is None:
            raise InvalidLink("this payment link is not valid")
        row = PaymentIntentRow(**found._mapping)
        claims = read_link(self._link_secret(row.tenant_id), row.tenant_id, token, now=self.clock())
        if row.link_nonce != claims.nonce:
            raise InvalidLink("this payment link was replaced by a newer one")
        if (row.link_used_at is not None) is not used:
            if used:
                raise InvalidLink("this payment link has not been used yet")
            raise LinkUsed("this payment link was already used")
        return row
