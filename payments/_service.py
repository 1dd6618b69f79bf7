"""Payment intents: create, pay by card, authenticate when the RTS asks, capture, refund.

The PAN is in clear in exactly one place outside the vault: `_forward`, which detokenizes the
card and hands it to the processor. Everything else holds the vault token (BIN and last four
kept, the middle random), so agents, bots and logs never see the number.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tessera import Channel
from tessera.auth import Authenticator, Challenge, Observation, VoicePossession
from tessera.consent import ConsentLedger
from tessera.metrics import PAYMENTS
from tessera.storage import Database, as_utc, table_of, utcnow
from tessera.vault import DataCategory, InvalidValue, Vault, check_subject, check_tenant, mask

from ._by_link import _PayByLink
from ._card import CardDetails
from ._cards_on_file import CardsOnFile
from ._errors import (
    IdempotencyConflict,
    IllegalTransition,
    NoCardOnFileConsent,
    PaymentDeclined,
    PaymentExpired,
    RefundTooLarge,
    UnknownPayment,
)
from ._helpers import _binding, _locale, _new_id, _replaced, _text
from ._money import Money
from ._pin_window import close_pin_windows, open_pin_window
from ._processor import PaymentProcessor, ProcessorResult
from ._sca import (
    ScaDecision,
    ScaExemption,
    ScaRequest,
    decide_sca,
)
from ._sca_inputs import _ScaInputs
from ._states import PaymentState, advance, illegal
from ._tables import PaymentIntentRow, PaymentRefundRow
from ._types import (
    PaymentIntent,
    PaymentRecorder,
    PaymentsSettings,
    Refund,
)

__all__ = ["PAYMENT_CHANNELS", "Payments"]

_CALLS = frozenset({Channel.VOICE_AGENT.value, Channel.VOICE_IVR.value})
# A payment is taken in a conversation: every channel but e-mail and a visit in person.
# Where a payment can be taken in the conversation: not by e-mail, nor in person (a terminal's).
PAYMENT_CHANNELS = frozenset(c.value for c in Channel) - {
    Channel.EMAIL.value,
    Channel.IN_PERSON.value,
}
_CHANNELS = PAYMENT_CHANNELS


class Payments(_ScaInputs, _PayByLink):
    def __init__(
        self,
        *,
        db: Database,
        vault: Vault,
        processor: PaymentProcessor,
        authenticator: Authenticator | None = None,
        recorder: PaymentRecorder | None = None,
        settings: PaymentsSettings | None = None,
        consents: ConsentLedger | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = db
        self.vault = vault
        self.processor = processor
        self.authenticator = authenticator
        self.recorder = recorder
        self.settings = settings or PaymentsSettings()
        self.clock = clock
        self.cards = CardsOnFile(db, vault, consents, recorder=recorder, clock=clock)

    # ------------------------------------------------------------------ intents
    def create_intent(
        self,
        tenant: str,
        subject: str,
        amount: Money,
        *,
        payee: str,
        reference: str = "",
        channel: str = "chat",
        idempotency_key: str,
    ) -> PaymentIntent:
        """A payment waiting for its card. The same idempotency key with the same request
        returns the first intent; with another request it is refused."""
        check_tenant(tenant)
        subject = check_subject(subject)
        payee = _text(payee, "payee")
        reference = _text(reference, "reference", required=False)
        key = _text(idempotency_key, "idempotency_key")
        if channel not in _CHANNELS:
            raise InvalidValue(f"unknown channel; expected one of: {', '.join(sorted(_CHANNELS))}")
        request = hashlib.sha256(
            json.dumps(
                [subject, amount.amount, amount.currency, payee, reference, channel]
            ).encode()
        ).hexdigest()
        existing = self._by_key(tenant, key)
        if existing is not None:
            return self._same_request(existing, request)
        now = self.clock()
        row = PaymentIntentRow(
            id=_new_id("pay"),
            tenant_id=tenant,
            subject_id=subject,
            amount=amount.amount,
            currency=amount.currency,
            amount_eur=self._in_euro_cents(amount),
            payee=payee,
            reference=reference,
            channel=channel,
            state=PaymentState.CREATED.value,
            idempotency_key=key,
            request_sha256=request,
            created_at=now,
            updated_at=now,
            expires_at=now + self.settings.intent_ttl,
        )
        try:
            with self.db.session() as session:
                session.add(row)
                session.commit()
                session.refresh(row)
        except IntegrityError:
            # Two requests with the same key raced: the other one won; answer as it did.
            existing = self._by_key(tenant, key)
            if existing is None:
                raise
            return self._same_request(existing, request)
        PAYMENTS.labels(row.state, "none").inc()
        self._record(row, "created")
        return self._intent(row)

    def get(self, tenant: str, intent_id: str) -> PaymentIntent:
        return self._intent(self._row(tenant, intent_id))

    def pay_with_card(
        self,
        tenant: str,
        intent_id: str,
        card: CardDetails,
        *,
        observation: Observation | None = None,
        telephone_order: bool = False,
        save_card: bool = False,
    ) -> PaymentIntent:
        """Vault the card, decide on SCA, and authorize when no SCA is needed.

        When the RTS asks for SCA, the intent waits in `authenticating` with the security code
        sealed by the vault (PCI DSS v4.0 3.3.2), to be wiped as soon as it is used or expires.
        `save_card` keeps the card on file once authorized; it needs the customer's consent
        for that purpose, checked before anything is vaulted.
        """
        row = self._live(tenant, intent_id)
        if telephone_order and row.channel not in _CALLS:
            raise InvalidValue(
                f"a telephone order is a payment taken on a call (voice_agent or voice_ivr), "
                f"not on {row.channel}"
            )
        advance(PaymentState(row.state), PaymentState.AUTHORIZED)  # refuse early if it can't
        self._not_authenticated(row)
        if save_card:
            self.cards.consent(tenant, row.subject_id)
        token = self.vault.tokenize(
            tenant, card.pan, category=DataCategory.CARD_PAN, subject=row.subject_id
        ).token
        return self._decide(
            row,
            {
                "card_token": token,
                "card_brand": card.brand,
                "card_expiry": card.expiry,
                "saved_card_id": None,
            },
            card.cvc,
            observation=observation,
            telephone_order=telephone_order,
            save_card=save_card,
        )

    def pay_with_card_on_file(
        self,
        tenant: str,
        intent_id: str,
        card_id: str,
        *,
        observation: Observation | None = None,
    ) -> PaymentIntent:
        """One tap: a card the customer kept on file, while their consent stands. The payment
        waits in `authenticating` for their passkey (`begin_authentication(…, "webauthn")`),
        which signs a challenge bound to the amount and payee; no security code is asked."""
        row = self._live(tenant, intent_id)
        advance(PaymentState(row.state), PaymentState.AUTHENTICATING)
        self._not_authenticated(row)
        kept = self.cards.card(tenant, row.subject_id, card_id)
        card = {"card_token": kept.card_token, "card_brand": kept.brand, "card_expiry": kept.expiry}
        return self._decide(row, card | {"saved_card_id": kept.id}, None, observation=observation)

    def amend(
        self, tenant: str, intent_id: str, *, amount: Money | None = None, payee: str | None = None
    ) -> PaymentIntent:
        """Change the amount or payee before authorization. An authentication already begun
        was bound to the old ones: it can no longer complete (RTS Art. 5(1)(c), 5(3))."""
        row = self._live(tenant, intent_id)
        state = PaymentState(row.state)
        if state not in (
            PaymentState.CREATED,
            PaymentState.AWAITING_CUSTOMER,
            PaymentState.AUTHENTICATING,
        ):
            raise illegal(row.state, state)
        if row.authenticated:
            raise IllegalTransition(
                "the payer authenticated these terms: create a new payment to change them",
                state=row.state,
            )
        changes: dict[str, Any] = {}
        if amount is not None:
            changes |= {
                "amount": amount.amount,
                "currency": amount.currency,
                "amount_eur": self._in_euro_cents(amount),
            }
        if payee is not None:
            changes["payee"] = _text(payee, "payee")
        row = self._update(row, **changes)
        self._record(row, "amended")
        return self._intent(row)

    def begin_authentication(
        self,
        tenant: str,
        intent_id: str,
        factor: str,
        *,
        channel: str | None = None,
        locale: str = "en",
        possession: VoicePossession | None = None,
    ) -> Challenge:
        """SCA for a payment that needs it, bound to its amount and payee (dynamic linking):
        a passkey or the app's key signs a challenge derived from them; a one-time code states
        them; by voice they are spoken back before the PIN, and the transcript masks what is
        said until the PIN is checked."""
        row = self._live(tenant, intent_id)
        if PaymentState(row.state) is not PaymentState.AUTHENTICATING:
            raise illegal(row.state, PaymentState.AUTHENTICATING)
        if row.saved_card_id and factor not in ("webauthn", "app", "voice_pin"):
            raise InvalidValue(
                "a payment with a card on file is confirmed with a passkey, the app or by voice"
            )
        nonce = secrets.token_hex(16)
        row = self._update(row, sca_nonce=nonce)
        amount = Money(row.amount, row.currency).format(_locale(locale))
        message = (
            f"Paiement de {amount} à {row.payee}"
            if _locale(locale) == "fr"
            else f"Payment of {amount} to {row.payee}"
        )
        challenge = self._auth().begin_transaction(
            tenant,
            row.subject_id,
            factor,
            binding=_binding(row),
            message=f"{message} ?" if factor == "voice_pin" else message,
            channel=channel,
            possession=possession,
            locale=locale,
        )
        if factor == "voice_pin":
            with self.db.begin() as conn:
                open_pin_window(conn, tenant, row.id, self.clock(), challenge.expires_at)
        return challenge

    def complete_authentication(
        self,
        tenant: str,
        intent_id: str,
        challenge_id: str,
        *,
        code: str | None = None,
        credential: Mapping[str, Any] | str | None = None,
    ) -> PaymentIntent:
        """Check the payer's factor against the payment as it is now, then authorize it."""
        row = self._live(tenant, intent_id)
        if PaymentState(row.state) is not PaymentState.AUTHENTICATING:
            raise illegal(row.state, PaymentState.AUTHORIZED)
        if row.authenticated:
            # Authenticated already, but the processor did not answer: authorize again, with
            # the same idempotency key (the terms can no longer change: `amend` refuses).
            return self._authorize(row, self._pending_cvc(row))
        if not row.sca_nonce:
            raise illegal(row.state, PaymentState.AUTHORIZED)
        done = self._auth().complete_transaction(
            tenant,
            challenge_id,
            binding=_binding(row),
            code=code,
            credential=credential,
            decision_id=row.risk_decision_id,
        )
        if done.subject != row.subject_id:
            raise InvalidValue("the challenge belongs to another customer")
        with self.db.begin() as conn:  # the PIN was said: what follows is no longer masked
            close_pin_windows(conn, tenant, row.id, self.clock())
        row = self._update(row, authenticated=True, sca_nonce=None)
        self._record(
            row,
            "authenticated",
            factor=done.factor,
            assurance=done.assurance.name,
            sca_elements=list(done.elements),
            possession=done.possession,
        )
        return self._authorize(row, self._pending_cvc(row))

    def capture(self, tenant: str, intent_id: str, amount: Money | None = None) -> PaymentIntent:
        """Take the money held by the authorization (all of it by default, or less)."""
        row = self._live(tenant, intent_id)
        wanted = amount or Money(row.amount, row.currency)
        if wanted.currency != row.currency or wanted.amount > row.amount:
            raise InvalidValue("a capture is at most the authorized amount, in its currency")
        if PaymentState(row.state) is not PaymentState.AUTHORIZED:
            raise illegal(row.state, PaymentState.CAPTURED)
        result = self.processor.capture(
            str(row.processor_ref), wanted, key=f"{row.id}:capture:{wanted.amount}"
        )
        if not result.approved:
            raise PaymentDeclined(
                f"the processor refused the capture ({result.code})", code=result.code
            )
        row = self._update(row, state=PaymentState.CAPTURED, captured=wanted.amount)
        self._record(row, "captured", amount=wanted.amount)
        return self._intent(row)

    def refund(
        self, tenant: str, intent_id: str, amount: Money | None = None, *, idempotency_key: str
    ) -> Refund:
        """Give back all or part of what was captured, never more, never twice per key."""
        key = _text(idempotency_key, "idempotency_key")
        row = self._row(tenant, intent_id)
        with self.db.read() as conn:
            seen = conn.execute(
                select(refunds := table_of(PaymentRefundRow)).where(
                    refunds.c.tenant_id == tenant, refunds.c.idempotency_key == key
                )
            ).first()
        if seen is not None:
            if seen.intent_id != row.id or (amount and amount.amount != seen.amount):
                raise IdempotencyConflict("this idempotency key was used for another refund")
            return Refund(seen.id, seen.intent_id, Money(seen.amount, row.currency), seen.state)
        if PaymentState(row.state) is not PaymentState.CAPTURED:
            raise illegal(row.state, PaymentState.REFUNDED)
        left = row.captured - row.refunded
        wanted = amount or Money(left, row.currency)
        if wanted.currency != row.currency:
            raise InvalidValue("a refund is in the payment's currency")
        if wanted.amount > left:
            raise RefundTooLarge(f"at most {Money(left, row.currency)} can still be refunded")
        result = self.processor.refund(str(row.processor_ref), wanted, key=f"{row.id}:refund:{key}")
        refund = PaymentRefundRow(
            id=_new_id("ref"),
            tenant_id=tenant,
            intent_id=row.id,
            amount=wanted.amount,
            idempotency_key=key,
            processor_ref=result.reference,
            state="succeeded" if result.approved else "failed",
            created_at=self.clock(),
        )
        with self.db.session() as session:
            session.add(refund)
            session.commit()
        if not result.approved:
            raise PaymentDeclined(
                f"the processor refused the refund ({result.code})", code=result.code
            )
        total = row.refunded + wanted.amount
        state = PaymentState.REFUNDED if total == row.captured else PaymentState.CAPTURED
        row = self._update(row, refunded=total, state=state)
        self._record(row, "refunded", amount=wanted.amount)
        return Refund(refund.id, row.id, wanted, refund.state)

    def expire_due(self) -> int:
        """End intents past their expiry, wiping any pending security code; returns how many.
        Each is recorded (`expired`): the conversation waiting on it hears that it ended."""
        now = self.clock()
        live = [s.value for s in PaymentState if not s.final and s is not PaymentState.CAPTURED]
        t = table_of(PaymentIntentRow)
        due = self._rows_where(t.c.state.in_(live), t.c.expires_at <= now)
        expired = 0
        for row in due:
            try:
                self._expire(row)
            except IllegalTransition:  # it moved on meanwhile (paid, cancelled): not ours
                continue
            expired += 1
        return expired

    def reconcile(self) -> int:
        """After a crash: payments still `authorized` here whose capture the processor made
        (its answer lost with the process) become `captured` for what the processor took, each
        recorded (`captured`, `reconciled`); returns how many. Run at start or by an operator
        (`tessera payments reconcile`)."""
        t = table_of(PaymentIntentRow)
        held = self._rows_where(
            t.c.state == PaymentState.AUTHORIZED.value, t.c.processor_ref.is_not(None)
        )
        reconciled = 0
        for row in held:
            charge = self.processor.charge(str(row.processor_ref))
            if not 0 < charge.captured <= row.amount:
                # Nothing taken, or more than this payment authorized: a charge that is not
                # this payment's (a reference re-pointed in the database). Never adopted.
                continue
            try:
                done = self._update(row, state=PaymentState.CAPTURED, captured=charge.captured)
            except IllegalTransition:  # captured meanwhile by a retry: already agrees
                continue
            self._record(done, "captured", amount=charge.captured, reconciled=True)
            reconciled += 1
        return reconciled

    def _expire(self, row: PaymentIntentRow) -> None:
        self._record(self._update(row, state=PaymentState.EXPIRED, pending_sad=None), "expired")

    def report_fraud(self, tenant: str, intent_id: str) -> PaymentIntent:
        """A payment later found fraudulent (a chargeback, a customer's claim): it counts in
        the fraud rate that decides the transaction-risk-analysis exemption."""
        row = self._update(self._row(tenant, intent_id), fraudulent=True)
        self._record(row, "reported_fraudulent")
        return self._intent(row)

    # ------------------------------------------------------------------ internals
    def _not_authenticated(self, row: PaymentIntentRow) -> None:
        if row.authenticated:
            raise IllegalTransition(
                "the payer authenticated this payment with its card: complete it", state=row.state
            )

    def _decide(
        self,
        row: PaymentIntentRow,
        card: dict[str, Any],
        cvc: str | None,
        *,
        observation: Observation | None,
        telephone_order: bool = False,
        save_card: bool = False,
    ) -> PaymentIntent:
        """Decide on SCA for the card now on the payment, then authorize or wait for it."""
        tenant = row.tenant_id
        risk, decision_id = self._risk(tenant, row, observation)
        decision = decide_sca(
            ScaRequest(
                amount=row.amount,
                currency=row.currency,
                payee=row.payee,
                amount_eur=row.amount_eur,
                history=self._history(tenant, row.subject_id),
                risk=risk,
                fraud_rate=self._fraud_rate(tenant),
                telephone_order=telephone_order,
                card_on_file=card.get("saved_card_id") is not None,
            )
        )
        changes: dict[str, Any] = card | {
            "save_card": save_card,
            "sca_required": decision.required,
            "sca_exemption": decision.exemption.value if decision.exemption else None,
            "sca_article": decision.article[:64],
            "sca_reason": decision.reason[:200],
            "risk_decision_id": decision_id,
        }
        row = self._update(row, **changes)
        self._record(row, "sca_decided", risk=risk.value if risk else None)
        if decision.refused:
            row = self._update(row, state=PaymentState.FAILED, failure_code="risk_refused")
            raise PaymentDeclined("the payment was refused by the risk analysis", code="risk")
        if decision.required:
            sealed = (
                self.vault.seal_secret(tenant, row.subject_id, f"sad:{row.id}", cvc.encode())
                if cvc
                else None
            )
            row = self._update(row, state=PaymentState.AUTHENTICATING, pending_sad=sealed)
            return self._intent(row)
        return self._authorize(row, cvc)

    def _pending_cvc(self, row: PaymentIntentRow) -> str | None:
        if row.pending_sad is None:
            return None
        label = f"sad:{row.id}"
        return self.vault.open_secret(
            row.tenant_id, row.subject_id, label, row.pending_sad
        ).decode()

    def _auth(self) -> Authenticator:
        if self.authenticator is None:
            raise InvalidValue("strong customer authentication needs an authenticator")
        return self.authenticator

    def _authorize(self, row: PaymentIntentRow, cvc: str | None) -> PaymentIntent:
        # A ProcessorUnavailable passes through: nothing changed here, and the retry reaches
        # the processor with the same idempotency key.
        result = self._forward(row, cvc)
        if not result.approved:
            row = self._update(
                row, state=PaymentState.FAILED, failure_code=result.code[:32], pending_sad=None
            )
            self._record(row, "declined", code=result.code)
            raise PaymentDeclined(f"the card was declined ({result.code})", code=result.code)
        row = self._update(
            row,
            state=PaymentState.AUTHORIZED,
            processor_ref=result.reference,
            pending_sad=None,
            expires_at=self.clock() + self.settings.capture_window,
        )
        self._record(row, "authorized")
        if row.saved_card_id:
            self.cards.used(row.tenant_id, row.saved_card_id)
        if row.save_card:
            self._keep_card(row)
        return self._intent(row)

    def _keep_card(self, row: PaymentIntentRow) -> None:
        """Keep the card on file now that it is proven good, if the consent still stands (the
        payment itself does not depend on it)."""
        try:
            kept = self.cards.keep(
                row.tenant_id,
                row.subject_id,
                str(row.card_token),
                brand=str(row.card_brand),
                expiry=str(row.card_expiry),
            )
        except NoCardOnFileConsent:
            return
        self._record(row, "card_kept", card_on_file=kept.id)

    def _forward(self, row: PaymentIntentRow, cvc: str | None) -> ProcessorResult:
        """The one place a PAN leaves the vault: straight to the processor, never stored."""
        pan = self.vault.detokenize(row.tenant_id, str(row.card_token)).value
        card = CardDetails(pan, str(row.card_expiry), cvc)
        return self.processor.authorize(
            card,
            Money(row.amount, row.currency),
            payee=row.payee,
            reference=row.reference,
            key=f"{row.id}:authorize",
        )

    def _rows_where(self, *conditions: Any) -> list[PaymentIntentRow]:
        with self.db.read() as conn:
            found = conn.execute(select(table_of(PaymentIntentRow)).where(*conditions))
            return [PaymentIntentRow(**row._mapping) for row in found]

    def _by_key(self, tenant: str, key: str) -> PaymentIntentRow | None:
        t = table_of(PaymentIntentRow)
        found = self._rows_where(t.c.tenant_id == tenant, t.c.idempotency_key == key)
        return found[0] if found else None

    def _same_request(self, row: PaymentIntentRow, request: str) -> PaymentIntent:
        if row.request_sha256 != request:
            raise IdempotencyConflict("this idempotency key was used for another payment")
        return self._intent(row)

    def _row(self, tenant: str, intent_id: str) -> PaymentIntentRow:
        check_tenant(tenant)
        if not isinstance(intent_id, str) or len(intent_id) > 40:
            raise UnknownPayment("no such payment")
        t = table_of(PaymentIntentRow)
        found = self._rows_where(t.c.tenant_id == tenant, t.c.id == intent_id)
        if not found:
            raise UnknownPayment("no such payment")
        return found[0]

    def _live(self, tenant: str, intent_id: str) -> PaymentIntentRow:
        return self._still_live(self._row(tenant, intent_id))

    def _still_live(self, row: PaymentIntentRow) -> PaymentIntentRow:
        """The row, unless its payment is over its expiry (then it is marked expired)."""
        state = PaymentState(row.state)
        live = not state.final and state is not PaymentState.CAPTURED
        if live and as_utc(row.expires_at) <= self.clock():
            with contextlib.suppress(IllegalTransition):  # expired by another request meanwhile
                self._expire(row)
            raise PaymentExpired("the payment expired: create a new one")
        if state is PaymentState.EXPIRED:
            raise PaymentExpired("the payment expired: create a new one")
        return row

    def _update(self, row: PaymentIntentRow, **changes: Any) -> PaymentIntentRow:
        """Write `changes` if the row is still in the state it was read in (no lost update)."""
        values = {
            k: (v.value if isinstance(v, PaymentState) else v) for k, v in changes.items()
        } | {"updated_at": self.clock()}
        t = table_of(PaymentIntentRow)
        with self.db.begin() as conn:
            done = conn.execute(
                update(t)
                .where(t.c.tenant_id == row.tenant_id, t.c.id == row.id, t.c.state == row.state)
                .values(**values)
            ).rowcount
        if not done:
            current = self._row(row.tenant_id, row.id)
            raise illegal(current.state, PaymentState(values.get("state", current.state)))
        replaced = _replaced(row, values)
        if "state" in values:
            PAYMENTS.labels(replaced.state, replaced.sca_exemption or "none").inc()
        return replaced

    def _record(self, row: PaymentIntentRow, event: str, **extra: Any) -> None:
        if self.recorder is None:
            return
        facts = {
            "event": event,
            "payment": row.id,
            "amount": row.amount,
            "currency": row.currency,
            "payee": row.payee,
            "channel": row.channel,
            "state": row.state,
            "card": row.card_token,
            "sca_required": row.sca_required,
            "exemption": row.sca_exemption,
            "article": row.sca_article,
            "reason": row.sca_reason,
        } | extra
        self.recorder.payment_recorded(row.tenant_id, row.subject_id, facts)

    def _intent(self, row: PaymentIntentRow) -> PaymentIntent:
        sca = None
        if row.sca_required is not None:
            sca = ScaDecision(
                bool(row.sca_required),
                ScaExemption(row.sca_exemption) if row.sca_exemption else None,
                row.sca_article or "",
                row.sca_reason or "",
            )
        card = None
        if row.card_token:
            card = f"{row.card_brand} {mask(DataCategory.CARD_PAN, row.card_token)}"
        return PaymentIntent(
            id=row.id,
            subject=row.subject_id,
            amount=Money(row.amount, row.currency),
            payee=row.payee,
            reference=row.reference,
            channel=row.channel,
            state=PaymentState(row.state),
            card=card,
            sca=sca,
            authenticated=row.authenticated,
            captured=row.captured,
            refunded=row.refunded,
            failure_code=row.failure_code,
            created_at=as_utc(row.created_at),
            expires_at=as_utc(row.expires_at),
            card_on_file=row.saved_card_id,
        )
