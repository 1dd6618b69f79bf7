from __future__ import annotations

import re

import pytest
from stdnum import luhn

from tessera.vault import MalformedToken
from tessera.vault._tokens import check_token_shape, new_opaque_token, new_pan_token


def test_opaque_tokens_carry_128_random_bits() -> None:
    tokens = {new_opaque_token() for _ in range(2000)}
    assert len(tokens) == 2000
    for token in tokens:
        assert re.fullmatch(r"tok_[0-9a-f]{32}", token)  # 128 bits


@pytest.mark.parametrize(
    ("pan", "kept_prefix"),
    [
        ("4970101234567893", "49701012"),  # 16 digits: BIN 8
        ("378282246310005", "378282"),  # 15 digits: BIN 6
        ("6011000990139424", "60110009"),
        ("4000056655665556123", "40000566"),  # 19 digits
        ("420000000006", "420000"),  # 12 digits: 2 free middle digits
    ],
)
def test_pan_tokens_keep_bin_and_last_four_and_always_fail_luhn(pan: str, kept_prefix: str) -> None:
    for _ in range(500):
        token = new_pan_token(pan)
        assert len(token) == len(pan)
        assert token.startswith(kept_prefix)
        assert token[-4:] == pan[-4:]
        assert not luhn.is_valid(token)


def test_pan_tokens_spread_over_the_free_middle_digits() -> None:
    seen = {new_pan_token("4970101234567893") for _ in range(3000)}
    assert len(seen) > 2000  # 4 free digits: 9,000 Luhn-failing middles


@pytest.mark.parametrize(
    "token", ["tok_abc", "TOK_" + "a" * 32, "", "tok_" + "g" * 32, "12345", "4242 4242 4242 4241"]
)
def test_malformed_tokens_are_refused_before_any_lookup(token: str) -> None:
    with pytest.raises(MalformedToken):
        check_token_shape(token)


def test_a_card_number_sent_as_a_token_is_called_out() -> None:
    with pytest.raises(MalformedToken, match="card number"):
        check_token_shape("4242424242424242")


def test_non_string_token_is_malformed() -> None:
    with pytest.raises(MalformedToken, match="string"):
        check_token_shape(42)
