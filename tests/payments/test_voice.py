"""Paying by voice: "pay €45.00 to Boutique Lumière?" spoken back, then the voice PIN; possession
from the registered line (full attestation, no SIM change) or a linked voice assistant's key;
the transcript masks what is said until the PIN is checked; a changed amount is refused."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from tessera.auth import (
    AccountLocked,
    FactorWithheld,
    StepUpFailed,
    VoicePossession,
    check_voice_pin,
)
from tessera.auth._tables import AuthFactorRow
from tessera.payments import IllegalTransition, PaymentState
from tessera.vault import InvalidValue
from tests.auth.conftest import strong_session
from tests.payments.test_cards_on_file import kept_card
from tests.payments.test_payments import euros, intent

LINE = "+33 6 12 34 56 78"  # the number `strong_session` vaults for its customer
ON_THE_LINE = VoicePossession(caller_number=LINE, attestation="A", sim_swapped=False)
PIN = "275913"


def _voice_customer(payments, consents, authenticator, tenant: str, subject: str, clock) -> str:
    session = strong_session(authenticator, tenant, subject, clock)
    authenticator.set_voice_pin(tenant, session, PIN)
    return kept_card(payments, consents, tenant, subject)


@pytest.mark.parametrize(
    "pin", ["12345", "1234567", "12a456", "000000", "123456", "987654", 275913]
)
def test_a_voice_pin_is_six_digits_not_easy_to_guess(pin: object) -> None:
    with pytest.raises(InvalidValue):
        check_voice_pin(pin)
    assert check_voice_pin(PIN) == PIN


def test_a_card_on_file_is_paid_by_voice_with_the_pin_on_the_registered_line(
    payments, consents, authenticator, tenant: str, clock, ledger, shared_stores
) -> None:
    kept = _voice_customer(payments, consents, authenticator, tenant, "voice-1", clock)
    with shared_stores.data.read() as conn:
        stored = conn.execute(
            select(AuthFactorRow.__table__).where(AuthFactorRow.kind == "voice_pin")
        ).all()
    assert stored and PIN not in str(stored) and "argon2" not in str(stored)  # sealed hash
    pending = payments.pay_with_card_on_file(
        tenant,
        intent(payments, tenant, "45.00", subject="voice-1", payee="Boutique Lumière").id,
        kept,
    )
    assert pending.state is PaymentState.AUTHENTICATING
    challenge = payments.begin_authentication(
        tenant, pending.id, "voice_pin", locale="fr", possession=ON_THE_LINE
    )
    assert challenge.options is not None
    spoken = challenge.options["read_back"].replace("\u00a0", " ").replace("\u202f", " ")
    assert spoken == "Paiement de 45,00 € à Boutique Lumière ?"
    # While the dialogue waits for the PIN, the transcript masks what is said.
    (window,) = [w for w in payments_phone(payments).windows(tenant, pending.id)]
    assert window.closed_at is None
    with pytest.raises(StepUpFailed, match="wrong"):
        payments.complete_authentication(tenant, pending.id, challenge.id, code="111111")
    paid = payments.complete_authentication(tenant, pending.id, challenge.id, code=PIN)
    assert paid.state is PaymentState.AUTHORIZED and paid.authenticated
    (window,) = payments_phone(payments).windows(tenant, pending.id)
    assert window.closed_at is not None
    facts = ledger.facts(paid.id, "authenticated")
    assert facts["factor"] == "voice_pin" and facts["possession"] == "line"
    assert facts["sca_elements"] == ["knowledge", "possession"]
    with pytest.raises(IllegalTransition):  # the same answer again: the payment is done
        payments.complete_authentication(tenant, paid.id, challenge.id, code=PIN)


def test_the_line_stands_for_possession_only_when_fully_attested_and_unswapped(
    payments, consents, authenticator, tenant: str, clock
) -> None:
    kept = _voice_customer(payments, consents, authenticator, tenant, "voice-2", clock)
    pending = payments.pay_with_card_on_file(
        tenant, intent(payments, tenant, "45.00", subject="voice-2").id, kept
    )
    for possession, why in [
        (VoicePossession(caller_number=LINE, attestation="A", sim_swapped=True), "SIM"),
        (VoicePossession(caller_number=LINE, attestation="A"), "SIM"),  # no answer: no proof
        (VoicePossession(caller_number=LINE, attestation="B", sim_swapped=False), "attested"),
        (
            VoicePossession(caller_number="+33 7 00 00 00 01", attestation="A", sim_swapped=False),
            "registered",
        ),
    ]:
        with pytest.raises(FactorWithheld, match=why):
            payments.begin_authentication(tenant, pending.id, "voice_pin", possession=possession)
    with pytest.raises(InvalidValue, match="possession"):
        payments.begin_authentication(tenant, pending.id, "voice_pin")


def test_a_changed_amount_after_the_pin_is_refused_and_five_wrong_pins_lock(
    payments, consents, authenticator, tenant: str, clock
) -> None:
    kept = _voice_customer(payments, consents, authenticator, tenant, "voice-3", clock)
    pending = payments.pay_with_card_on_file(
        tenant, intent(payments, tenant, "45.00", subject="voice-3").id, kept
    )
    challenge = payments.begin_authentication(
        tenant, pending.id, "voice_pin", possession=ON_THE_LINE
    )
    # The amount changes after it was spoken back: the right PIN no longer completes it.
    payments.amend(tenant, pending.id, amount=euros("450.00"))
    with pytest.raises(StepUpFailed, match="changed"):
        payments.complete_authentication(tenant, pending.id, challenge.id, code=PIN)
    challenge = payments.begin_authentication(
        tenant, pending.id, "voice_pin", possession=ON_THE_LINE
    )
    # Wrong PINs, challenge after challenge: the fifth locks the account (PSD2 RTS Art. 4(3)(b)).
    with pytest.raises(StepUpFailed, match="6 digits"):
        payments.complete_authentication(tenant, pending.id, challenge.id, code="12")
    for _ in range(2):
        challenge = payments.begin_authentication(
            tenant, pending.id, "voice_pin", possession=ON_THE_LINE
        )
        with pytest.raises(StepUpFailed):
            payments.complete_authentication(tenant, pending.id, challenge.id, code="111111")
    challenge = payments.begin_authentication(
        tenant, pending.id, "voice_pin", possession=ON_THE_LINE
    )
    with pytest.raises(StepUpFailed):
        payments.complete_authentication(tenant, pending.id, challenge.id, code="111111")
    with pytest.raises(AccountLocked):
        payments.begin_authentication(tenant, pending.id, "voice_pin", possession=ON_THE_LINE)


def test_a_linked_voice_assistant_signs_the_payment_with_its_key(
    payments, consents, authenticator, tenant: str, clock
) -> None:
    session = strong_session(authenticator, tenant, "voice-4", clock)
    authenticator.set_voice_pin(tenant, session, PIN)
    assistant = ed25519.Ed25519PrivateKey.generate()
    der = assistant.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    key = authenticator.register_device_key(tenant, session, der, "voice assistant")
    kept = kept_card(payments, consents, tenant, "voice-4")
    pending = payments.pay_with_card_on_file(
        tenant, intent(payments, tenant, "45.00", subject="voice-4").id, kept
    )
    challenge = payments.begin_authentication(
        tenant, pending.id, "voice_pin", possession=VoicePossession(device_key_id=key.id)
    )
    assert challenge.options is not None
    message = challenge.options["approval"]
    with pytest.raises(StepUpFailed, match="sign"):  # the PIN alone is not enough
        payments.complete_authentication(tenant, pending.id, challenge.id, code=PIN)
    challenge = payments.begin_authentication(
        tenant, pending.id, "voice_pin", possession=VoicePossession(device_key_id=key.id)
    )
    message = challenge.options["approval"]
    signature = base64.urlsafe_b64encode(assistant.sign(message.encode())).rstrip(b"=").decode()
    paid = payments.complete_authentication(
        tenant,
        pending.id,
        challenge.id,
        code=PIN,
        credential={"key_id": key.id, "signature": signature},
    )
    assert paid.state is PaymentState.AUTHORIZED


def payments_phone(payments):
    from tessera.payments import PhonePayments

    return PhonePayments(payments)
