"""Street lines of the rest of the world, said or written in English: a European contact centre's
English-speaking callers live at "Strickstrasse 61", "Via Volto San Luca 57" or "1707 Dunajska
113, Apt. 4, Trbonje, Slovenia" as often as on a US street with a USPS suffix.

A street line is a street name then its house number; it is one when the name holds a street
word of a European language (its own word, "Via", "Rua", "Calle", or its ending, "-strasse",
"-vej", "-katu") or when a building number comes before a capitalized name ("1707 Dunajska
113"). What follows it while it is still the address (a unit, the town, a region code, the
country, the postcode) is kept with it, and so is a unit said before it; so are US military
addresses (PSC / Unit / CMR with a box, or a ship, then APO / FPO / DPO). Pure functions: the
recognizer in `_english` calls them.
"""

from __future__ import annotations

import re

from ._names import NOT_A_NAME

__all__ = ["address_extent", "street_lines"]

# A street word said as its own word, before the name: "Via Tasso", "Rua das Imbuias".
_WORDS = """via viale vicolo piazza piazzale corso largo strada rua avenida avda calle carrera
    camino ctra carretera estrada travessa praca praça alameda rue avenue boulevard bd chemin
    impasse allee allée allé u quai ulica ul aleja calea bulevardul str strasse straße platz"""
_STREET_WORDS = frozenset(_WORDS.split())
# A street word that ends the name's last word: "Strickstrasse", "Alingsåsvägen", "Kiannonkatu".
_ENDINGS = """strasse straße str. gasse weg allee platz damm steig vej gade vænget stræde laan
    straat gracht plein kade dreef singel steeg vägen gatan gränd stigen veien vegen gata gaten
    katu tie tee kuja polku utca körút fasor rakpart ulica ulice trida třída cesta"""
_STREET_ENDINGS = tuple(_ENDINGS.split())
# Lower-case words inside a street's or a town's name: "Ctra. de Siles", "Via Capo le Case".
_INSIDE = "de da das do dos del della delle di du des la le les van von der den ter y e al el d"
_PARTICLES = frozenset(_INSIDE.split())
_UNITS = "apt apt. apartment suite ste ste. unit flat room floor fl"
_UNIT_WORDS = frozenset(_UNITS.split())
_MILITARY = re.compile(
    r"(?<![\w\-])(?:(?:PSC|CMR|Unit) \d{3,5},? Box \d{3,5}"
    r"|(?:USNS|USS|USCGC|USNV) [^\W\d_][\w'’\-]*(?: [^\W\d_][\w'’\-]*){0,2})"
    r"[\s,]+(?:APO|FPO|DPO) (?:AA|AE|AP) \d{5}(?![\w\-])"
)
_TOKEN = re.compile(r"\w[^\s,]*")  # a word, with what sticks to its end ("97.", "Apt.")
_NUMBER = re.compile(r"\d{1,6}[A-Za-z]?")
_HOUSE = re.compile(r"\d{1,5}[A-Za-z]?\.?")
# What every street line holds: a word, one space, a house number (ending where its token does).
_HOUSE_AFTER_A_WORD = re.compile(r"(?<=[^\W\d_] )\d{1,5}[A-Za-z]?\.?(?=[\s,]|$)")
_POSTCODE = re.compile(r"\d{4,5}(?:-\d{3,4})?\.?")
_MAX_NAME_WORDS = 5
_MAX_PLACE_WORDS = 5
# What may stand between two words of one address: spaces, a line break, a comma, or the
# separator a form left between the lines of a label ("}}", "???").
_GAP = re.compile(r"(?:[ \t\r\n,]|\}\}|\?\?\?)*")


def street_lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end, why) of each street line with what goes with it, in text order."""
    found = [(m.start(), m.end(), "military address") for m in _MILITARY.finditer(text)]
    if not _HOUSE_AFTER_A_WORD.search(text):
        return found  # most texts: no word followed by a house number, nothing to read
    tokens = [(m.start(), m.end(), m[0]) for m in _TOKEN.finditer(text)]
    # A line starts at most six tokens before its house number: only those are tried.
    houses = {m.end() for m in _HOUSE_AFTER_A_WORD.finditer(text)}
    tried = sorted(
        {i for h, (_, end, _) in enumerate(tokens) if end in houses
         for i in range(max(0, h - _MAX_NAME_WORDS - 1), h)}
    )  # fmt: skip
    after = -1
    for i in tried:
        if i <= after:
            continue
        line = _street_at(text, tokens, i)
        if line is None or any(s <= tokens[i][0] < e for s, e, _ in found):
            continue
        first, last, why = line
        first = _unit_before(text, tokens, first)
        last = _what_follows(text, tokens, last)
        start, end = _at_a_corner(text, tokens[first][0], _bare_end(tokens[last]))
        found.append((start, end, why))
        after = last
    return sorted(found)


def address_extent(text: str, start: int, end: int) -> tuple[int, int]:
    """An address found at [start, end) by any rule, with what follows it (a unit, the town,
    region and country, a postcode, on the same line or the block's next ones) and the other
    street of a corner."""
    while end > start and text[end - 1].isspace():
        end -= 1
    tokens = [(m.start(), m.end(), m[0]) for m in _TOKEN.finditer(text, start, end + 240)]
    # A rule that stopped inside a token ("… Terrace Apt" of "Apt. 508") ends with it.
    inside = next((k for k, t in enumerate(tokens) if t[0] < end < t[1]), None)
    if inside is not None and (
        _bare_end(tokens[inside]) > end or tokens[inside][2].lower() in _UNIT_WORDS
    ):
        end = tokens[inside][1]
    last = max((k for k, t in enumerate(tokens) if t[1] <= end), default=None)
    if last is not None and tokens[last][1] == end:
        unit = tokens[last][2].lower() in _UNIT_WORDS and last + 1 < len(tokens)
        if unit and _HOUSE.fullmatch(tokens[last + 1][2]):
            last += 1  # the unit's number
        end = max(end, _bare_end(tokens[_what_follows(text, tokens, last)]))
    before = _BEFORE_A_LINE.search(text, max(0, start - 12), start)
    if before is not None:
        start = before.start()  # "12223 188 Eroni Clarke Close", "Apt. 791 35716 …"
    return _at_a_corner(text, start, end)


def _street_at(
    text: str, tokens: list[tuple[int, int, str]], i: int
) -> tuple[int, int, str] | None:
    """The street line starting at token `i`: (first token, house number's token, why)."""
    numbered = _NUMBER.fullmatch(tokens[i][2]) is not None
    start = i + 1 if numbered else i
    words: list[str] = []
    for j in range(start, min(len(tokens), start + _MAX_NAME_WORDS + 1)):
        word = tokens[j][2]
        if j > start and not _joined(text, tokens[j - 1], tokens[j]):
            return None
        if words and _HOUSE.fullmatch(word):
            cornered = _CORNER_BEFORE.search(text, max(0, tokens[i][0] - 14), tokens[i][0])
            if not _is_a_street(words, numbered or cornered is not None):
                return None
            why = "street and number" if numbered else "street word and number"
            return i, j, why
        if not _name_word(word, first=not words):
            return None
        words.append(word)
    return None


def _is_a_street(words: list[str], numbered: bool) -> bool:
    """A street word, or a building number (or "the corner of") before a capitalized name
    that is not a unit ("Suite 12")."""
    folded = [w.lower() for w in words]
    if folded[0] in _UNIT_WORDS or any(w in NOT_A_NAME and w not in _PARTICLES for w in folded):
        return False  # "Suite 12"; "5 Musicians Of The 70s", a title
    if folded[0].rstrip(".") in _STREET_WORDS or folded[-1].endswith(_STREET_ENDINGS):
        return True
    return numbered and folded[0] not in _PARTICLES


def _name_word(word: str, *, first: bool) -> bool:
    """A word of a street's name: capitalized, a street word ("Bécsi utca"), or a particle
    inside the name ("Rua das Imbuias")."""
    if not word[:1].isalpha() or word.endswith(":"):
        return False
    folded = word.lower()
    return (
        word[:1].isupper()
        or folded.rstrip(".") in _STREET_WORDS
        or folded.endswith(_STREET_ENDINGS)
        or (not first and folded in _PARTICLES)
    )


def _joined(text: str, before: tuple[int, int, str], after: tuple[int, int, str]) -> bool:
    """Two words of one name: one space apart, nothing between them."""
    return text[before[1] : after[0]] == " "


def _unit_before(text: str, tokens: list[tuple[int, int, str]], first: int) -> int:
    """ "Apt. 518 447 Siikarannantie 59": the unit said before the line is part of it."""
    if (
        first >= 2
        and tokens[first - 2][2].lower() in _UNIT_WORDS
        and _HOUSE.fullmatch(tokens[first - 1][2])
        and _GAP.fullmatch(text[tokens[first - 1][1] : tokens[first][0]])
    ):
        return first - 2
    return first


def _what_follows(text: str, tokens: list[tuple[int, int, str]], last: int) -> int:
    """The last token still part of the address after the house number: units, a street
    type ("St."), up to five words of the town, region and country, and a postcode; it stops
    at a sentence's end, a lower-case word or a label ("Mobile:")."""
    places = 0
    j = last + 1
    while j < len(tokens):
        gap = text[tokens[j - 1][1] : tokens[j][0]]
        if not _GAP.fullmatch(gap) or gap.count("\n") > 2:
            break
        if gap.count("\n") == 2 and not any(_POSTCODE.fullmatch(t[2]) for t in tokens[j : j + 3]):
            break  # a blank line ends the address, unless a country and postcode follow it
        word = tokens[j][2]
        previous = tokens[j - 1][2]
        if (
            previous.endswith((".", "?", "!", ";"))
            and previous.lower() not in _UNIT_WORDS
            and not (word.lower() in _UNIT_WORDS and _HOUSE.fullmatch(previous))
        ):
            break  # "… 97. Suite 001" goes on; "… 57. It serves" does not
        if (
            word.lower() in _UNIT_WORDS
            and j + 1 < len(tokens)
            and _HOUSE.fullmatch(tokens[j + 1][2])
        ):
            last, j = j + 1, j + 2
            continue
        if _POSTCODE.fullmatch(word):
            last = j
            break
        particle = word in _PARTICLES and j + 1 < len(tokens) and tokens[j + 1][2][:1].isupper()
        if word.endswith(":") or places >= _MAX_PLACE_WORDS:
            break
        if not word[:1].isupper() and not particle:  # "… Avenue du Golf Arabe" goes on
            break
        places += 1
        last = j
        j += 1
    return last


_CORNER_BEFORE = re.compile(r"(?:the )?corner of $", re.IGNORECASE)
# A building's number before the street line's own, at a line's start ("12223 188 Eroni…"),
# or the unit an address label writes first ("Apt. 791 35716 1973 Duke Street").
_BEFORE_A_LINE = re.compile(
    r"(?:(?:^|(?<=[\s}?]))\d{1,6}|(?<![\w.])(?i:apt|apartment|suite|ste|unit|flat)\.?) $"
)
_CORNER_AFTER = re.compile(r" (?:and|&) (?:[^\W\d_][\w'’.\-]* ?){1,4}")


def _at_a_corner(text: str, start: int, end: int) -> tuple[int, int]:
    """ "the corner of Ctra. de Siles 91 and Sulimat Cape": both streets are the address."""
    before = _CORNER_BEFORE.search(text, max(0, start - 14), start)
    if before is None:
        return start, end
    after = _CORNER_AFTER.match(text, end)
    if after is not None:
        words = after[0].split()[1:]
        if all(w[:1].isupper() for w in words):
            end = after.end() - (1 if after[0].endswith(" ") else 0)
    return before.start(), end


def _bare_end(token: tuple[int, int, str]) -> int:
    """A token's end without the sentence's full stop after it ("Netherlands.")."""
    word = token[2]
    return token[1] - (1 if word.endswith((".", "?", "!", ";")) and len(word) > 1 else 0)
