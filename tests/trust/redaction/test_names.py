"""The first-name lists and the trimming of a model's names: pure functions, no model."""

from __future__ import annotations

import pytest

from tessera.trust.redaction._names import ALSO_WORDS, first_names, name_span


def test_first_names_come_from_the_installed_french_and_us_registers() -> None:
    names = first_names()
    assert {"isaac", "martine", "celina", "jean", "john", "mary", "gregoire"} <= names
    assert len(names) > 5_000


@pytest.mark.parametrize("word", ["rose", "will", "may", "france", "orange", "iban", "ira"])
def test_names_that_are_everyday_words_months_or_places_are_left_out(word: str) -> None:
    assert word not in first_names() or word in ALSO_WORDS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pouvez-vous", None),
        ("notre SIRET", None),
        ("Madame", None),
        ("Madame Dupont", "Dupont"),
        ("Jean de La Fontaine", "Jean de La Fontaine"),
        ("Claudine Lambert", "Claudine Lambert"),
    ],
)
def test_a_model_s_name_loses_verbs_titles_and_acronyms_at_its_ends(
    text: str, expected: str | None
) -> None:
    span = name_span(text, 0, len(text))
    assert (text[span[0] : span[1]] if span else None) == expected
