"""The first-name lists and the trimming of a model's names: pure functions (and English,
which has no model, through the redactor)."""

from __future__ import annotations

import pytest

from tessera.trust.redaction import shared_redactor
from tessera.trust.redaction._names import ALSO_WORDS, first_names, name_span, world_first_names


def test_first_names_come_from_the_installed_french_and_us_registers() -> None:
    names = first_names()
    assert {"isaac", "martine", "celina", "jean", "john", "mary", "gregoire"} <= names
    assert len(names) > 5_000


@pytest.mark.parametrize("word", ["rose", "will", "may", "france", "orange", "iban", "ira"])
def test_names_that_are_everyday_words_months_or_places_are_left_out(word: str) -> None:
    assert word not in first_names() or word in ALSO_WORDS


def test_the_worlds_first_names_leave_out_places_peoples_roles_and_everyday_words() -> None:
    names = world_first_names()
    assert {"vaino", "villads", "jaroslava", "freja", "petteri"} <= names
    assert not {"africa", "irvine", "danish", "bot", "love", "paris"} & names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Väinö Otila, the interpreter, said so", "<PERSON>, the interpreter, said so"),
        ("I'd like to remove my kid Petteri from the will", "I'd like to remove my kid <PERSON> "
         "from the will"),
        ("Villads Steffensen called about the loan", "<PERSON> called about the loan"),
        # English only: French has its model, and its registers are the INSEE's.
        ("Carry Me Back To South Africa", "Carry Me Back To South Africa"),
        ("Bot: what is the name on the account?", "Bot: what is the name on the account?"),
    ],
)  # fmt: skip
def test_english_finds_first_names_of_the_whole_world(text: str, expected: str) -> None:
    assert shared_redactor().redact(text, language="en").text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Prose that introduces a name: capitalized word by word, not an everyday word.
        ("my grandmother was called Uliana Seleznyova", "my grandmother was called <PERSON>"),
        ("'I agree,' says Ibrahimov.", "'I agree,' says <PERSON>."),
        ("a song sung by Mikal A Johannessen in 2008", "a song sung by <PERSON> in 2008"),
        ("What's your last name? Rukavina", "What's your last name? <PERSON>"),
        ("Her maiden name is Turnbull", "Her maiden name is <PERSON>"),
        ("we were called by Customer Service", "we were called by Customer Service"),
        ("please pay by Visa by Monday", "please pay by Visa by Monday"),
        ("it was named Golden Gate", "it was named Golden Gate"),
        # A middle initial between two capitalized words; an acronym is not a name.
        ("Contact: Motochika K Fukasawa", "Contact: <PERSON>"),
        ("}} Glafira M. Abakumova }}", "}} <PERSON> }}"),
        ("PSC B Box 12", "PSC B Box 12"),
        # A name's word said again alone.
        ("directed by Lea Petersen and starring Petersen",
         "directed by <PERSON> and starring <PERSON>"),
        # A unit after a name is the address's.
        ("Dr. Zoe Sheripov Apt. 518 447 Siikarannantie 59", "Dr. <PERSON> <ADDRESS>"),
    ],
)  # fmt: skip
def test_english_prose_names_people_as_it_writes_them(text: str, expected: str) -> None:
    assert shared_redactor().redact(text, language="en").text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The owner of what only a person has; a thing's or a country's owner is not one.
        ("here's Ruby's address", "here's <PERSON>'s address"),
        ("between him and Narciso's kid;", "between him and <PERSON>'s kid;"),
        ("Max Schmitz's killers were sentenced", "<PERSON>'s killers were sentenced"),
        ("Charles had given Tihomila his address", "<PERSON> had given <PERSON> his address"),
        ("Lisbon's son was born", "<PERSON>'s son was born"),
        ("The Apple's address is online", "The Apple's address is online"),
        ("Switzerland's song", "Switzerland's song"),
        # A list of single names holding a known first name or surname, ending a clause.
        ("founders: Jeremiassen, Martin and Kowalski.",
         "founders: <PERSON>, <PERSON> and <PERSON>."),
        ("Masaev and Edwards were engineers.", "<PERSON> and <PERSON> were engineers."),
        ("we take Visa, Mastercard and Amex.", "we take Visa, Mastercard and Amex."),
        ("the Romero and Hall Orchestra", "the Romero and Hall Orchestra"),
        # The first line of a signature or a label, the line after a label, and its repeats.
        ("Oles Bazhenov    58602 Kopfhölzistrasse 45   Apt. 458",
         "<PERSON>    <ADDRESS>"),
        ("}} Lo K. Berggren  }} Wells Fargo Funds  }} Lo K. Berggren  }} 12 Eroni Clarke Close",
         "}} <PERSON>  }} Wells Fargo Funds  }} <PERSON>  }} <ADDRESS>"),
        ("Billing address: Selma Knudsen      883 Via Nicolai 32",
         "Billing address: <PERSON>      <ADDRESS>"),
        ("Mystery & Suspense  Directed By:    Sjon Lemans",
         "Mystery & Suspense  Directed By:    <PERSON>"),
        ("Customer Service    1 Main Street", "Customer Service    <ADDRESS>"),
        ("Wells Fargo    420 Montgomery Street", "Wells Fargo    <ADDRESS>"),
        ("Sjon Lemans is here", "Sjon Lemans is here"),  # a line of prose, not a label
        ("}}Lisa M Lund  }}Bausch + Lomb Corporation  }}787 Thijsselaan 6",
         "}}<PERSON>  }}Bausch + Lomb Corporation  }}<ADDRESS>"),
        ("Nathaniel N. Nygård's killers were sentenced", "<PERSON>'s killers were sentenced"),
        # Before the company they are of; a company's own department is not a name.
        ("CEOs, including Vjera Posavec of Willamette Industries Ltd, and more",
         "CEOs, including <PERSON> of Willamette Industries Ltd, and more"),
        ("Sora Gatou from IPS CO.LTD. is the keynote speaker",
         "<PERSON> from IPS CO.LTD. is the keynote speaker"),
        ("Customer Service of Acme Inc", "Customer Service of Acme Inc"),
        ("the Bank of America Corporation", "the Bank of America Corporation"),
        # The answer to the account's name, after the caller's label.
        ("Bot: What's the name on the account? User: Casper Gustavsson",
         "Bot: What's the name on the account? User: <PERSON>"),
        # "Call me" hands a name over, as "I'm" does.
        ("Sometimes people call me Lesława", "Sometimes people call me <PERSON>"),
        ("please call me back tomorrow", "please call me back tomorrow"),
    ],
)  # fmt: skip
def test_english_names_show_in_how_the_text_is_written(text: str, expected: str) -> None:
    assert shared_redactor().redact(text, language="en").text == expected


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
