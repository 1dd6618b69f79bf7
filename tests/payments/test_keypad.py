"""The phone keypad: digits in, progress out; the agent never sees a digit, the card is paid
as a telephone order once complete, and bad keying is cleared, not guessed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from tessera.payments import IllegalTransition, PaymentDeclined, PaymentState, PhonePayments
from tessera.payments._dtmf import KeypadState, press, view
from tessera.payments._tables import PaymentKeypadRow
from tessera.payments.simulator import DECLINED
from tessera.vault import InvalidValue
from tests.payments.test_payments import intent

VISA = "4242424242424242"
AMEX = "378282246310005"


def test_a_card_keyed_in_order_shows_only_progress() -> None:
    state = press(KeypadState(), "424242")
    shown = view(state)
    assert (shown.field, shown.number_digits, shown.brand) == ("number", 6, "visa")
    assert shown.number_luhn_valid is None  # not ended yet
    state = press(state, "4242424242#")
    assert view(state).field == "expiry" and view(state).number_luhn_valid is True
    state = press(state, "1234")
    assert view(state).field == "cvc" and view(state).expiry_digits == 4
    state = press(state, "123")
    assert view(state).complete and view(state).cvc_digits == 3
    assert VISA not in repr(state) and VISA not in repr(view(state))


@pytest.mark.parametrize(
    ("keys", "field", "rejected"),
    [
        ("4242424242424241#", "number", 1),  # fails Luhn: cleared
        ("42424242#", "number", 1),  # too short
        ("4" * 20, "number", 1),  # a 20th digit
        (VISA + "#13", "expiry", 1),  # month 13
        (VISA + "#00", "expiry", 1),
        (VISA + "#12*", "expiry", 0),  # * clears the field being keyed
        (VISA + "#1234" + "12#", "cvc", 1),  # a 2-digit code ended early
        ("42*" + VISA + "#", "expiry", 0),
    ],
)
def test_bad_keying_is_cleared_and_counted(keys: str, field: str, rejected: int) -> None:
    state = press(KeypadState(), keys)
    assert (state.field, state.rejected) == (field, rejected)
    assert getattr(state, state.field) == ""


def test_amex_asks_four_digits_of_security_code() -> None:
    state = press(KeypadState(), AMEX + "#1234123")
    assert state.field == "cvc"
    assert press(state, "4").field == "done"


@pytest.mark.parametrize("keys", ["", "12a", "1" * 65, None, "١٢٣"])
def test_keys_are_dtmf_only(keys) -> None:
    with pytest.raises(ValueError):
        press(KeypadState(), keys)


@pytest.fixture
def phone(payments) -> PhonePayments:
    return PhonePayments(payments)


def test_a_phone_payment_is_a_telephone_order_and_the_keypad_is_wiped(
    phone: PhonePayments, payments, tenant: str, shared_stores, ledger
) -> None:
    created = intent(payments, tenant, "450.00", channel="voice_agent")
    pad = phone.begin(tenant, created.id)
    assert pad.payment.state is PaymentState.AWAITING_CUSTOMER and pad.view.field == "number"
    for chunk in ("4242", "4242", "4242", "4242#", "12", "34"):
        pad = phone.press(tenant, pad.id, chunk)
    assert pad.view.number_digits == 16 and pad.view.number_luhn_valid and pad.view.field == "cvc"
    with shared_stores.data.read() as conn:
        row = conn.execute(
            select(PaymentKeypadRow.__table__).where(PaymentKeypadRow.id == pad.id)
        ).one()
    assert VISA.encode() not in row.sealed and b"1234" not in row.sealed  # sealed, not stored
    pad = phone.press(tenant, pad.id, "123")
    assert pad.state == "submitted" and pad.payment.state is PaymentState.AUTHORIZED
    assert pad.payment.sca is not None and pad.payment.sca.exemption.value == "moto"
    assert phone.get(tenant, pad.id).view.complete
    with shared_stores.data.read() as conn:
        row = conn.execute(
            select(PaymentKeypadRow.__table__).where(PaymentKeypadRow.id == pad.id)
        ).one()
    assert row.sealed is None
    with pytest.raises(IllegalTransition):
        phone.press(tenant, pad.id, "1")
    assert VISA not in json.dumps(ledger.events, default=str)
    assert "keypad_started" in ledger.kinds(created.id)


def test_an_expired_card_on_the_keypad_asks_for_the_expiry_again(
    phone: PhonePayments, payments, tenant: str
) -> None:
    created = intent(payments, tenant, "20.00", channel="voice_agent")
    pad = phone.begin(tenant, created.id)
    pad = phone.press(tenant, pad.id, VISA + "#0120" + "123")
    assert pad.state == "keying" and pad.view.field == "expiry" and pad.view.rejected == 1
    pad = phone.press(tenant, pad.id, "1230123")
    assert pad.payment.state is PaymentState.AUTHORIZED


def test_a_declined_phone_payment_closes_the_keypad(
    phone: PhonePayments, payments, tenant: str
) -> None:
    created = intent(payments, tenant, "20.00", channel="voice_agent")
    pad = phone.begin(tenant, created.id)
    with pytest.raises(PaymentDeclined):
        phone.press(tenant, pad.id, DECLINED + "#1234123")
    assert phone.get(tenant, pad.id).state == "ended"
    assert payments.get(tenant, created.id).state is PaymentState.FAILED


def test_a_new_keypad_ends_the_last_and_others_cannot_use_it(
    phone: PhonePayments, payments, tenant: str, other_tenant: str, clock
) -> None:
    created = intent(payments, tenant, "20.00", channel="voice_agent")
    first = phone.begin(tenant, created.id)
    phone.press(tenant, first.id, "4242")
    second = phone.begin(tenant, created.id)
    assert phone.get(tenant, first.id).state == "ended"
    with pytest.raises(IllegalTransition):
        phone.press(tenant, first.id, "4242")
    from tessera.payments import UnknownPayment

    with pytest.raises(UnknownPayment):
        phone.press(other_tenant, second.id, "4242")
    with pytest.raises(InvalidValue):
        phone.press(tenant, second.id, "4242x")
    assert phone.get(tenant, second.id).view.number_digits == 0  # the bad press changed nothing
    clock.advance(minutes=16)
    assert phone.get(tenant, second.id).state == "ended"


def test_the_keypad_windows_are_when_each_keypad_was_open(
    phone: PhonePayments, payments, tenant: str, other_tenant: str, clock
) -> None:
    """What the transcript's redaction places the call's turns in."""
    from tessera.payments import UnknownPayment

    created = intent(payments, tenant, "20.00", channel="voice_agent")
    assert phone.windows(tenant, created.id) == []
    start = clock()
    first = phone.begin(tenant, created.id)
    clock.advance(minutes=1)
    second = phone.begin(tenant, created.id)  # ends the first
    (closed, still_open) = phone.windows(tenant, created.id)
    assert (closed.keypad_id, closed.opened_at, closed.closed_at) == (
        first.id, start, start + dt.timedelta(minutes=1),
    )  # fmt: skip
    assert (still_open.keypad_id, still_open.closed_at) == (second.id, None)
    clock.advance(minutes=2)
    phone.press(tenant, second.id, VISA + "#1234123")
    assert phone.windows(tenant, created.id)[1].closed_at == start + dt.timedelta(minutes=3)
    with pytest.raises(UnknownPayment):
        phone.windows(other_tenant, created.id)
    with pytest.raises(UnknownPayment):
        phone.windows(tenant, "x" * 500)
