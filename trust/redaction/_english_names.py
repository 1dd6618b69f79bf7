"""English names that the shape of the text gives away, with no model to read them.

English has no installable spaCy model here, so beyond the first-name registers and the words
that introduce a name (`_recognizers`), a name is found by how it is written:
- with its middle initial ("Lo K. Berggren");
- as the owner of a person's things ("Ruby's address", "Narciso's kid", "given Quinzia her
  address");
- in a list of people's names that holds a known first name or surname ("founders:
  Jeremiassen, Martin and Walker.");
- before the company they are of ("Vjera Posavec of Willamette Industries Ltd");
- as the first line of a signature or an address label, or the line after a label
  ("Oles Bazhenov    58602 Kopfhölzistrasse 45   Apt. 458", "Directed By:    Sjon Lemans").
Each rule leaves alone words that are everyday English, places, or a company's.
"""

from __future__ import annotations

import re

from presidio_analyzer import RecognizerResult

from ._english import _Rules
from ._names import (
    english_word_or_place,
    everyday_english,
    first_names,
    never_in_a_name,
    place_or_people,
    world_first_names,
    world_surnames,
)
from ._recognizers import _ANY_DIGIT, _PLACE_OR_COMPANY, _result
from ._spoken import fold

__all__ = ["english_name_recognizers"]

# A first name, a middle initial and a surname, each capitalized: "Lo K. Berggren".
_INITIALLED = re.compile(
    r"(?<![\w\-])(?P<v>[^\W\d_][\w'’\-]+ (?-i:[^\W\d_a-z])\.? [^\W\d_][\w'’\-]+)(?![\w\-])"
)


class _Initialled(_Rules):
    """A name written with its middle initial: in English prose, with no model here, the
    surest sign of a name whatever its origin ("Motochika K Fukasawa", "Višeslav Đ Ćosić"),
    unless its words are everyday words or places ("Section B Street")."""

    def __init__(self, *, language: str) -> None:
        super().__init__(["PERSON"], "tessera_initialled_name", language)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        found = []
        for match in _INITIALLED.finditer(text):
            first, initial, last = match["v"].split(" ")
            if not (first[:1].isupper() and last[:1].isupper() and initial[:1].isupper()):
                continue
            if first.isupper() or last.isupper():
                continue  # "PSC B Box": an acronym, not a name
            if any(never_in_a_name(w) or english_word_or_place(w) for w in (first, last)):
                continue
            found.append(_result(self, "PERSON", *match.span("v"), 0.8, "middle initial"))
        return found


# ----------------------------------------------------------------------------- owners
# What only a person has: "Ruby's address", "Narciso's kid", "Max Schmitz's killers".
_PEOPLE_OF_A_PERSON = (
    "kid|kids|child|children|son|sons|daughter|daughters|wife|husband|mother|father|mom|mum|dad"
    "|brother|sister|brothers|sisters|parents|boyfriend|girlfriend|fiance|fiancee"
    "|friend|friends|boss"
)
_THINGS_OF_A_PERSON = _PEOPLE_OF_A_PERSON + "|address|phone|birthday|killer|killers|funeral|song"
_OWNER_HINT = re.compile(r"['’]s |\b(?:his|her) ")
_OWNED_BY = re.compile(r"^(?:['’]s)? ")
# Only a person has a kid or a boss; a place or a country has songs and an address too.
_ONLY_A_PERSONS = re.compile(r"(?:his |her )?(?:" + _PEOPLE_OF_A_PERSON + r")$")
_OWNER = re.compile(
    r"(?<![\w\-'’])(?P<v>[^\W\d_a-z][\w\-]*(?: (?:[^\W\d_]\.?|[^\W\d_][\w\-]*)){0,2})"
    r"(?:['’]s|(?= (?:his|her) (?:address|phone|number|card|details)\b))"
    r" (?:his |her )?(?:" + _THINGS_OF_A_PERSON + r"|number|card|details)(?![\w\-])"
)


def _capitalized(word: str) -> bool:
    """Written as a name is: capitalized, not an acronym, not a word never in a name, not a
    street's or a company's word."""
    if not word[:1].isupper() or word.isupper() or never_in_a_name(word):
        return False
    return fold(word.rstrip(".")) not in _PLACE_OR_COMPANY


def _a_name_word(word: str) -> bool:
    """A capitalized word that can be a name: not everyday English or a company's word,
    unless it is a known first name ("Victoria's daughter"). A place's name can be a
    person's ("Narciso's kid"): what follows says which."""
    if not _capitalized(word):
        return False
    return not everyday_english(word) or fold(word) in first_names()


def _initial(word: str) -> bool:
    return len(word.rstrip(".")) == 1 and word[:1].isupper()


class _Owners(_Rules):
    """The capitalized name just before "'s" and a thing only a person has."""

    def __init__(self, *, language: str) -> None:
        super().__init__(["PERSON"], "tessera_owner_name", language)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        if not _OWNER_HINT.search(text):
            return found  # most texts: no "'s", "his" or "her" at all
        for match in _OWNER.finditer(text):
            words = match["v"].split(" ")
            # The longest run of name words that ends at the "'s": "here's Ruby's" is Ruby.
            j = len(words) - 1
            if not _a_name_word(words[j]):
                continue
            first = j
            j -= 1
            while j >= 0:
                if _a_name_word(words[j]):
                    first, j = j, j - 1
                elif _initial(words[j]) and j > 0 and _a_name_word(words[j - 1]):
                    first, j = j - 1, j - 2
                else:
                    break
            if first > 0 and words[first - 1].lower() == "the":
                continue  # "the Apple's address": a thing's
            owned = _OWNED_BY.sub("", text[match.end("v") : match.end()])
            if not _ONLY_A_PERSONS.match(owned) and any(
                place_or_people(w) and fold(w) not in first_names() and not _initial(w)
                for w in words[first:]
            ):
                continue  # "Switzerland's song"
            start = match.end("v") - len(" ".join(words[first:]))
            found.append(_result(self, "PERSON", start, match.end("v"), 0.75, "owner"))
        return found


# ------------------------------------------------------------------------------ lists
# "Jeremiassen, Martin and Walker." "Masaev and Edwards were": single capitalized words joined
# by commas and a last "and", ending a clause (not "the Clark, Romero and Hall Orchestra").
_LIST = re.compile(
    r"(?<![\w\-'’])(?P<v>[^\W\d_a-z][\w\-]+(?:, [^\W\d_a-z][\w\-]+)*,? and [^\W\d_a-z][\w\-]+)"
    r"(?=[.,;:!?)\"]|$| (?:were|are|was|is|have|had|did|do|will|would|both|all)\b)"
)
_LIST_WORD = re.compile(r"[^\W\d_][\w\-]+")


class _Lists(_Rules):
    """Each name of a list of single names when one of them is a known first name or
    surname and none is an everyday word or a company's: a list of people names its members
    alike. Words that name places are left out of it ("Pernille and Siikasaarentie")."""

    def __init__(self, *, language: str) -> None:
        super().__init__(["PERSON"], "tessera_listed_names", language)
        self.known = first_names() | world_first_names() | world_surnames()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        if " and " not in text:
            return found
        for match in _LIST.finditer(text):
            words = [w for w in _LIST_WORD.finditer(match["v"]) if w[0] != "and"]
            if not all(_a_name_word(w[0]) for w in words):
                continue
            if not any(fold(w[0]) in self.known for w in words):
                continue
            offset = match.start("v")
            for word in words:
                if place_or_people(word[0]) and fold(word[0]) not in self.known:
                    continue
                start, end = offset + word.start(), offset + word.end()
                found.append(_result(self, "PERSON", start, end, 0.7, "listed names"))
        return found


# ------------------------------------------------------------------------ of a company
# "Vjera Posavec of Willamette Industries Ltd", "Sora Gatou from IPS CO.LTD.": a name, then
# the company it works for, which a company's word shows.
_COMPANY_WORDS = (
    r"\b(?i:ltd|inc|corp|corporation|plc|llc|co|gmbh|s\.?a|ag|group|holdings|limited|company)\b"
)
_COMPANY_WORD = re.compile(_COMPANY_WORDS)
_OF_A_COMPANY = re.compile(
    r"(?<![\w\-'’])(?P<v>[^\W\d_a-z][\w\-]+(?: (?:[^\W\d_]\.?|[^\W\d_][\w\-]+)){1,3})"
    r" (?:of|from|at) (?P<company>[^\n.;]{0,60}?" + _COMPANY_WORDS + ")"
)


class _OfACompany(_Rules):
    """A name of two to four words before "of", "from" or "at" and a company's name."""

    def __init__(self, *, language: str) -> None:
        super().__init__(["PERSON"], "tessera_name_of_a_company", language)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        if not _COMPANY_WORD.search(text):
            return found  # most texts name no company
        for match in _OF_A_COMPANY.finditer(text):
            words = match["v"].split(" ")
            # The name is the last two to four words that read as one ("including Jose van
            # Teeffelen of", not "including Jose").
            for first in range(max(0, len(words) - 4), len(words) - 1):
                name = " ".join(words[first:])
                if _name_line(name):
                    start, end = match.end("v") - len(name), match.end("v")
                    found.append(_result(self, "PERSON", start, end, 0.7, "of a company"))
                    break
        return found


# ------------------------------------------------------------------------ name lines
# What separates the lines of a signature or a label pasted as one text: a line break, a tab,
# two spaces or more, or a "}}" left by a form.
_LINE_BREAK = re.compile(r"\n|\t| {2,}|\}\}")
# A label before a name on the same line: "Billing address: Selma Knudsen".
_LABEL = re.compile(r"(?:address|name|attn|attention|directed by|written by)\s*:\s+", re.I)
_PARTICLE_WORDS = "van von de der den del della di da du le la ter ten dos das"
_PARTICLES = frozenset(_PARTICLE_WORDS.split())


def _name_line(line: str) -> bool:
    """Two to four words, each capitalized and not an everyday word or a company's, an
    initial or (not first) a particle ("Jose van Teeffelen"), with no digit, and one word at
    least that names no place: a name as a label writes it ("Lo K. Berggren", not "Wells
    Fargo")."""
    words = line.replace("\ufeff", "").split(" ")
    if not 2 <= len(words) <= 4 or any(c.isdigit() for c in line):
        return False
    names = not_places = 0
    for i, word in enumerate(words):
        if 0 < i < len(words) - 1 and (_initial(word) or word in _PARTICLES):
            continue
        if not _capitalized(word) or everyday_english(word):
            return False
        names += 1
        not_places += not place_or_people(word) or fold(word) in first_names()
    return names >= 2 and not_places >= 1


class _NameLines(_Rules):
    """A name on a line of its own in a block of lines: the first line of a signature or an
    address label, the line after a label ("Directed By:"), or after "address:" on its line;
    then wherever that name is repeated in the text. The block holds a digit somewhere (a
    street, a phone), or the name follows a label."""

    def __init__(self, *, language: str) -> None:
        super().__init__(["PERSON"], "tessera_name_line", language)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        lines = _lines(text)
        if len(lines) < 2:
            return []
        block = _ANY_DIGIT.search(text) is not None
        names: set[str] = set()
        for i, (start, end) in enumerate(lines):
            line = text[start:end]
            after_label = i > 0 and text[lines[i - 1][0] : lines[i - 1][1]].endswith(":")
            label = _LABEL.search(line)
            if label is not None and _name_line(line[label.end() :]):
                names.add(line[label.end() :])
            elif ((i == 0 and block) or after_label) and _name_line(line):
                names.add(line)
        found = []
        for name in names:  # each place it is written (no pattern made per name: the
            at = text.find(name)  # regex cache is the phone matcher's too)
            while at >= 0:
                end = at + len(name)
                if not (_word_char(text, at - 1) or _word_char(text, end)):
                    found.append(_result(self, "PERSON", at, end, 0.75, "name line"))
                at = text.find(name, end)
        return found


def _word_char(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] in "_-")


def _lines(text: str) -> list[tuple[int, int]]:
    """Where each non-empty line of `text` (cut at `_LINE_BREAK`) starts and ends, without
    its outer spaces."""
    lines, at = [], 0
    for cut in [*_LINE_BREAK.finditer(text), None]:
        end = len(text) if cut is None else cut.start()
        line = text[at:end]
        if line.strip():
            start = at + len(line) - len(line.lstrip())
            lines.append((start, start + len(line.strip())))
        if cut is not None:
            at = cut.end()
    return lines


def english_name_recognizers(language: str) -> list[_Rules]:
    if language != "en":
        return []
    return [
        _Initialled(language=language),
        _Owners(language=language),
        _Lists(language=language),
        _OfACompany(language=language),
        _NameLines(language=language),
    ]
