"""Card details as the customer keys them: checked before anything is vaulted or sent.

The security code lives only in a `CardDetails` (never printed: `repr=False`) on its way to the
processor, or sealed by the vault while an authentication is pending (PCI DSS v4.0 3.3.2).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from stdnum import luhn

from ._errors import InvalidCard

__all__ = ["CardDetails", "card_brand", "parse_expiry"]

_DIGITS = re.compile(r"\d{12,19}")
_EXPIRY = re.compile(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})")
_CVC = re.compile(r"\d{3,4}")


def card_brand(pan: str) -> str:
    """The scheme from the leading digits, for display ("visa ••4242") and routing."""
    if pan.startswith("4"):
        return "visa"
    two, four = int(pan[:2]), int(pan[:4])
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if pan.startswith(("6011", "65")) or 644 <= int(pan[:3]) <= 649:
        return "discover"
    if 3528 <= four <= 3589:
        return "jcb"
    return "card"


def parse_expiry(text: str, today: dt.date) -> str:
    """ "MM/YY" or "MM/YYYY" → "MM/YY"; a card is valid through the last day of its month."""
    match = _EXPIRY.fullmatch(text.strip()) if isinstance(text, str) and len(text) <= 10 else None
    if match is None:
        raise InvalidCard("the expiry date is MM/YY")
    month, year = int(match[1]), int(match[2]) % 100
    if not 1 <= month <= 12:
        raise InvalidCard("the expiry month is 01 to 12")
    if (2000 + year, month) < (today.year, today.month):
        raise InvalidCard("the card has expired")
    if 2000 + year > today.year + 20:
        raise InvalidCard("the expiry date is too far ahead")
    return f"{month:02d}/{year:02d}"


@dataclass(frozen=True, slots=True)
class CardDetails:
    pan: str = field(repr=False)
    expiry: str  # MM/YY
    cvc: str | None = field(default=None, repr=False)

    @classmethod
    def keyed(cls, pan: str, expiry: str, cvc: str | None, *, today: dt.date) -> CardDetails:
        """From what the customer typed: spaces and dashes allowed, the Luhn check required."""
        digits = re.sub(r"[ \-]", "", pan) if isinstance(pan, str) and len(pan) <= 32 else ""
        if not _DIGITS.fullmatch(digits) or not luhn.is_valid(digits):
            raise InvalidCard("the card number is not valid")
        if cvc is not None and (not isinstance(cvc, str) or not _CVC.fullmatch(cvc.strip())):
            raise InvalidCard("the security code is 3 or 4 digits")
        return cls(digits, parse_expiry(expiry, today), cvc.strip() if cvc else None)

    @property
    def brand(self) -> str:
        return card_brand(self.pan)
