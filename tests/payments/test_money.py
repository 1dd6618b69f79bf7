"""Money is integers of minor units: no float, no silent rounding, no made-up currency."""

from __future__ import annotations

import pytest

from tessera.payments import (
    IllegalTransition,
    InvalidAmount,
    Money,
    PaymentState,
    UnknownCurrency,
    advance,
)


def test_amounts_parse_exactly_per_currency() -> None:
    assert Money.parse("12.50", "EUR") == Money(1250, "EUR")
    assert Money.parse(" 12.5 ", "EUR") == Money(1250, "EUR")
    assert Money.parse("1500", "JPY") == Money(1500, "JPY")
    assert Money.parse("1.234", "BHD") == Money(1234, "BHD")
    assert str(Money(1250, "EUR")) == "12.50 EUR"
    assert Money(1250, "EUR").format("fr") == "12,50\xa0€"
    assert Money(1250, "EUR").format("en") == "€12.50"


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("12.505", "EUR"),  # over-precise: refused, not rounded
        ("1.5", "JPY"),
        ("0", "EUR"),
        ("-5", "EUR"),
        ("NaN", "EUR"),
        ("Infinity", "EUR"),
        ("1e400", "EUR"),
        ("12,50", "EUR"),
        ("", "EUR"),
        ("9" * 40, "EUR"),
    ],
)
def test_bad_amounts_are_refused(text: str, currency: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.parse(text, currency)


@pytest.mark.parametrize("amount", [0, -1, 10**15 + 1, 12.5, True, "1250", None])
def test_bad_minor_amounts_are_refused(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        Money(amount, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["EUX", "eur", "XAU", "XXX", "", "EURO", 978, None])
def test_unknown_or_unpayable_currencies_are_refused(currency: object) -> None:
    with pytest.raises(UnknownCurrency):
        Money(100, currency)  # type: ignore[arg-type]


def test_the_state_table_allows_only_forward_steps() -> None:
    s = PaymentState
    assert advance(s.CREATED, s.AWAITING_CUSTOMER) is s.AWAITING_CUSTOMER
    assert advance(s.AUTHENTICATING, s.AUTHORIZED) is s.AUTHORIZED
    assert advance(s.CAPTURED, s.CAPTURED) is s.CAPTURED  # a partial refund
    for current, to in [
        (s.CREATED, s.CAPTURED),  # capture before authorization
        (s.AUTHORIZED, s.REFUNDED),  # refund what was never captured
        (s.FAILED, s.AUTHORIZED),
        (s.REFUNDED, s.CAPTURED),
        (s.EXPIRED, s.AWAITING_CUSTOMER),
    ]:
        with pytest.raises(IllegalTransition) as caught:
            advance(current, to)
        assert caught.value.state == current
    assert s.FAILED.final and not s.CAPTURED.final
