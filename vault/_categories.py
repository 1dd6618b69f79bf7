"""Data categories: what a value is decides how it is validated, matched and masked."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import luhn

from ._errors import InvalidValue, SensitiveAuthenticationData

__all__ = ["DataCategory", "PreparedValue", "mask", "prepare", "refuse_card_data"]

MASK = "•"


class DataCategory(enum.StrEnum):
    """What kind of personal or card data a value is."""

    CARD_PAN = "card_pan"
    EMAIL = "email"
    PHONE = "phone"
    IBAN = "iban"
    PERSON_NAME = "person_name"
    POSTAL_ADDRESS = "postal_address"
    DATE_OF_BIRTH = "date_of_birth"
    NATIONAL_ID = "national_id"
    GENERIC = "generic"


# Sensitive authentication data (PCI DSS 3.3.1): refused by name, whatever the category field says.
FORBIDDEN_CATEGORIES = frozenset(
    {
        "cvv",
        "cvc",
        "cvv2",
        "cvc2",
        "cid",
        "card_security_code",
        "pin",
        "pin_block",
        "track",
        "track1",
        "track2",
        "track_data",
        "magnetic_stripe",
    }
)

# Track 1 (%B<pan>^NAME^YYMM...) and track 2 (;<pan>=YYMM...) as read from a stripe or chip.
_TRACK_DATA = re.compile(r"%?B\d{12,19}\^[^^]{0,26}\^\d{4}|;?\d{12,19}=\d{4}\d{3}")
_PAN_SEPARATORS = re.compile(r"[ \-]")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")
# Card data hidden in text: 12 to 19 digits as people write them (grouped by spaces or dashes),
# and a 3- or 4-digit code next to the words that name a security code.
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ \-]?\d){11,18}(?!\d)")
_SECURITY_CODE_WORDS = re.compile(
    r"\b(?:cvv2?|cvc2?|cid|cvn|cryptogramme|security\s+code|code\s+de\s+s[ée]curit[ée]|"
    r"card\s+verification(?:\s+(?:code|value))?)\b",
    re.IGNORECASE,
)
_CODE = re.compile(r"(?<!\d)\d{3,4}(?!\d)")
# Free text is scanned; the structured categories (phone, IBAN, national id, date) are held to
# their own formats, which a card number or a security code does not pass.
_FREE_TEXT = frozenset({"generic", "person_name", "postal_address", "email"})


def refuse_card_data(text: str) -> None:
    """Raise, as the card rules do, when free text carries a card number (Luhn-valid) or a
    security code beside the words that name one: such data goes in `card_pan`, or nowhere."""
    for found in _DIGIT_RUN.finditer(text):
        if luhn.is_valid(_PAN_SEPARATORS.sub("", found.group())):
            raise InvalidValue(
                "the value holds a card number: vault it on its own, as card_pan (PCI DSS 3.4)"
            )
    for word in _SECURITY_CODE_WORDS.finditer(text):
        near = text[max(0, word.start() - 16) : word.end() + 16]
        if _CODE.search(near):
            raise SensitiveAuthenticationData(
                "the value holds a card security code, which is never stored (PCI DSS 3.3.1)"
            )


@dataclass(frozen=True, slots=True)
class PreparedValue:
    """A validated value: `stored` is what the vault encrypts, `normalized` what it indexes."""

    category: DataCategory
    stored: str
    normalized: str


def parse_category(name: str) -> DataCategory:
    lowered = name.strip().lower()
    if lowered in FORBIDDEN_CATEGORIES:
        raise SensitiveAuthenticationData(
            f"category {lowered!r} is sensitive authentication data and is never stored "
            "(PCI DSS 3.3.1)"
        )
    try:
        return DataCategory(lowered)
    except ValueError:
        allowed = ", ".join(c.value for c in DataCategory)
        raise InvalidValue(
            f"unknown data category {name[:40]!r}; expected one of: {allowed}"
        ) from None


def prepare(
    category: DataCategory | str, value: str, *, max_bytes: int, default_region: str = "FR"
) -> PreparedValue:
    """Validate `value` for its category; raise `InvalidValue` without echoing it."""
    if not isinstance(category, DataCategory):
        category = parse_category(category)
    if not isinstance(value, str):
        raise InvalidValue(f"value must be a string, not {type(value).__name__}")
    if len(value) > max_bytes or len(value.encode("utf-8")) > max_bytes:
        from ._errors import ValueTooLarge

        raise ValueTooLarge(f"value exceeds the limit of {max_bytes} bytes")
    stripped = value.strip()
    if not stripped:
        raise InvalidValue("value is empty")
    if _TRACK_DATA.search(value):
        raise SensitiveAuthenticationData(
            "value contains magnetic-stripe track data, which is never stored (PCI DSS 3.3.1)"
        )
    if category.value in _FREE_TEXT:
        refuse_card_data(stripped)
    match category:
        case DataCategory.CARD_PAN:
            digits = _PAN_SEPARATORS.sub("", stripped)
            if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
                raise InvalidValue("card number must be 12 to 19 digits")
            if not luhn.is_valid(digits):
                raise InvalidValue("card number fails the Luhn check")
            return PreparedValue(category, digits, digits)
        case DataCategory.EMAIL:
            if not _EMAIL.match(stripped):
                raise InvalidValue("not a valid email address")
            return PreparedValue(category, stripped, stripped.lower())
        case DataCategory.PHONE:
            try:
                number = phonenumbers.parse(stripped, default_region)
            except phonenumbers.NumberParseException:
                raise InvalidValue("not a valid phone number") from None
            if not phonenumbers.is_possible_number(number):
                raise InvalidValue("not a possible phone number")
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return PreparedValue(category, e164, e164)
        case DataCategory.IBAN:
            try:
                iban = IBAN(stripped)
            except SchwiftyException:
                raise InvalidValue("not a valid IBAN (country, length or mod-97 check)") from None
            return PreparedValue(category, iban.compact, iban.compact)
        case _:
            normalized = " ".join(unicodedata.normalize("NFKC", stripped).casefold().split())
            return PreparedValue(category, stripped, normalized)


def _mask_run(text: str, keep: int = 0) -> str:
    return text[:keep] + MASK * max(3, len(text) - keep)


def mask(category: DataCategory, value: str) -> str:
    """A display form safe for agents and bots: at most BIN-free last four for cards (PCI 3.4.1)."""
    match category:
        case DataCategory.CARD_PAN:
            return f"{MASK * 4} {value[-4:]}"
        case DataCategory.EMAIL:
            local, _, domain = value.partition("@")
            return f"{local[:1]}{MASK * 3}@{domain}"
        case DataCategory.PHONE:
            # E.164: keep the country code and the last two digits.
            try:
                number = phonenumbers.parse(value, None)
                cc = f"+{number.country_code}"
            except phonenumbers.NumberParseException:
                cc = ""
            rest = value[len(cc) :]
            return f"{cc} {MASK * max(1, len(rest) - 2)}{rest[-2:]}".strip()
        case DataCategory.IBAN:
            return f"{value[:4]} {MASK * 4} {value[-4:]}"
        case DataCategory.PERSON_NAME:
            return " ".join(_mask_run(part, 1) for part in value.split())
        case DataCategory.DATE_OF_BIRTH:
            return MASK * 2 + "/" + MASK * 2 + "/" + MASK * 4
        case _:
            return MASK * 6
