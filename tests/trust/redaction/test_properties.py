"""Properties of the redactor over generated conversations: its spans never overlap and stay
inside the text, and it changes nothing outside them (what it keeps is kept verbatim)."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.trust import Redactor
from tessera.trust.redaction import Finding, KnownValue, RedactionMode, shared_redactor

FILLER = st.sampled_from(
    [
        "bonjour",
        "merci beaucoup",
        "je voudrais changer mon adresse",
        "pouvez-vous répéter",
        "d'accord, c'est noté",
        "hello, I would like to pay",
        "ok",
        "  ",
        "?",
        "é à ç",
    ]
)
PERSONAL = st.sampled_from(
    [
        "4970 1012 3456 7893",
        "jean.dupont@example.fr",
        "06 12 34 56 78",
        "+33 6 12 34 56 78",
        "FR76 3000 6000 0112 3456 7890 189",
        "Marie Curie",
        "12 rue de la Paix, 75002 Paris",
        "quatre neuf sept zéro",
    ]
)
TEXTS = st.lists(st.one_of(FILLER, PERSONAL, st.text(max_size=12)), max_size=8).map(" ".join)

redactor: Redactor = shared_redactor()


@settings(max_examples=60, deadline=None)
@given(TEXTS, st.sampled_from(["fr", "en"]), st.sampled_from(list(RedactionMode)))
def test_spans_never_overlap_and_nothing_outside_them_changes(
    text: str, language: str, mode: RedactionMode
) -> None:
    if mode is RedactionMode.TOKEN:
        mode = RedactionMode.TAG  # no vault here: a token falls back to its tag
    result = redactor.redact(text, language=language, default=mode)
    spans = [(f.start, f.end) for f in result.findings]
    assert spans == sorted(spans)
    assert all(0 <= start < end <= len(text) for start, end in spans)
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(spans))
    # Rebuild the output from the text between spans and each span's replacement: the
    # redactor changed exactly the spans it reports, and kept the rest byte for byte.
    expected, at = [], 0
    for f in result.findings:
        expected.append(text[at : f.start])
        expected.append("•••" if mode is RedactionMode.MASK else f"<{f.entity}>")
        at = f.end
    expected.append(text[at:])
    assert result.text == "".join(expected)


SUBJECT_VALUES = [
    KnownValue("PERSON", "Jean Dupont"),
    KnownValue("PERSON", "Marie Curie"),
    KnownValue("EMAIL", "jean.dupont@example.fr"),
    KnownValue("PHONE", "+33 6 12 34 56 78"),
    KnownValue("ADDRESS", "12 rue de la Paix"),
]
SUBJECT_TEXTS = st.lists(
    st.one_of(
        FILLER,
        PERSONAL,
        st.sampled_from(
            [
                "jean dupont arobase example point fr",  # a spelled e-mail holding the name
                "c'est jean dupont",
                "mon mail jean.dupont@example.fr",
                "au 12 rue de la paix",
                "my name is Jean",
            ]
        ),
    ),
    max_size=6,
).map(" ".join)


def covers(wider: list[Finding], narrower: list[Finding]) -> bool:
    """Each finding of `narrower` inside one of `wider` of the same type."""
    return all(
        any(w.entity == n.entity and w.start <= n.start and n.end <= w.end for w in wider)
        for n in narrower
    )


@settings(max_examples=80, deadline=None)
@given(SUBJECT_TEXTS, st.sampled_from(["fr", "en"]), st.sets(st.sampled_from(SUBJECT_VALUES)))
def test_giving_the_subject_only_adds_findings(
    text: str, language: str, known: set[KnownValue]
) -> None:
    """With the subject's values, every finding made without them is still made, the same
    type over at least the same span: the lookup adds and widens, never takes away."""
    without = redactor.analyze(text, language=language)
    with_subject = redactor.analyze(text, language=language, known=sorted(known, key=str))
    assert covers(with_subject, without), (text, without, with_subject)


def test_a_spelled_e_mail_holding_the_subject_s_name_stays_an_e_mail() -> None:
    """The subject's name inside its spelled address is not a name over the address; the
    address, known, is found whole, its dots said as spaces."""
    text = "mon mail c'est jean dupont arobase example point fr"
    assert redactor.redact(text).text == "mon mail c'est jean <EMAIL>"  # alone: ambiguous
    names = [KnownValue("PERSON", "Jean Dupont"), KnownValue("PERSON", "Jean")]
    assert redactor.redact(text, known=names).text.endswith("<EMAIL>")
    address = [*names, KnownValue("EMAIL", "jean.dupont@example.fr")]
    assert redactor.redact(text, known=address).text == "mon mail c'est <EMAIL>"
