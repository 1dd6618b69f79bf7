"""Properties of the redactor over generated conversations: its spans never overlap and stay
inside the text, and it changes nothing outside them (what it keeps is kept verbatim)."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.trust import Redactor
from tessera.trust.redaction import RedactionMode, shared_redactor

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
