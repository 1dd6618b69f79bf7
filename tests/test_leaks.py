"""The leak check itself: it finds a secret in any value, and not in random ids or times."""

from __future__ import annotations

import pytest

from tests.leaks import assert_not_shown


def test_a_secret_anywhere_in_a_value_is_found() -> None:
    with pytest.raises(AssertionError):
        assert_not_shown("123", {"detail": "code 123 refused"})
    with pytest.raises(AssertionError):
        assert_not_shown("123", '{"items": [{"cvc": "123"}]}')
    with pytest.raises(AssertionError):
        assert_not_shown("123", "not json: 123")


def test_random_ids_tokens_and_times_are_left_out() -> None:
    assert_not_shown(
        "123",
        {
            "id": "pay_x123y",
            "card_token": "tok_123",
            "created_at": "2026-12-02T10:00:00.123456+00:00",
            "payment": "pay_123abcdefgh",
            "state": "authorized",
        },
    )
