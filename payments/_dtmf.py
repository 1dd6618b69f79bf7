"""Agent-assisted phone payment: the customer keys the card on the phone's keypad.

The telephony side streams the DTMF digits to Tessera (never to the agent, the recording or
the transcript). This module is the pure part: the digits so far, in, a new state and what the
agent may see, out. Keys: digits; `#` ends the card number (or the security code); `*` clears
the field being keyed. Expiry is four digits, MMYY, and ends by itself.

The agent sees a `KeypadView`: which field, how many digits, whether the number passes Luhn,
the brand from its first digits; never a digit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from stdnum import luhn

from ._card import card_brand

__all__ = ["KeypadState", "KeypadView", "press", "view"]

_KEYS = re.compile(r"[0-9*#]{1,64}")
_FIELDS = ("number", "expiry", "cvc", "done")


@dataclass(frozen=True, slots=True)
class KeypadState:
    """Everything keyed so far (kept sealed between two key presses)."""

    number: str = ""
    expiry: str = ""
    cvc: str = ""
    field: str = "number"
    rejected: int = 0  # fields refused and cleared (a wrong length, an invalid number)

    def __repr__(self) -> str:  # never the digits, even in a traceback
        return f"KeypadState(field={self.field!r}, rejected={self.rejected})"


@dataclass(frozen=True, slots=True)
class KeypadView:
    """What the agent's screen shows: progress, never a digit."""

    field: str  # number, expiry, cvc, done
    number_digits: int
    number_luhn_valid: bool | None  # None until the number is ended with #
    brand: str | None
    expiry_digits: int
    cvc_digits: int
    rejected: int
    complete: bool


def _valid_number(number: str) -> bool:
    return 12 <= len(number) <= 19 and luhn.is_valid(number)


def _expiry_ok(expiry: str) -> bool:
    return len(expiry) == 4 and 1 <= int(expiry[:2]) <= 12


def press(state: KeypadState, keys: str) -> KeypadState:
    """Apply the keys in order. Impossible input (a 20th digit, a 13th month, a number that
    fails Luhn) clears that field and counts a rejection, as a keypad IVR would."""
    if not isinstance(keys, str) or not _KEYS.fullmatch(keys):
        raise ValueError("keys are 1 to 64 of 0-9, * and #")
    for key in keys:
        state = _press_one(state, key)
    return state


def _press_one(s: KeypadState, key: str) -> KeypadState:
    if s.field == "done":
        return s
    current = getattr(s, s.field)
    if key == "*":
        return replace(s, **{s.field: ""})  # type: ignore[arg-type]  # the field is a text one
    if s.field == "number":
        if key == "#":
            if _valid_number(current):
                return replace(s, field="expiry")
            return replace(s, number="", rejected=s.rejected + 1)
        if len(current) == 19:
            return replace(s, number="", rejected=s.rejected + 1)
        return replace(s, number=current + key)
    if s.field == "expiry":
        if key == "#":
            return s  # nothing to end: four digits end it
        expiry = current + key
        if len(expiry) == 2 and not 1 <= int(expiry) <= 12:
            return replace(s, expiry="", rejected=s.rejected + 1)
        if len(expiry) == 4:
            return replace(s, expiry=expiry, field="cvc")
        return replace(s, expiry=expiry)
    # the security code: 3 digits, 4 for American Express, ended by # or by its length
    wanted = 4 if card_brand(s.number) == "amex" else 3
    if key == "#":
        if len(current) == wanted:
            return replace(s, field="done")
        return replace(s, cvc="", rejected=s.rejected + 1)
    cvc = current + key
    return replace(s, cvc=cvc, field="done" if len(cvc) == wanted else "cvc")


def view(state: KeypadState) -> KeypadView:
    number_ended = state.field != "number"
    return KeypadView(
        field=state.field,
        number_digits=len(state.number),
        number_luhn_valid=_valid_number(state.number) if number_ended else None,
        brand=card_brand(state.number) if len(state.number) >= 6 else None,
        expiry_digits=len(state.expiry),
        cvc_digits=len(state.cvc),
        rejected=state.rejected,
        complete=state.field == "done",
    )


def expiry_text(state: KeypadState) -> str:
    """MM/YY, as the card parser reads it."""
    return f"{state.expiry[:2]}/{state.expiry[2:]}"
