"""SCA in a payment, bound to its amount and payee (dynamic linking, RTS Art. 5): a passkey
signs a challenge derived from the payment; a one-time code states amount and payee."""

from __future__ import annotations

import pytest

from tessera.auth import AccountLocked, Authenticator, ReplayedCode, StepUpFailed
from tessera.auth.softkey import SoftPasskey
from tessera.payments import IllegalTransition, Money, PaymentState
from tests.auth.conftest import ORIGIN, RP_ID, strong_session, with_phone
from tests.payments.conftest import card, euros
from tests.payments.test_payments import charges, intent


def passkey_for(auth: Authenticator, tenant: str, subject: str, clock) -> SoftPasskey:
    session = strong_session(auth, tenant, subject, clock)
    key = SoftPasskey(rp_id=RP_ID, origin=ORIGIN)
    registration = auth.begin_passkey(tenant, session, "phone")
    auth.complete_passkey(tenant, registration.id, key.register(registration.options))
    return key


def test_a_passkey_authenticates_the_amount_and_payee_it_was_shown(
    payments, authenticator, tenant: str, clock, ledger, processor_url: str
) -> None:
    key = passkey_for(authenticator, tenant, "payer-1", clock)
    pending = payments.pay_with_card(
        tenant, intent(payments, tenant, "150.00", subject="payer-1").id, card()
    )
    assert pending.state is PaymentState.AUTHENTICATING
    challenge = payments.begin_authentication(tenant, pending.id, "webauthn")
    assertion = key.assert_(challenge.options)
    paid = payments.complete_authentication(tenant, pending.id, challenge.id, credential=assertion)
    assert paid.state is PaymentState.AUTHORIZED and paid.authenticated
    assert ledger.kinds(paid.id)[-2:] == ["authenticated", "authorized"]
    with pytest.raises(IllegalTransition):  # done: the assertion can't be used again
        payments.complete_authentication(tenant, paid.id, challenge.id, credential=assertion)
    made = [c for c in charges(processor_url) if c["key"] == f"{paid.id}:authorize"]
    assert len(made) == 1 and made[0]["amount"] == 15_000

    # The next low-value payment starts a new allowance: the SCA reset the counters.
    small = payments.pay_with_card(
        tenant, intent(payments, tenant, "29.00", subject="payer-1").id, card()
    )
    assert small.state is PaymentState.AUTHORIZED


def test_a_changed_amount_or_payee_after_authentication_is_refused(
    payments, authenticator, tenant: str, clock
) -> None:
    key = passkey_for(authenticator, tenant, "payer-2", clock)
    pending = payments.pay_with_card(
        tenant, intent(payments, tenant, "150.00", subject="payer-2").id, card()
    )
    for change in [{"amount": euros("1500.00")}, {"payee": "Mallory Ltd"}]:
        challenge = payments.begin_authentication(tenant, pending.id, "webauthn")
        assertion = key.assert_(challenge.options)  # the payer saw and signed the old terms
        payments.amend(tenant, pending.id, **change)
        with pytest.raises(StepUpFailed, match="transaction changed"):
            payments.complete_authentication(tenant, pending.id, challenge.id, credential=assertion)
        assert payments.get(tenant, pending.id).state is PaymentState.AUTHENTICATING
    # A challenge is void once a newer one began for the same payment (a new nonce).
    older = payments.begin_authentication(tenant, pending.id, "webauthn")
    older_assertion = key.assert_(older.options)
    challenge = payments.begin_authentication(tenant, pending.id, "webauthn")
    with pytest.raises(StepUpFailed, match="transaction changed"):
        payments.complete_authentication(tenant, pending.id, older.id, credential=older_assertion)
    # Authenticated again, for the terms as they are now: it goes through.
    done = payments.complete_authentication(
        tenant, pending.id, challenge.id, credential=key.assert_(challenge.options)
    )
    assert done.amount == euros("1500.00") and done.payee == "Mallory Ltd"
    # Once authorized, the terms can no longer change.
    with pytest.raises(IllegalTransition):
        payments.amend(tenant, pending.id, amount=euros("1.00"))


def test_a_one_time_code_states_amount_and_payee(
    payments, authenticator, tenant: str, clock
) -> None:
    with_phone(authenticator, tenant, "payer-3")
    pending = payments.pay_with_card(
        tenant, intent(payments, tenant, "150.00", subject="payer-3").id, card()
    )
    challenge = payments.begin_authentication(tenant, pending.id, "otp", locale="fr-FR")
    sms = authenticator.notifier.last().message
    assert sms.startswith("Paiement de 150,00\xa0€ à Boutique Lumière : ")
    code = sms.split(": ")[1][:6]
    with pytest.raises(StepUpFailed) as wrong:
        payments.complete_authentication(tenant, pending.id, challenge.id, code="000000")
    assert wrong.value.attempts_left == 2
    paid = payments.complete_authentication(tenant, pending.id, challenge.id, code=code)
    assert paid.state is PaymentState.AUTHORIZED
    with pytest.raises(IllegalTransition):
        payments.complete_authentication(tenant, pending.id, challenge.id, code=code)

    english = payments.pay_with_card(
        tenant, intent(payments, tenant, "200.00", subject="payer-3").id, card()
    )
    payments.begin_authentication(tenant, english.id, "otp")
    assert authenticator.notifier.last().message.startswith("Payment of €200.00 to ")


def test_failed_payment_authentications_lock_the_payer(
    payments, authenticator, tenant: str, clock
) -> None:
    with_phone(authenticator, tenant, "payer-4")
    pending = payments.pay_with_card(
        tenant, intent(payments, tenant, "150.00", subject="payer-4").id, card()
    )
    failures = 0
    with pytest.raises(AccountLocked):
        while True:
            challenge = payments.begin_authentication(tenant, pending.id, "otp")
            for _ in range(3):
                try:
                    payments.complete_authentication(
                        tenant, pending.id, challenge.id, code="000000"
                    )
                except StepUpFailed:
                    failures += 1
                except ReplayedCode:
                    break
    assert failures == 5  # PSD2 RTS Art. 4(3)(b)
    assert payments.get(tenant, pending.id).state is PaymentState.AUTHENTICATING


def test_sca_needs_an_enrolled_factor_and_a_payment_waiting_for_it(payments, tenant: str) -> None:
    from tessera.auth import FactorNotEnrolled

    pending = payments.pay_with_card(
        tenant, intent(payments, tenant, "150.00", subject="payer-5").id, card()
    )
    with pytest.raises(FactorNotEnrolled):
        payments.begin_authentication(tenant, pending.id, "webauthn")
    exempt = payments.pay_with_card(
        tenant, intent(payments, tenant, "10.00", subject="payer-5").id, card()
    )
    with pytest.raises(IllegalTransition):
        payments.begin_authentication(tenant, exempt.id, "otp")
    assert Money(15_000, "EUR") == pending.amount


def test_a_timeout_after_authentication_is_retried_without_a_second_charge(
    payments, authenticator, tenant: str, clock, processor_url: str
) -> None:
    from tessera.payments import ProcessorUnavailable
    from tessera.payments.simulator import SLOW

    key = passkey_for(authenticator, tenant, "payer-6", clock)
    pending = payments.pay_with_card(
        tenant, intent(payments, tenant, "150.00", subject="payer-6").id, card(SLOW)
    )
    challenge = payments.begin_authentication(tenant, pending.id, "webauthn")
    assertion = key.assert_(challenge.options)
    with pytest.raises(ProcessorUnavailable):
        payments.complete_authentication(tenant, pending.id, challenge.id, credential=assertion)
    waiting = payments.get(tenant, pending.id)
    assert waiting.state is PaymentState.AUTHENTICATING and waiting.authenticated
    with pytest.raises(IllegalTransition):  # authenticated terms are frozen
        payments.amend(tenant, pending.id, amount=euros("1500.00"))
    with pytest.raises(IllegalTransition):  # and so is the card
        payments.pay_with_card(tenant, pending.id, card())
    paid = payments.complete_authentication(tenant, pending.id, challenge.id, credential=assertion)
    assert paid.state is PaymentState.AUTHORIZED
    made = [c for c in charges(processor_url, "0259") if c["key"] == f"{paid.id}:authorize"]
    assert len(made) == 1 and made[0]["amount"] == 15_000
