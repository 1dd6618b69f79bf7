"""Phone payments with an agent on the line: the card keyed on the keypad, the agent seeing
progress only (PCI DSS de-scoping, as DTMF-masking services do).

The telephony side (which also masks the tones in the recording) sends key presses here; the
state between two presses is sealed by the vault under the customer's key. Once the card is
complete it is paid as a telephone order: outside the RTS's SCA (Art. 3 of PSD2 RTS scope),
and the card number never leaves Tessera except to the processor.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from tessera.storage import as_utc, table_of
from tessera.vault import InvalidValue

from ._card import CardDetails
from ._dtmf import KeypadState, KeypadView, expiry_text, press, view
from ._errors import IllegalTransition, InvalidCard, PaymentDeclined, UnknownPayment
from ._service import Payments
from ._states import PaymentState
from ._tables import PaymentKeypadRow
from ._types import PaymentIntent

__all__ = ["Keypad", "KeypadWindow", "PhonePayments"]


@dataclass(frozen=True, slots=True)
class Keypad:
    id: str
    payment: PaymentIntent
    view: KeypadView
    state: str  # keying, submitted, ended


@dataclass(frozen=True, slots=True)
class KeypadWindow:
    """When a keypad was open on the call: whatever was said then may be the card (the
    speech-to-text hears the tones, or the caller reads the digits aloud as they key them)."""

    payment_id: str
    keypad_id: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None  # still open


class PhonePayments:
    def __init__(self, payments: Payments) -> None:
        self.payments = payments

    def begin(self, tenant: str, intent_id: str) -> Keypad:
        """The agent hands the customer to the keypad for this payment."""
        p = self.payments
        row = p._live(tenant, intent_id)
        if PaymentState(row.state) not in (PaymentState.CREATED, PaymentState.AWAITING_CUSTOMER):
            raise IllegalTransition(f"a payment that is {row.state} takes no card", state=row.state)
        if row.state == PaymentState.CREATED.value:
            row = p._update(row, state=PaymentState.AWAITING_CUSTOMER)
        now = p.clock()
        keypad_id = f"kp_{secrets.token_urlsafe(16)}"
        with p.db.begin() as conn:
            conn.execute(
                update(table_of(PaymentKeypadRow))  # one keypad per payment at a time
                .where(
                    table_of(PaymentKeypadRow).c.intent_id == row.id,
                    table_of(PaymentKeypadRow).c.tenant_id == tenant,
                    table_of(PaymentKeypadRow).c.state == "keying",
                )
                .values(state="ended", sealed=None, updated_at=now)
            )
            conn.execute(
                insert(table_of(PaymentKeypadRow)).values(
                    id=keypad_id,
                    tenant_id=tenant,
                    intent_id=row.id,
                    sealed=self._seal(tenant, row.subject_id, keypad_id, KeypadState()),
                    version=0,
                    state="keying",
                    created_at=now,
                    updated_at=now,
                    expires_at=row.expires_at,
                )
            )
        p._record(row, "keypad_started")
        return Keypad(keypad_id, p._intent(row), view(KeypadState()), "keying")

    def press(self, tenant: str, keypad_id: str, keys: str) -> Keypad:
        """Key presses from the telephony side. When the card is complete it is paid at once;
        `#` on a complete card submits it again (after a processor timeout)."""
        p = self.payments
        pad = self._row(tenant, keypad_id)
        intent = p._live(tenant, pad.intent_id)
        if pad.state != "keying" or pad.sealed is None:
            raise IllegalTransition("this keypad is closed", state=pad.state)
        state = self._open(tenant, intent.subject_id, pad)
        try:
            after = press(state, keys)
        except ValueError as exc:
            raise InvalidValue(str(exc)) from None
        resubmit = state.field == "done" and "#" in keys
        if after.field == "done" and (state.field != "done" or resubmit):
            card = self._card(after, p.clock().date())
            if card is None:  # an expired card: key the expiry again
                after = KeypadState(after.number, "", "", "expiry", after.rejected + 1)
            else:
                self._save(pad, tenant, intent.subject_id, after)
                return self._submit(tenant, pad, card, after)
        self._save(pad, tenant, intent.subject_id, after)
        return Keypad(pad.id, p._intent(intent), view(after), "keying")

    def get(self, tenant: str, keypad_id: str) -> Keypad:
        """The agent's view: progress and the payment's state, never a digit."""
        p = self.payments
        pad = self._row(tenant, keypad_id)
        intent = p._row(tenant, pad.intent_id)
        if pad.sealed is None:
            shown = KeypadView("done", 0, None, None, 0, 0, 0, pad.state == "submitted")
        else:
            shown = view(self._open(tenant, intent.subject_id, pad))
        return Keypad(pad.id, p._intent(intent), shown, pad.state)

    def windows(self, tenant: str, intent_id: str) -> list[KeypadWindow]:
        """Every time a keypad was open for this payment, for the transcript's redaction."""
        intent = self.payments._row(tenant, intent_id)
        t = table_of(PaymentKeypadRow)
        with self.payments.db.read() as conn:
            rows = conn.execute(
                select(t.c.id, t.c.state, t.c.created_at, t.c.updated_at, t.c.expires_at)
                .where(t.c.tenant_id == tenant, t.c.intent_id == intent.id)
                .order_by(t.c.created_at)
            ).all()
        now = self.payments.clock()
        return [
            KeypadWindow(
                intent.id,
                r.id,
                as_utc(r.created_at),
                None
                if r.state == "keying" and as_utc(r.expires_at) > now
                else as_utc(r.updated_at if r.state != "keying" else r.expires_at),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ internals
    def _submit(
        self, tenant: str, pad: PaymentKeypadRow, card: CardDetails, keyed: KeypadState
    ) -> Keypad:
        p = self.payments
        try:
            paid = p.pay_with_card(tenant, pad.intent_id, card, telephone_order=True)
        except PaymentDeclined:
            self._close(pad, "ended")
            raise
        # A ProcessorUnavailable passes through with the keypad still sealed: `#` retries.
        self._close(pad, "submitted")
        return Keypad(pad.id, paid, view(keyed), "submitted")

    @staticmethod
    def _card(state: KeypadState, today: dt.date) -> CardDetails | None:
        try:
            return CardDetails.keyed(state.number, expiry_text(state), state.cvc, today=today)
        except InvalidCard:
            return None

    def _seal(self, tenant: str, subject: str, keypad_id: str, state: KeypadState) -> bytes:
        keyed = json.dumps([state.number, state.expiry, state.cvc, state.field, state.rejected])
        return self.payments.vault.seal_secret(
            tenant, subject, f"keypad:{keypad_id}", keyed.encode()
        )

    def _open(self, tenant: str, subject: str, pad: PaymentKeypadRow) -> KeypadState:
        raw = self.payments.vault.open_secret(
            tenant, subject, f"keypad:{pad.id}", pad.sealed or b""
        )
        number, expiry, cvc, field, rejected = json.loads(raw)
        return KeypadState(number, expiry, cvc, field, rejected)

    def _save(self, pad: PaymentKeypadRow, tenant: str, subject: str, state: KeypadState) -> None:
        t = table_of(PaymentKeypadRow)
        with self.payments.db.begin() as conn:
            done = conn.execute(
                update(t)
                .where(t.c.id == pad.id, t.c.version == pad.version, t.c.state == "keying")
                .values(
                    sealed=self._seal(tenant, subject, pad.id, state),
                    version=pad.version + 1,
                    updated_at=self.payments.clock(),
                )
            ).rowcount
        if not done:
            raise IllegalTransition("another key press came first: send it again", state="keying")

    def _close(self, pad: PaymentKeypadRow, state: str) -> None:
        t = table_of(PaymentKeypadRow)
        with self.payments.db.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == pad.id)
                .values(state=state, sealed=None, updated_at=self.payments.clock())
            )

    def _row(self, tenant: str, keypad_id: str) -> PaymentKeypadRow:
        if not isinstance(keypad_id, str) or len(keypad_id) > 40:
            raise UnknownPayment("no such keypad")
        with self.payments.db.read() as conn:
            found = conn.execute(
                select(table_of(PaymentKeypadRow)).where(
                    table_of(PaymentKeypadRow).c.tenant_id == tenant,
                    table_of(PaymentKeypadRow).c.id == keypad_id,
                )
            ).first()
        if found is None:
            raise UnknownPayment("no such keypad")
        row = PaymentKeypadRow(**found._mapping)
        if row.state == "keying" and as_utc(row.expires_at) <= self.payments.clock():
            self._close(row, "ended")
            row.state, row.sealed = "ended", None
        return row
