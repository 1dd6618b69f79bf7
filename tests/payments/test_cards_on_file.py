"""Cards on file: kept only with the customer's consent for that purpose, never with their
security code, paid in one tap confirmed by a passkey bound to amount and payee, and gone as
soon as the consent is."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tessera.consent import ConsentLedger, ConsentRequest, EventKind
from tessera.payments import (
    IllegalTransition,
    InvalidCard,
    NoCardOnFileConsent,
    PaymentState,
    UnknownCard,
    UnknownPayment,
)
from tessera.payments._tables import PaymentCardRow, PaymentIntentRow
from tessera.vault import InvalidValue
from tests.leaks import assert_not_shown
from tests.payments.conftest import card
from tests.payments.test_payments import charges, intent
from tests.payments.test_sca_flow import passkey_for


def consent(consents: ConsentLedger, tenant: str, subject: str, kind=EventKind.GIVEN) -> None:
    consents.record(
        tenant,
        ConsentRequest(
            subject, "card_on_file", kind, "web", {"form_id": "pay-page", "session_id": "s-1"}
        ),
    )


def kept_card(payments, consents, tenant: str, subject: str) -> str:
    consent(consents, tenant, subject)
    paid = payments.pay_with_card(
        tenant, intent(payments, tenant, "9.00", subject=subject).id, card(), save_card=True
    )
    assert paid.state is PaymentState.AUTHORIZED
    (kept,) = payments.cards.cards(tenant, subject)
    return kept.id


def test_a_card_is_kept_only_with_consent_and_never_its_code(
    payments, consents, tenant: str, ledger, shared_stores
) -> None:
    first = intent(payments, tenant, subject="keeper")
    with pytest.raises(NoCardOnFileConsent, match="no consent recorded"):
        payments.pay_with_card(tenant, first.id, card(), save_card=True)
    untouched = payments.get(tenant, first.id)
    assert untouched.state is PaymentState.CREATED and untouched.card is None

    consent(consents, tenant, "keeper")
    paid = payments.pay_with_card(tenant, first.id, card(), save_card=True)
    assert paid.state is PaymentState.AUTHORIZED
    assert ledger.kinds(paid.id)[-2:] == ["authorized", "card_kept"]
    (kept,) = payments.cards.cards(tenant, "keeper")
    assert kept.card == paid.card == "visa •••• 4242" and kept.expiry == "12/34"
    with shared_stores.data.read() as conn:
        row = conn.execute(select(PaymentCardRow.__table__).where(PaymentCardRow.id == kept.id))
        stored = dict(row.one()._mapping)
    assert "4242424242424242" not in str(stored)
    assert_not_shown("123", stored)  # the security code

    # The same card kept again is the same card on file; a payment without the box keeps nothing.
    again = intent(payments, tenant, subject="keeper")
    payments.pay_with_card(tenant, again.id, card(expiry="11/35"), save_card=True)
    (still,) = payments.cards.cards(tenant, "keeper")
    assert still.id == kept.id and still.expiry == "11/35"
    other = intent(payments, tenant, subject="keeper")
    payments.pay_with_card(tenant, other.id, card("5555 5555 5555 4444"))
    assert [c.id for c in payments.cards.cards(tenant, "keeper")] == [kept.id]


def test_one_tap_pays_with_the_kept_card_and_a_passkey_bound_to_amount_and_payee(
    payments, consents, authenticator, tenant: str, clock, ledger, processor_url: str
) -> None:
    key = passkey_for(authenticator, tenant, "tapper", clock)
    kept = kept_card(payments, consents, tenant, "tapper")

    # Even €12 (low value) is confirmed: the tap is the passkey.
    pending = payments.pay_with_card_on_file(
        tenant, intent(payments, tenant, "12.00", subject="tapper").id, kept
    )
    assert pending.state is PaymentState.AUTHENTICATING and pending.card == "visa •••• 4242"
    assert pending.sca is not None and pending.sca.required and "Art. 4" in pending.sca.article
    with pytest.raises(InvalidValue, match="passkey"):
        payments.begin_authentication(tenant, pending.id, "otp")
    challenge = payments.begin_authentication(tenant, pending.id, "webauthn")
    paid = payments.complete_authentication(
        tenant, pending.id, challenge.id, credential=key.assert_(challenge.options)
    )
    assert paid.state is PaymentState.AUTHORIZED and paid.authenticated
    made = [c for c in charges(processor_url) if c["key"] == f"{paid.id}:authorize"]
    assert len(made) == 1 and made[0]["amount"] == 1_200
    (used,) = payments.cards.cards(tenant, "tapper")
    assert used.last_used_at == clock()
    assert "card_kept" not in ledger.kinds(paid.id)

    # A payment already on its way takes no card on file.
    with pytest.raises(IllegalTransition):
        payments.pay_with_card_on_file(tenant, paid.id, kept)


def test_withdrawing_consent_removes_the_cards_at_once(
    payments, consents, tenant: str, shared_stores
) -> None:
    kept = kept_card(payments, consents, tenant, "leaver")
    consent(consents, tenant, "leaver", EventKind.WITHDRAWN)
    with shared_stores.data.read() as conn:
        left = conn.execute(
            select(PaymentCardRow.id).where(PaymentCardRow.tenant_id == tenant)
        ).all()
    assert left == []
    assert payments.cards.cards(tenant, "leaver") == []
    pending = intent(payments, tenant, subject="leaver")
    with pytest.raises(NoCardOnFileConsent, match="withdrawn"):
        payments.pay_with_card_on_file(tenant, pending.id, kept)
    # Given again, the card is not back: the customer keeps it again on their next payment.
    consent(consents, tenant, "leaver")
    with pytest.raises(UnknownCard):
        payments.pay_with_card_on_file(tenant, pending.id, kept)
    assert payments.get(tenant, pending.id).state is PaymentState.CREATED


def test_a_card_on_file_is_the_customers_own_and_in_date(
    payments, consents, tenant: str, other_tenant: str, clock, vault
) -> None:
    kept = kept_card(payments, consents, tenant, "owner")
    consent(consents, tenant, "someone-else")
    theirs = intent(payments, tenant, subject="someone-else")
    with pytest.raises(UnknownCard):
        payments.pay_with_card_on_file(tenant, theirs.id, kept)
    with pytest.raises(UnknownPayment):
        payments.pay_with_card_on_file(other_tenant, theirs.id, kept)
    for bad in ["", "card_nope", "x" * 500, 42]:
        with pytest.raises(UnknownCard):
            payments.pay_with_card_on_file(
                tenant, intent(payments, tenant, subject="owner").id, bad
            )
    with pytest.raises(UnknownCard):
        payments.cards.remove(tenant, "someone-else", kept)

    # A card past its expiry month is not offered, and can't be paid with.
    month = clock().date().replace(day=1)
    soon = f"{month.month:02d}/{month.year % 100:02d}"
    consent(consents, tenant, "expiring")
    payments.pay_with_card(
        tenant,
        intent(payments, tenant, "5.00", subject="expiring").id,
        card(expiry=soon),
        save_card=True,
    )
    (expiring,) = payments.cards.cards(tenant, "expiring")
    clock.advance(days=62)
    assert payments.cards.cards(tenant, "expiring") == []
    later = intent(payments, tenant, subject="expiring")
    with pytest.raises(InvalidCard, match="expired"):
        payments.pay_with_card_on_file(tenant, later.id, expiring.id)

    # Erasing the customer's data (crypto-shredding) leaves no card to offer.
    vault.erase_subject(tenant, "owner")
    assert payments.cards.cards(tenant, "owner") == []


def test_a_card_on_file_can_be_removed_and_the_payment_then_takes_a_typed_card(
    payments, consents, tenant: str, shared_stores
) -> None:
    kept = kept_card(payments, consents, tenant, "tidy")
    pending = payments.pay_with_card_on_file(
        tenant, intent(payments, tenant, subject="tidy").id, kept
    )
    payments.cards.remove(tenant, "tidy", kept)
    assert payments.cards.cards(tenant, "tidy") == []
    # The customer types a card instead: it is a card payment again (exempt, no passkey).
    paid = payments.pay_with_card(tenant, pending.id, card())
    assert paid.state is PaymentState.AUTHORIZED
    with shared_stores.data.read() as conn:
        row = conn.execute(
            select(PaymentIntentRow.saved_card_id).where(PaymentIntentRow.id == paid.id)
        ).one()
    assert row.saved_card_id is None
