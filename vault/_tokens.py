"""Token formats: opaque references, and PAN tokens that keep BIN and last four for routing."""

from __future__ import annotations

import re
import secrets

from stdnum import luhn

from ._errors import MalformedToken

__all__ = ["check_token_shape", "is_pan_token", "new_opaque_token", "new_pan_token"]

OPAQUE_PREFIX = "tok_"
# 16 random bytes = 128 bits, in hex: 32 characters.
_OPAQUE = re.compile(r"^tok_[0-9a-f]{32}$")
_DIGITS = re.compile(r"^\d{12,19}$")


def new_opaque_token() -> str:
    return OPAQUE_PREFIX + secrets.token_hex(16)


def bin_length(pan: str) -> int:
    """BIN kept in tokens and masks: 8 digits for PANs of 16 or more, else 6 (PCI DSS 3.4.1)."""
    return 8 if len(pan) >= 16 else 6


def new_pan_token(pan: str) -> str:
    """Keep BIN and last four; draw the middle at random and make the whole fail Luhn.

    Failing Luhn means a token is never mistaken for a card by a scanner, a PSP
    or our own redactor. Changing any one digit changes the Luhn sum mod 10
    (the doubling map is a permutation of 0-9), so one redraw of a digit suffices.
    """
    keep = bin_length(pan)
    middle_len = len(pan) - keep - 4
    middle = [secrets.choice("0123456789") for _ in range(middle_len)]
    candidate = pan[:keep] + "".join(middle) + pan[-4:]
    if luhn.is_valid(candidate):
        position = secrets.randbelow(middle_len)
        current = middle[position]
        middle[position] = secrets.choice([d for d in "0123456789" if d != current])
        candidate = pan[:keep] + "".join(middle) + pan[-4:]
    return candidate


def is_pan_token(token: str) -> bool:
    return bool(_DIGITS.match(token))


def check_token_shape(token: object, *, index: int | None = None) -> str:
    """Reject what cannot be a token before touching the database."""
    if not isinstance(token, str):
        raise MalformedToken(f"token must be a string, not {type(token).__name__}", index=index)
    if _OPAQUE.match(token):
        return token
    if _DIGITS.match(token):
        if luhn.is_valid(token):
            raise MalformedToken(
                "this looks like a card number, not a token: send card numbers only to tokenize",
                index=index,
            )
        return token
    raise MalformedToken(index=index)
