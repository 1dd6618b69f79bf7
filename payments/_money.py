"""Amounts as integers of a currency's minor unit (ISO 4217): no float ever holds money.

`Money(1250, "EUR")` is €12.50. Text from a caller ("12.50") is parsed with `Decimal` and refused
when it is more precise than the currency allows (12.505 EUR, 1.5 JPY): rounding someone else's
money silently is a bug, not a convenience.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from iso4217 import Currency

from ._errors import InvalidAmount, UnknownCurrency

__all__ = ["MAX_MINOR", "Money", "minor_unit"]

# Far above any conversation payment, far below what overflows a BIGINT or a float's integer
# precision in a client that parses our JSON: 10^15 minor units.
MAX_MINOR = 10**15


def minor_unit(currency: str) -> int:
    """Digits after the decimal point (EUR 2, JPY 0, BHD 3); refuses funds and metals."""
    try:
        exponent = Currency(currency).exponent if isinstance(currency, str) else None
    except ValueError:
        exponent = None
    if exponent is None:
        shown = currency[:8] if isinstance(currency, str) else type(currency).__name__
        raise UnknownCurrency(f"{shown!r} is not an ISO 4217 currency one can pay in")
    return exponent


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount: int  # in minor units: cents for EUR, yen for JPY
    currency: str

    def __post_init__(self) -> None:
        minor_unit(self.currency)
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidAmount("an amount is an integer of minor units (1250 for 12.50 EUR)")
        if not 0 < self.amount <= MAX_MINOR:
            raise InvalidAmount("an amount is positive and at most 10^15 minor units")

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """ "12.50" EUR → Money(1250, "EUR"); "12.505" EUR is refused, not rounded."""
        digits = minor_unit(currency)
        try:
            value = Decimal(text.strip()) if isinstance(text, str) and len(text) <= 32 else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            raise InvalidAmount("not a decimal amount")
        minor = value.scaleb(digits)
        if minor != minor.to_integral_value():
            raise InvalidAmount(f"{currency} has {digits} decimal places; {text.strip()} has more")
        return cls(int(minor), currency)

    def decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-minor_unit(self.currency))

    def format(self, locale: str = "en") -> str:
        """For people (an SMS stating what they authorize): "12,50 €" in French."""
        return format_currency(self.decimal(), self.currency, locale=locale)

    def __str__(self) -> str:
        return f"{self.decimal()} {self.currency}"
