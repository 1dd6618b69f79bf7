"""What redaction finds and returns: the values the engine, the service and the files share.

Plain frozen dataclasses, so that the recognizers, the known subject's matching and the
transcript readers can use them without importing the engine (or spaCy).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "VAULT_CATEGORY",
    "WINDOW_MARGIN",
    "Finding",
    "KnownValue",
    "NumberWindow",
    "Redacted",
    "RedactionMode",
    "Tokenizer",
    "Turn",
]

# Between the telephony's clock and ours, and the speech-to-text's timing of an utterance.
WINDOW_MARGIN = dt.timedelta(seconds=10)


class RedactionMode(enum.StrEnum):
    MASK = "mask"  # •••
    TAG = "tag"  # <CARD>
    TOKEN = "token"  # noqa: S105  (a vault token, reversible only through the gateway)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found, with who decided and why: what a reviewer needs, never the value."""

    start: int
    end: int
    entity: str
    score: float
    recognizer: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    findings: tuple[Finding, ...]
    language: str


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: str
    text: str
    language: str | None = None
    at: dt.datetime | None = None  # when it was said (aware), to place it in a NumberWindow


@dataclass(frozen=True, slots=True)
class NumberWindow:
    """A time in the conversation when every number said is taken for a card: a keypad was
    open for a phone payment, so the digits heard then are the card's, whatever their form."""

    start: dt.datetime
    end: dt.datetime | None  # still open
    why: str

    def holds(self, at: dt.datetime) -> bool:
        return self.start - WINDOW_MARGIN <= at and (
            self.end is None or at <= self.end + WINDOW_MARGIN
        )


@dataclass(frozen=True, slots=True)
class KnownValue:
    """A value of the conversation's own subject (from the vault), to be found even when the
    speech-to-text got its case, accents or a letter wrong."""

    entity: str  # PERSON, EMAIL, PHONE, ADDRESS
    value: str = field(repr=False)


# The vault category a found entity is tokenized under (token mode).
VAULT_CATEGORY = {
    "CARD": "card_pan",
    "IBAN": "iban",
    "PHONE": "phone",
    "EMAIL": "email",
    "PERSON": "person_name",
    "ADDRESS": "postal_address",
    "DATE_OF_BIRTH": "date_of_birth",
    "NIR": "national_id",
    "SSN": "national_id",
    "ITIN": "national_id",
    "NINO": "national_id",
}

Tokenizer = Callable[[str, str], str]  # (vault category, value) → token
