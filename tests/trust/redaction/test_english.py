"""English identifiers and addresses: each found only when its issuer's rules hold, in the forms
callers say and write them, and never a number that merely looks like one."""

from __future__ import annotations

import pytest

from tessera.trust.redaction import Redactor, shared_redactor


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return shared_redactor()


def tags(redactor: Redactor, text: str) -> str:
    return redactor.redact(text, language="en").text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my social is 123-45-6789", "my social is <SSN>"),
        ("my ssn is 123 45 6789", "my ssn is <SSN>"),
        ("social security number 123456789", "social security number <SSN>"),
        (
            "my social security number is one two three four five six seven eight nine",
            "my social security number is <SSN>",
        ),
        ("my social is 123 dash 45 dash 6789", "my social is <SSN>"),
        # The SSA never issues these: area 000, 666 or 900-999, group 00, serial 0000.
        ("ssn 000-12-3456", "ssn 000-12-3456"),
        ("ssn 666-12-3456", "ssn 666-12-3456"),
        ("ssn 912-12-3456", "ssn 912-12-3456"),
        ("ssn 123-00-4567", "ssn 123-00-4567"),
        ("ssn 123-45-0000", "ssn 123-45-0000"),
        # Nine digits in a row are an SSN only when named.
        ("your order 123456789 has shipped", "your order 123456789 has shipped"),
    ],
)
def test_a_us_social_security_number_is_found_only_when_the_ssa_could_have_issued_it(
    redactor: Redactor, text: str, expected: str
) -> None:
    assert tags(redactor, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my national insurance number is AB 12 34 56 C", "my national insurance number is <NINO>"),
        ("NINO: AB123456C", "NINO: <NINO>"),
        ("ni number jg 10 37 25 b", "ni number <NINO>"),
        # HMRC's rules: D, F, I, Q, U and V never, O never second, seven prefixes never.
        ("national insurance QQ 12 34 56 C", "national insurance QQ 12 34 56 C"),
        ("national insurance BG 12 34 56 A", "national insurance BG 12 34 56 A"),
        ("national insurance AO 12 34 56 A", "national insurance AO 12 34 56 A"),
        ("national insurance AB 12 34 56 E", "national insurance AB 12 34 56 E"),
    ],
)
def test_a_uk_national_insurance_number_follows_hmrc_prefix_rules(
    redactor: Redactor, text: str, expected: str
) -> None:
    assert tags(redactor, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my itin is 912-70-1234", "my itin is <ITIN>"),
        ("our EIN is 12-3456789", "our EIN is <EIN>"),
        ("the federal tax id is 04-1234567", "the federal tax id is <EIN>"),
        # No campus uses the prefix 07: not an EIN, even named.
        ("our EIN is 07-1234567", "our EIN is 07-1234567"),
        ("my driving licence is MORGA657054SM9IJ", "my driving licence is <DRIVING_LICENCE>"),
        ("driver's license number D123-4567-8901", "driver's license number <DRIVING_LICENCE>"),
        ("my passport number is 123456789", "my passport number is <PASSPORT>"),
    ],
)
def test_us_tax_numbers_and_licences_are_found_in_context(
    redactor: Redactor, text: str, expected: str
) -> None:
    assert tags(redactor, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "I live at 1600 Pennsylvania Avenue NW, Washington, DC 20500 thanks",
            "I live at <ADDRESS> thanks",
        ),
        ("ship it to 42 Elm Street apt 3B please", "ship it to <ADDRESS> please"),
        ("it's 350 fifth avenue new york ny 10118", "it's <ADDRESS>"),
        ("send it to 221B Baker Street, London NW1 6XE please", "send it to <ADDRESS> please"),
        ("it's 12 high street, oxford OX1 4AB", "it's <ADDRESS>"),
        ("the zip code is 90210", "the zip code is <ADDRESS>"),
        ("my postcode is SW1A 1AA", "my postcode is <ADDRESS>"),
        # A number and a word are not an address; a ZIP-shaped number alone is not one either.
        ("I have 3 cards and 12 accounts", "I have 3 cards and 12 accounts"),
        ("the total is 90210 points", "the total is 90210 points"),
    ],
)
def test_english_addresses_are_found_from_their_street_or_their_postcode(
    redactor: Redactor, text: str, expected: str
) -> None:
    assert tags(redactor, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A street word of its language, before the name or ending it, then the number.
        ("I live at Strickstrasse 61, Zuoz now", "I live at <ADDRESS> now"),
        ("it's 912 Via Volto San Luca 57, Pont Canavese", "it's <ADDRESS>"),
        ("my address is 1064 Bécsi utca 97. Suite 001, INVERERNE, United Kingdom 31332 ok",
         "my address is <ADDRESS> ok"),
        # A building number before a capitalized name and its number, the unit and the town,
        # the country and the postcode after it; a unit said first.
        ("send it to 1707 Dunajska 113 Suite 364 Trbonje Slovenia? I am away",
         "send it to <ADDRESS>? I am away"),
        ("Apt. 518 447 Siikarannantie 59  LIMINKA NO 91900", "<ADDRESS>"),
        ("meet at the corner of Ctra. de Siles 91 and Sulimat Cape", "meet at <ADDRESS>"),
        # A label's lines: across a form's "}}", a blank line before the country and its
        # postcode, a unit that a rule cut short, a building's number before the street's.
        ("}} 1064 Bécsi utca 97 \n}} Suite 001 \n}} INVERERNE \n}} United Kingdom 31332",
         "}} <ADDRESS>"),
        ("10761 Baarlandhof 68 \n Suite 707 \n Rotterdam \n \n Netherlands 62835",
         "<ADDRESS>"),
        ("518 98 Bloomfield Terrace Apt. 508 \n   Boulcott", "<ADDRESS>"),
        ("12 Main Street\n\nThanks for your help", "<ADDRESS>\n\nThanks for your help"),
        ("Uruguay 90540  9135 8202-Office", "Uruguay 90540  <PHONE>-Office"),
        ("}} 12223 188 Eroni Clarke Close \n}} Suite 378 \n}} New Zealand 61323", "}} <ADDRESS>"),
        ("}} 948 Luite tee 87 \n}} Suite 464 \n}} Estonia 27755", "}} <ADDRESS>"),
        ("}} 51616 63 Avenue du Golf Arabe \n}} Suite 650 \n}} Tunisia 44747", "}} <ADDRESS>"),
        ("stop at Szilágyi Erzsébet fasor 69 please", "stop at <ADDRESS> please"),
        ("we have 3 5 park row seats", "we have 3 5 park row seats"),
        # A house number the word "street" follows, after its street's name.
        ("he lives on Misiones 6199 street", "he lives on <ADDRESS> street"),
        # An English street type before a number, written as a word, names no street.
        ("we have 5 street lights", "we have 5 street lights"),
        ("my address is 12 Avenue Foch, 75016 Paris", "my address is <ADDRESS>"),
        ("I live at 5 rue de la Paix", "I live at <ADDRESS>"),
        ("The title refers to Bem rkp. 93. street in Arka.",
         "The title refers to <ADDRESS> street in Arka."),
        # US military addresses.
        ("a taxi to PSC 0457, Box 1784 APO AA 24493. Thanks", "a taxi to <ADDRESS>. Thanks"),
        ("mail it to USNS Kjær FPO AP 41060", "mail it to <ADDRESS>"),
        # Title case, years and counts are not streets.
        ("During 2001, JIG-SAW INC. invested", "During 2001, JIG-SAW INC. invested"),
        ("see 5 Musicians Of The 70s You Hate", "see 5 Musicians Of The 70s You Hate"),
        ("Flight 370 left at 9 and landed at 11", "Flight 370 left at 9 and landed at 11"),
        ("Mobile: 040 165 7401", "Mobile: <PHONE>"),
        # A number named as the caller's own, or not answering.
        ("no message on my registered 70 205 603. Could you",
         "no message on my registered <PHONE>. Could you"),
        ("They're not answering at 494 17 271", "They're not answering at <PHONE>"),
    ],
)  # fmt: skip
def test_the_rest_of_the_worlds_street_lines_are_addresses_in_english(
    redactor: Redactor, text: str, expected: str
) -> None:
    assert tags(redactor, text) == expected


def test_the_finding_says_which_rule_decided_never_the_value(redactor: Redactor) -> None:
    result = redactor.redact("my social is 123-45-6789", language="en")
    (finding,) = result.findings
    assert finding.entity == "SSN" and finding.recognizer.startswith("tessera_ssn")
    assert "6789" not in finding.reason


def test_the_other_speakers_question_names_what_the_answer_says(redactor: Redactor) -> None:
    """Digits said after the agent asks for a social security number are one, in the batch and
    through the stream alike; the same digits after an unrelated question are not."""
    from tessera.trust.redaction import Turn

    asked = [
        Turn("agent", "can i get your social security number please"),
        Turn("caller", "yeah it's two one nine zero nine one two three four"),
        Turn("agent", "thank you, one moment"),
    ]
    batch = redactor.redact_conversation(asked, language="en")
    assert [r.text for r in batch] == [
        "can i get your social security number please",
        "yeah it's <SSN>",
        "thank you, one moment",
    ]
    assert batch[0].findings == ()  # the question's own words are not a finding
    stream = redactor.stream(language="en")
    released = [r for t in asked for r in stream.feed(t)] + stream.close()
    assert [r.redacted for r in sorted(released, key=lambda r: r.seq)] == batch

    unrelated = [Turn("agent", "what is the tracking number on the parcel"), asked[1]]
    assert redactor.redact_conversation(unrelated, language="en")[1].text == asked[1].text
    # The caller's own earlier turn is not a question put to them.
    alone = [Turn("caller", "my social security number"), Turn("caller", "hmm"), asked[1]]
    assert redactor.redact_conversation(alone, language="en")[2].text == asked[1].text
