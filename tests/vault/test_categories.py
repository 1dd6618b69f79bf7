from __future__ import annotations

import pytest

from tessera.vault import (
    DataCategory,
    InvalidValue,
    SensitiveAuthenticationData,
    ValueTooLarge,
    mask,
)
from tessera.vault._categories import parse_category, prepare

LIMIT = 4096


def p(category: str, value: object):
    return prepare(category, value, max_bytes=LIMIT)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("4242 4242 4242 4242", "4242424242424242"),
        ("4242-4242-4242-4242", "4242424242424242"),
        ("378282246310005", "378282246310005"),  # Amex, 15 digits
        ("4970101234567893", "4970101234567893"),
    ],
)
def test_valid_card_numbers_are_stored_as_digits(value: str, stored: str) -> None:
    assert p("card_pan", value).stored == stored


@pytest.mark.parametrize(
    "value",
    [
        "4242 4242 4242 4241",
        "1234",
        "42424242424242424242",
        "4242x4242x4242x4242",
        "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",
    ],
)
def test_invalid_card_numbers_are_refused(value: str) -> None:
    with pytest.raises(InvalidValue) as err:
        p("card_pan", value)
    assert value not in str(err.value)


@pytest.mark.parametrize("category", ["cvv", "CVC", "cvv2", "pin", "track2", "track_data"])
def test_sensitive_authentication_data_is_refused_by_category(category: str) -> None:
    with pytest.raises(SensitiveAuthenticationData, match=r"PCI DSS 3\.3\.1"):
        p(category, "123")


@pytest.mark.parametrize(
    "value",
    [
        "%B4242424242424242^DUPONT/JEAN^2712101000000000000000000?",
        ";4242424242424242=27121010000000000000?",
        "note: 4242424242424242=2712101123",
    ],
)
def test_track_data_is_refused_in_any_category(value: str) -> None:
    with pytest.raises(SensitiveAuthenticationData):
        p("generic", value)


def test_unknown_category_lists_the_allowed_ones() -> None:
    with pytest.raises(InvalidValue, match="card_pan"):
        parse_category("shoe_size")


@pytest.mark.parametrize(
    ("category", "value", "message"),
    [
        ("email", "not-an-email", "email"),
        ("email", "a@b", "email"),
        ("phone", "hello", "phone"),
        ("phone", "+33 1", "phone"),
        ("iban", "FR14 2004 1010 0505 0001 3M02 607", "IBAN"),
        ("iban", "XX00", "IBAN"),
        ("generic", "   ", "empty"),
    ],
)
def test_values_are_checked_against_their_category(category: str, value: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        p(category, value)


def test_value_over_the_limit_is_refused_by_bytes_not_characters() -> None:
    p("generic", "é" * (LIMIT // 2))
    with pytest.raises(ValueTooLarge):
        p("generic", "é" * (LIMIT // 2 + 1))


def test_non_string_value_is_refused() -> None:
    with pytest.raises(InvalidValue, match="string"):
        p("generic", 1234)


def test_phone_numbers_normalise_to_e164_with_the_default_region() -> None:
    assert p("phone", "06 12 34 56 78").stored == "+33612345678"
    assert p("phone", "+44 20 7946 0958").stored == "+442079460958"


def test_email_matches_case_insensitively_but_is_stored_as_given() -> None:
    prepared = p("email", " Jean.Dupont@Example.FR ")
    assert prepared.stored == "Jean.Dupont@Example.FR"
    assert prepared.normalized == "jean.dupont@example.fr"


def test_generic_values_normalise_case_accents_form_and_spaces() -> None:
    assert p("person_name", "  Ｊean   DUPONT ").normalized == "jean dupont"


@pytest.mark.parametrize(
    ("category", "value", "masked"),
    [
        (DataCategory.CARD_PAN, "4242424242424242", "•••• 4242"),
        (DataCategory.EMAIL, "jean@example.fr", "j•••@example.fr"),
        (DataCategory.PHONE, "+33612345678", "+33 •••••••78"),
        (DataCategory.IBAN, "FR1420041010050500013M02606", "FR14 •••• 2606"),
        (DataCategory.PERSON_NAME, "Jean Dupont", "J••• D•••••"),
        (DataCategory.DATE_OF_BIRTH, "1985-04-12", "••/••/••••"),
        (DataCategory.GENERIC, "anything at all", "••••••"),
    ],
)
def test_masks_show_at_most_what_their_category_allows(
    category: DataCategory, value: str, masked: str
) -> None:
    assert mask(category, value) == masked


@pytest.mark.parametrize(
    ("category", "value", "error"),
    [
        ("generic", "my card is 4970 1012 3456 7893 cvv 123", InvalidValue),
        ("generic", "carte 4970-1012-3456-7893", InvalidValue),
        ("generic", "4970101234567893", InvalidValue),
        ("postal_address", "4970 1012 3456 7893 rue de la Paix", InvalidValue),
        ("person_name", "Jean 5555555555554444", InvalidValue),
        ("email", "4970101234567893@example.fr", InvalidValue),
        ("generic", "the CVV is 123", SensitiveAuthenticationData),
        ("generic", "cryptogramme: 4321", SensitiveAuthenticationData),
        ("generic", "code de sécurité 987", SensitiveAuthenticationData),
    ],
)
def test_card_data_never_hides_in_free_text(category, value, error) -> None:
    with pytest.raises(error) as raised:
        prepare(category, value, max_bytes=LIMIT)
    assert "4970" not in str(raised.value) and "123" not in str(raised.value)


@pytest.mark.parametrize(
    ("category", "value"),
    [
        ("generic", "order 4970101234567890 shipped"),  # 16 digits, fails Luhn: an order number
        ("generic", "call back at 14:30, ticket 123"),
        ("postal_address", "123 avenue des Champs-Élysées, 75008 Paris"),
        ("generic", "the CVV field was left empty"),
        ("national_id", "1 84 12 76 451 089 46"),
    ],
)
def test_free_text_without_card_data_is_kept(category, value) -> None:
    assert prepare(category, value, max_bytes=LIMIT).stored == value
