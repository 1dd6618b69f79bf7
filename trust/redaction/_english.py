"""English identifiers and addresses, each kept only when its rules hold.

US Social Security numbers, ITINs and EINs by python-stdnum's rules (area, group and serial;
the ITIN's group ranges; the EIN's campus prefixes); UK National Insurance numbers by HMRC's
prefix rules; UK driving licence numbers by the DVLA's layout (its month of birth); US driving
licence and passport numbers only in context. US addresses are found from a house number and a
street suffix, then read with `usaddress` as far as they go (unit, city, state, ZIP); UK
addresses are anchored on a valid postcode with their street line before it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from presidio_analyzer import EntityRecognizer, RecognizerResult
from stdnum.us import ein, itin, ssn

from ._names import never_in_a_name
from ._recognizers import _ANY_DIGIT, _Checked, _digits, _result, _said_before
from ._spoken import CONTEXT
from ._streets import address_extent, street_lines

__all__ = ["english_recognizers"]


# --------------------------------------------------------------------------- identifiers
# HMRC: neither letter D, F, I, Q, U or V, the second not O; seven prefixes never allocated.
_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NINO_NEVER = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def _nino(value: str) -> bool:
    compact = re.sub(r"\s", "", value).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{6}[A-D]", compact):
        return False
    first, second = compact[0], compact[1]
    return first in _NINO_FIRST and second in _NINO_SECOND and compact[:2] not in _NINO_NEVER


def _ssn(value: str) -> bool:
    return ssn.is_valid(_digits(value))


def _itin(value: str) -> bool:
    return itin.is_valid(_digits(value))


def _ein(value: str) -> bool:
    return ein.is_valid(_digits(value))


def _uk_licence(value: str) -> bool:
    """DVLA: five letters of the surname (9-padded), a digit of the decade, the month of birth
    (plus 50 for women), the day, the year's last digit, two initials, a digit, two letters."""
    month = int(value[6:8])
    return 1 <= month <= 12 or 51 <= month <= 62


def _some_digits(value: str) -> bool:
    return len(_digits(value)) >= 5


_DASH = r"(?:[ \-]|\s+dash\s+)"  # "123-45-6789", "123 45 6789", said "123 dash 45 dash 6789"


def _identifier_rules() -> list[tuple[str, str, object, float, Sequence[str], int]]:
    """(entity, pattern, validator, score, context words or none, regex flags)."""
    return [
        # Written with its dashes, an SSN is one; nine digits in a row only when named.
        ("SSN", r"(?<![\d\-])(?P<v>\d{3}-\d{2}-\d{4})(?![\d\-])", _ssn, 0.9, (), 0),
        (
            "SSN",
            rf"(?<![\d\-])(?P<v>\d{{3}}{_DASH}?\d{{2}}{_DASH}?\d{{4}})(?![\d\-])",
            _ssn,
            0.95,
            CONTEXT["SSN"],
            re.IGNORECASE,
        ),
        # An ITIN starts with 9 (no SSN does): written with its dashes it is one.
        ("ITIN", r"(?<![\d\-])(?P<v>9\d{2}-\d{2}-\d{4})(?![\d\-])", _itin, 0.95, (), 0),
        (
            "ITIN",
            rf"(?<![\d\-])(?P<v>9\d{{2}}{_DASH}?\d{{2}}{_DASH}?\d{{4}})(?![\d\-])",
            _itin,
            0.96,
            CONTEXT["ITIN"],
            re.IGNORECASE,
        ),
        (
            "EIN",
            rf"(?<![\d\-])(?P<v>\d{{2}}{_DASH}?\d{{7}})(?![\d\-])",
            _ein,
            0.95,
            CONTEXT["EIN"],
            re.IGNORECASE,
        ),
        (
            "NINO",
            r"(?<![A-Z0-9])(?P<v>[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D])(?![A-Z0-9])",
            _nino,
            0.9,
            (),
            0,
        ),
        (
            "NINO",
            r"(?<![A-Za-z0-9])(?P<v>[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d])(?![A-Za-z0-9])",
            _nino,
            0.95,
            CONTEXT["NINO"],
            re.IGNORECASE,
        ),
        (
            "DRIVING_LICENCE",
            r"(?<![A-Z0-9])(?P<v>[A-Z9]{5}\d{6}[A-Z9]{2}\d[A-Z]{2})(?![A-Z0-9])",
            _uk_licence,
            0.9,
            (),
            0,
        ),
        (
            "DRIVING_LICENCE",
            r"(?<![A-Za-z0-9\-])(?P<v>[A-Za-z]{0,2}[ \-]?\d[\d \-]{3,14}\d)(?![A-Za-z0-9\-])",
            _some_digits,
            0.9,
            CONTEXT["DRIVING_LICENCE"],
            re.IGNORECASE,
        ),
    ]


# --------------------------------------------------------------------------- addresses
_SUFFIXES = [
    "street",
    "st",
    "road",
    "rd",
    "avenue",
    "ave",
    "av",
    "boulevard",
    "blvd",
    "lane",
    "ln",
    "drive",
    "dr",
    "court",
    "ct",
    "place",
    "pl",
    "way",
    "circle",
    "cir",
    "terrace",
    "ter",
    "parkway",
    "pkwy",
    "highway",
    "hwy",
    "square",
    "sq",
    "trail",
    "trl",
    "crescent",
    "cres",
    "close",
    "grove",
    "gardens",
    "gdns",
    "mews",
    "row",
    "hill",
    "walk",
    "park",
    "green",
    "view",
    "rise",
    "broadway",
    "plaza",
    "plz",
    "alley",
    "aly",
    "loop",
    "pike",
    "run",
    "path",
    "point",
    "pt",
    "ridge",
    "bend",
    "crossing",
    "xing",
]
# The rest of USPS Publication 28's street suffixes: everyday words too ("light", "branch",
# "lodge"), so a street ending in one is an address only when something after it confirms it
# (a unit, a city with its state, a ZIP) or its words are capitalized.
_MORE_SUFFIXES = """alley annex arcade bayou beach bluff bluffs bottom branch bridge brook brooks
    burg burgs bypass camp canyon cape causeway center centers cliff cliffs club common commons
    corner
    corners course courts cove coves creek crest curve dale dam divide drives estate estates
    expressway extension extensions fall falls ferry field fields flat flats ford fords forest
    forge forges fork forks fort freeway garden gateway glen glens greens groves harbor harbors
    haven heights hills hollow inlet island islands isle junction junctions key keys knoll
    knolls lake lakes land landing light lights loaf lock locks lodge manor manors meadow
    meadows mill mills mission motorway mount mountain mountains neck orchard oval overpass
    parks parkways pass passage pine pines plain plains port ports prairie radial ramp ranch
    rapid rapids rest ridges river roads route shoal shoals shore shores skyway spring springs
    spur spurs squares station stravenue stream streets summit throughway trace track
    trafficway trailer tunnel turnpike underpass union unions valley valleys viaduct views
    village villages ville vista walks wall ways well wells"""
_MORE = r"|".join(sorted(_MORE_SUFFIXES.split(), key=len, reverse=True))
# Everyday words among the common suffixes too ("2 kids in the park", "on the way").
_EVERYDAY_WORDS = "park green view rise hill walk row run path point pt bend loop way close place"
_EVERYDAY = frozenset(_EVERYDAY_WORDS.split()) | {"square", "crossing"}
_CORE = frozenset(_SUFFIXES) - _EVERYDAY
_UNITS = frozenset(
    [
        "apt",
        "apartment",
        "suite",
        "ste",
        "unit",
        "flat",
        "floor",
        "fl",
        "room",
        "rm",
        "#",
        "bldg",
        "building",
        "po",
        "box",
    ]
)
_STATES = {
    "al", "ak", "az", "ar", "ca", "co", "ct", "de", "dc", "fl", "ga", "hi", "id", "il", "in",
    "ia", "ks", "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh",
    "nj", "nm", "ny", "nc", "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut",
    "vt", "va", "wa", "wv", "wi", "wy", "pr", "gu", "vi",
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut",
    "delaware", "florida", "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa",
    "kansas", "kentucky", "louisiana", "maine", "maryland", "massachusetts", "michigan",
    "minnesota", "mississippi", "missouri", "montana", "nebraska", "nevada", "new", "jersey",
    "mexico", "york", "carolina", "dakota", "ohio", "oklahoma", "oregon", "pennsylvania",
    "rhode", "island", "tennessee", "texas", "utah", "vermont", "virginia", "washington",
    "west", "wisconsin", "wyoming", "north", "south",
}  # fmt: skip
_STATE_CODES = frozenset(s for s in _STATES if len(s) == 2)
_US_START = re.compile(
    r"(?<![\w\-])(?P<n>\d{1,6}[A-Za-z]?)(?:-\d{1,4})? (?:[NSEW]\.? |north |south |east |west )?"
    r"(?P<name>(?:[\w'’.\-]+ ){0,4}?)(?P<suffix>"
    + "|".join(_SUFFIXES)
    + "|"
    + _MORE
    + r")\.?(?![\w\-])",
    re.IGNORECASE,
)
_WINDOW = 120  # characters after the number an address may take
_SENTENCE_END = re.compile(r"[\n;!?]|\.(?:\s|$)(?<!\b[A-Z]\.)")
# The UK postcode (the Royal Mail's layouts), and its street line just before it.
_POSTCODE = (
    r"(?:GIR ?0AA|[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d[\dABEHMNPRV-Y]?|\d[A-HJKPS-UW]) ?\d"
    r"[ABD-HJLNP-UW-Z]{2})"
)
# A valid postcode anchors the address, so its street line needs no street-type word: a house
# number and up to six words (the street, a town) before it.
_UK_ADDRESS = re.compile(
    r"(?<![\w\-])(?P<v>(?:(?:flat|apartment|unit) \w{1,4},? )?\d{1,4}[A-Za-z]?,? "
    r"(?:[^\W\d_][\w'’.\-]*,? ){1,6}?" + _POSTCODE + r")(?![\w])",
    re.IGNORECASE,
)
_POSTCODE_ALONE = re.compile(r"(?<![\w\-])(?P<v>" + _POSTCODE + r")(?![\w\-])", re.IGNORECASE)
# A house number that the word "street" follows, after its street's name: "lives on Misiones
# 6199 street", "refers to Bem rkp. 93. street".
_NUMBERED_STREET = re.compile(
    r"(?:(?<=[^\W\d_] )|(?<=[^\W\d_]\. ))\d{1,5}[A-Za-z]?\.?(?= street\b)"
)
_WORDS_BEFORE = re.compile(r"(?:[^\W\d_][\w.'’\-]* ){1,3}$")


def _numbered_street(text: str, number: re.Match[str]) -> tuple[int, int]:
    """The street's name before `number` from its first capitalized word, up to three words
    back ("Bem rkp. 93."); an empty span when none is capitalized."""
    words = _WORDS_BEFORE.search(text, max(0, number.start() - 60), number.start())
    if words is None:
        return number.start(), number.start()
    at = words.start()
    for word in words[0].split(" ")[:-1]:
        if word[:1].isupper() and not never_in_a_name(word.rstrip(".")):
            return at, number.end()
        at += len(word) + 1
    return number.start(), number.start()


# At most ten characters: read from `end - 12` (its look-behind sees before the start).
_ENDS_AT_A_POSTCODE = re.compile(r"(?<![\w\-])\d{4,5}(?:-\d{3,4})?$")
_ZIP_ALONE = re.compile(r"(?<![\w\-])(?P<v>\d{5}(?:-\d{4})?)(?![\w\-])")


class _Rules(EntityRecognizer):
    """Entities found by rules: nothing to load."""

    def __init__(self, entities: list[str], name: str, language: str) -> None:
        super().__init__(supported_entities=entities, supported_language=language, name=name)

    def load(self) -> None:
        pass


class _Addresses(_Rules):
    """US addresses: a house number and a street suffix, then what `usaddress` reads after
    them while it is an address (a unit, a city before a state or a ZIP, the state, the ZIP);
    UK ones: a street line ending at a valid postcode; the rest of the world's street lines
    (`_streets`); a ZIP or postcode named alone."""

    def __init__(self, *, language: str) -> None:
        super().__init__(["ADDRESS"], "tessera_english_address", language)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        if not _ANY_DIGIT.search(text):
            return found  # every address rule here holds a number (house, postcode, ZIP, box)
        for match in _UK_ADDRESS.finditer(text):
            found.append(_result(self, "ADDRESS", *match.span("v"), 0.92, "street and postcode"))
        for match in _US_START.finditer(text):
            if any(r.start <= match.start() < r.end for r in found):
                continue
            if not match["name"].strip() and match["suffix"].islower():
                continue  # "5 street lights": a street word with no street's name before it
            end = _us_end(text, match.start(), match.end())
            if match["suffix"].lower() not in _CORE and not _confirmed(match, end):
                continue
            # What follows in a block's lines ("Apt. 635  Glenross  New Zealand"), a corner.
            start, end = address_extent(text, match.start(), end)
            found.append(_result(self, "ADDRESS", start, end, 0.9, "street address"))
        found = _united(found + [
            _result(self, "ADDRESS", start, end, 0.8, why) for start, end, why in street_lines(text)
        ])  # fmt: skip
        for result in found:  # two rules united: what follows the later one's end goes too
            if not _ENDS_AT_A_POSTCODE.search(text, max(0, result.end - 12), result.end):
                result.start, result.end = address_extent(text, result.start, result.end)
        for match in _NUMBERED_STREET.finditer(text):
            start, end = _numbered_street(text, match)
            if start == end:
                continue
            # The US rule read "6199 street" as a number and a suffix: the name is before it.
            at_number = [r for r in found if r.start == match.start()]
            for result in at_number:
                result.start = start
            if not at_number and not any(r.start < end and start < r.end for r in found):
                found.append(_result(self, "ADDRESS", start, end, 0.85, "house number, 'street'"))
        for pattern, key in ((_POSTCODE_ALONE, "POSTCODE"), (_ZIP_ALONE, "ZIP")):
            for match in pattern.finditer(text):
                start, end = match.span("v")
                if any(r.start <= start < r.end for r in found):
                    continue
                word = _said_before(text, start, CONTEXT[key])
                if word:
                    found.append(_result(self, "ADDRESS", start, end, 0.85, f"after '{word}'"))
        return found


def _united(found: list[RecognizerResult]) -> list[RecognizerResult]:
    """Overlapping addresses as one over both spans, under the surer one's reason: a US rule's
    "151 St. and Szöllösi Cape St." and the street line "Rua Fernando Rodrigues Garcia 151"."""
    out: list[RecognizerResult] = []
    for r in sorted(found, key=lambda r: r.start):
        if out and r.start < out[-1].end:
            last = out[-1]
            if r.score > last.score:
                r.start, r.end = last.start, max(last.end, r.end)
                out[-1] = r
            else:
                last.end = max(last.end, r.end)
        else:
            out.append(r)
    return out


def _confirmed(match: re.Match[str], end: int) -> bool:
    """A street ending in an everyday word is one when the address goes on after it, or when
    it is written as a name is ("Stephanie Light", not "at the light")."""
    # A second number before the name is the building's: "12223 188 Eroni Clarke Close".
    words = [w for w in (match["name"] + match["suffix"]).split() if not w[:1].isdigit()]
    return end > match.end() or (bool(words) and all(w[:1].isupper() for w in words))


def _us_end(text: str, start: int, street_end: int) -> int:
    """Where an address that starts at `start` and has its street up to `street_end` ends:
    `usaddress` labels the words of the window; after the street, a unit, the state and the
    ZIP are kept, a city only when a state or a ZIP follows it (or a comma sets it off and it
    is capitalized); a lower-case state code ("in", "or") only before a ZIP."""
    import usaddress

    stop = _SENTENCE_END.search(text, street_end, min(len(text), start + _WINDOW))
    window_end = stop.start() if stop else min(len(text), start + _WINDOW)
    window = text[start:window_end]
    words = [(start + m.start(), m[0]) for m in re.finditer(r"\S+", window)]
    try:
        labels = [label for _, label in usaddress.parse(window)]
    except Exception:
        return street_end
    if len(labels) != len(words):
        return street_end
    end = pending = street_end
    comma_city = False
    for (at, word), label in zip(words, labels, strict=True):
        if at < street_end:
            continue
        bare = word.strip(",.").lower()
        word_end = at + len(word.rstrip(",."))
        if (
            label == "StreetNamePostDirectional"
            or (label == "OccupancyType" and bare in _UNITS)
            or (label == "OccupancyIdentifier" and end == pending)
        ):
            end = pending = word_end
        elif label == "PlaceName" and bare.replace("-", "").isalpha():
            if pending == end and text[end:at].strip() == "," and word[:1].isupper():
                comma_city = True
            pending = word_end
        elif label == "StateName" and bare in _STATES:
            if bare in _STATE_CODES and not word[:2].isupper():
                pending = word_end  # "in", "or": a state only if a ZIP follows
            else:
                end = pending = word_end
        elif label == "ZipCode" and re.fullmatch(r"\d{5}(?:-\d{4})?", word.strip(",.")):
            end = word_end
            break
        else:
            break
    if comma_city and pending > end:
        end = pending
    return end


class _Identifiers(_Rules):
    """Every English identifier rule (each a `_Checked`) in one registered recognizer:
    Presidio's per-recognizer work (its explanations, context, de-duplication) is paid once,
    and a text with no digit, which no rule can match, costs one scan."""

    def __init__(self, *, language: str) -> None:
        rules = _identifier_rules()
        super().__init__(sorted({r[0] for r in rules}), "tessera_english_identifier", language)
        self.rules = [
            _Checked(entity, pattern, validate, language=language, score=score,  # type: ignore[arg-type]
                     context=context, name=f"tessera_{entity.lower()}", flags=flags)
            for entity, pattern, validate, score, context, flags in rules
        ]  # fmt: skip

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        if not _ANY_DIGIT.search(text):
            return []
        found: list[RecognizerResult] = []
        for rule in self.rules:
            for result in rule.analyze(text, entities, nlp_artifacts):
                # Presidio groups results by the registered recognizer that gave them.
                result.recognition_metadata[result.RECOGNIZER_IDENTIFIER_KEY] = self.id
                found.append(result)
        return found


def english_recognizers(language: str) -> list[EntityRecognizer]:
    from ._english_names import english_name_recognizers  # it builds on `_Rules` above

    names = english_name_recognizers(language)
    return [_Identifiers(language=language), _Addresses(language=language), *names]
