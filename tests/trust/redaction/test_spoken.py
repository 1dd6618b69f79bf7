"""Spoken numbers and spelled e-mails rewritten for the checksum recognizers: pure functions."""

from __future__ import annotations

import pytest

from tessera.trust.redaction._spoken import normalize


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("zéro six douze trente-quatre cinquante-six soixante-dix-huit", "0612345678"),
        # A hyphenated compound is whole: the next word starts a new number.
        ("zéro sept trente soixante-quatre vingt-quatre quatre-vingt-deux", "0730642482"),
        ("zéro sept soixante et un soixante-quinze quarante-quatre vingt", "0761754420"),
        ("zéro sept cinquante-huit cinquante quatre-vingt-dix-huit soixante-huit", "0758509868"),
        # Words said apart are joined when they can only be one number.
        ("soixante douze", "72"),
        ("soixante dix-sept", "77"),
        ("quatre-vingt dix-sept", "97"),
        ("quatre vingt", "80"),
        ("trois cent quatre vingt", "380"),
        ("deux cent quatre-vingt-dix-neuf", "299"),
        ("forty two", "42"),
        ("four two four two", "4242"),
        ("three hundred and five", "305"),
        ("double four seven", "447"),
    ],
)
def test_spoken_numbers_become_the_digits_a_caller_dictates(said: str, digits: str) -> None:
    assert normalize(said).text == digits


def test_a_rewritten_span_maps_back_to_the_words_that_said_it() -> None:
    said = "c'est le zéro six douze trente-quatre cinquante-six soixante-dix-huit merci"
    spoken = normalize(said)
    start = spoken.text.index("0612345678")
    begin, end = spoken.span(start, start + 10)
    assert said[begin:end] == "zéro six douze trente-quatre cinquante-six soixante-dix-huit"


def test_one_weak_word_alone_is_not_a_number() -> None:
    assert not normalize("un client").changed
    assert not normalize("oh well").changed
