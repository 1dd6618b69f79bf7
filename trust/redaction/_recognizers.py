"""Our recognizers for French and English conversations, each validated by a checksum or a rule
(python-stdnum, schwifty, phonenumbers), never by a pattern alone.

A candidate is found by a loose pattern, then kept only if its checksum holds (card numbers by
Luhn and a plausible issuer, IBANs by mod 97 and their country's length, the NIR by its key,
SIREN and SIRET by Luhn) or, for what has no checksum (a security code, an expiry, a date of
birth, a passport number), only when the words just before it say what it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence

import phonenumbers
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import luhn
from stdnum.fr import nir, siren, siret

from ._names import (
    ALSO_WORDS,
    NAME_WORD,
    english_word_or_place,
    first_names,
    name_span,
    never_in_a_name,
    world_first_names,
)
from ._spoken import CONTEXT as _CONTEXT
from ._spoken import fold, is_number_word

__all__ = ["REASON", "model_names", "recognizers"]

# Where a finding's reason travels: Presidio drops explanations unless asked for the whole
# decision process, but keeps a result's metadata.
REASON = "tessera_reason"

_CONTEXT_CHARS = 48  # how far before a candidate its naming words may be


def _said_before(text: str, start: int, words: Iterable[str]) -> str | None:
    """The naming word found just before `start`, if any."""
    before = fold(text[max(0, start - _CONTEXT_CHARS) : start])
    return next((w for w in words if w in before and _at_word_start(w).search(before)), None)


@functools.cache
def _at_word_start(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z]){re.escape(word)}")


class _Ours(EntityRecognizer):
    """One entity, found by rules: nothing to load."""

    def __init__(self, entity: str, name: str, language: str, context: Sequence[str] = ()) -> None:
        super().__init__(
            supported_entities=[entity],
            supported_language=language,
            name=name,
            context=list(context),
        )

    def load(self) -> None:
        pass


class _Checked(_Ours):
    """A loose pattern (its candidate is the group named `v`), then a validator; optionally
    only in context."""

    def __init__(
        self,
        entity: str,
        pattern: str,
        validate: Callable[[str], bool],
        *,
        language: str,
        score: float = 0.95,
        context: Sequence[str] = (),
        name: str | None = None,
        flags: int = re.IGNORECASE,
        digits: bool = True,
    ) -> None:
        self.entity = entity
        self.digits = digits  # the pattern holds a digit: a text with none is not scanned
        self.pattern = re.compile(pattern, flags)
        self.validate = validate
        self.score = score
        self.required = tuple(context)
        super().__init__(entity, name or f"tessera_{entity.lower()}", language, context)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        if self.digits and not _ANY_DIGIT.search(text):
            return found
        for match in self.pattern.finditer(text):
            value, start, end = match.group("v"), match.start("v"), match.end("v")
            if not self.validate(value):
                continue
            why = "checksum"
            if self.required:
                word = _said_before(text, start, self.required)
                if word is None:
                    continue
                why = f"after '{word}'"
            found.append(_result(self, self.entity, start, end, self.score, why))
        return found


def _result(
    recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float, why: str
) -> RecognizerResult:
    explanation = AnalysisExplanation(recognizer.name, score, textual_explanation=why)
    return RecognizerResult(
        entity,
        start,
        end,
        score,
        explanation,
        {
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
            REASON: why,
        },
    )


_NOT_DIGIT = re.compile(r"\D")


def _digits(value: str) -> str:
    return _NOT_DIGIT.sub("", value)


# Issuer ranges (leading digits) and the lengths their cards have: a number of the wrong length
# for its range is a SIRET, a NIR or an order number, not a card.
_ISSUERS: tuple[tuple[tuple[str, str], tuple[int, ...]], ...] = (
    (("4", "4"), (13, 16, 19)),  # Visa
    (("51", "55"), (16,)),  # Mastercard
    (("2221", "2720"), (16,)),  # Mastercard 2-series
    (("34", "34"), (15,)),  # American Express
    (("37", "37"), (15,)),
    (("300", "305"), (14, 16, 19)),  # Diners Club
    (("36", "36"), (14, 16, 19)),
    (("38", "39"), (14, 16, 19)),
    (("35", "35"), (16, 17, 18, 19)),  # JCB (3528-3589 today; older cards elsewhere in 35)
    (("2131", "2131"), (15,)),  # JCB, 15 digits
    (("1800", "1800"), (15,)),
    (("6011", "6011"), (16, 17, 18, 19)),  # Discover
    (("644", "649"), (16, 17, 18, 19)),
    (("65", "65"), (16, 17, 18, 19)),
    (("62", "62"), (16, 17, 18, 19)),  # UnionPay
    (("50", "50"), tuple(range(12, 20))),  # Maestro
    (("56", "69"), tuple(range(12, 20))),
    (("0604", "0604"), tuple(range(12, 20))),  # Maestro UK (formerly Switch)
)


def _card(value: str) -> bool:
    digits = _digits(value)
    if not 12 <= len(digits) <= 19 or not luhn.is_valid(digits):
        return False
    return any(
        low <= digits[: len(low)] <= high and len(digits) in lengths
        for (low, high), lengths in _ISSUERS
    )


def _iban(value: str) -> bool:
    try:
        IBAN(value)
    except (SchwiftyException, ValueError):
        return False
    return True


def _nir(value: str) -> bool:
    return nir.is_valid(re.sub(r"[\s.]", "", value))


def _expiry(value: str) -> bool:
    found = re.match(r"\d{1,2}", value)
    month = int(found[0]) if found else 0
    return 1 <= month <= 12


_ENGLISH_TYPES = "street st road rd lane drive way close court avenue av boulevard bd place square"
_ENGLISH_STREET_TYPES = frozenset(_ENGLISH_TYPES.split())


def _street_type_capitalized(value: str) -> bool:
    """In English a street type follows the street's name ("12 Main Street"): an English one
    before it is a foreign address's only when written as a name ("5 Avenue Foch"), not "5
    street lights"; a foreign one ("5 rue de la Paix") is one however written."""
    words = value.replace(",", " ").split()
    kind = next((w for w in words[1:] if w.lower() not in ("bis", "ter")), "")
    return kind[:1].isupper() or kind.lower().rstrip(".") not in _ENGLISH_STREET_TYPES


def _always(value: str) -> bool:
    return True


class _Phones(_Ours):
    """French and international numbers, as libphonenumber validates them (the national
    plan's lengths and prefixes), written with spaces, dots or dashes, or +33/0033; and a
    number of another country's plan, written nationally, when the words around it say it is
    a phone number ("call me at", "Fax:", "-Office")."""

    def __init__(self, *, language: str) -> None:
        super().__init__("PHONE", "tessera_phone", language)
        # The plans a number written nationally is read in: a French call's, or an English
        # one's (the North American plan, then the UK's).
        self.regions = _PHONE_REGIONS.get(language, ("FR",))

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        if len(_ANY_DIGIT.findall(text)) < _FEWEST_PHONE_DIGITS:
            return found
        candidates = [m for m in _PHONE_LIKE.finditer(text) if _enough_digits(m["v"])]
        if not candidates:
            return found  # digits scattered (a house number, a ZIP, a date): no number to read
        # The matcher reads only around those runs, with the characters that touch them (it
        # checks that no letter does): the rest of a long text is not scanned once a plan.
        for at, until in _windows(text, candidates):
            window = text[at:until]
            for i, region in enumerate(self.regions):
                if i and not _TRUNK.search(window):
                    break  # the plans after the first read only numbers with their trunk 0
                # Outside France, the digits must be grouped as the plan groups them:
                # "2024-118-553" is an order number, "(202) 411-8553" a phone.
                leniency = phonenumbers.Leniency.VALID if region == "FR" else _GROUPED
                for match in phonenumbers.PhoneNumberMatcher(window, region, leniency):
                    start, end = at + match.start, at + match.end
                    if any(f.start < end and start < f.end for f in found):
                        continue
                    found.append(_result(self, "PHONE", start, end, 0.9, "numbering plan"))
        for match in candidates:
            start, end = match.span("v")
            if any(f.start <= start < f.end for f in found):
                continue
            if len(_digits(match["v"])) > 15:  # and at least seven, as every candidate has
                continue
            word = _said_before(text, start, _CONTEXT["PHONE"]) or _PHONE_AFTER.match(text, end)
            if word:
                why = f"after '{word}'" if isinstance(word, str) else f"before '{word[1]}'"
                found.append(_result(self, "PHONE", start, end, 0.6, why))
        return found


_PHONE_REGIONS = {"fr": ("FR",), "en": ("US", "GB", "FR")}
_GROUPED = phonenumbers.Leniency.STRICT_GROUPING
_ANY_DIGIT = re.compile(r"\d")
_FEWEST_PHONE_DIGITS = 7
# A number written nationally in the UK or France starts with its trunk prefix 0 (an
# international one, +44 or 0033, is read by the first plan already).
_TRUNK = re.compile(r"(?<![\d+])\(?0\d")
_PHONE_LIKE = re.compile(
    r"(?<![\w+])(?P<v>(?:\+|00)?\(?\d[\d().\-]*(?:[ ][\d().\-]+)*\d(?:x\d{1,5})?)(?![\w])"
)


def _windows(text: str, runs: list[re.Match[str]], margin: int = 3) -> list[tuple[int, int]]:
    """Each run's span widened by `margin` characters on both sides, overlapping ones as one."""
    windows: list[tuple[int, int]] = []
    for run in runs:
        at, until = max(0, run.start("v") - margin), min(len(text), run.end("v") + margin)
        if windows and at <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], until))
        else:
            windows.append((at, until))
    return windows


def _enough_digits(run: str) -> bool:
    """A run of digits and separators long enough to hold a phone number."""
    return len(_digits(run)) >= _FEWEST_PHONE_DIGITS


_PHONE_AFTER = re.compile(
    r"[ \-]{0,2}\(?(office|fax|mobile|cell|home|work|desk|portable|fixe|bureau)\b", re.IGNORECASE
)


_STREET = (
    r"rue|avenue|av\.?|boulevard|bd|place|chemin|all[ée]e|impasse|quai|route|cours|square|"
    r"r[ée]sidence|lotissement|street|st\.?|road|rd\.?|lane|drive|way|close|court"
)


# Words that introduce a name ("je m'appelle", "madame", "my name is"), and words that are never
# part of one: what follows the first up to the second is the name, even in lower case (the
# speech-to-text writes "merci monsieur marchal", which a model trained on news misses).
_RELATIVES = (
    "mother|mom|mum|father|dad|husband|wife|son|daughter|grandmother|grandfather|grandma"
    "|grandpa|brother|sister|partner|aunt|uncle|niece|nephew"
)
_INTRO = re.compile(
    r"(?<![^\W\d_])(?:je m'appelle|je m’appelle|je me nomme|mon nom est|mon nom c'est|moi c'est"
    r"|monsieur|madame|mademoiselle|mme|mlle|my name is|my name's|this is|mr\.?|mrs\.?|ms\.?"
    r"|miss|dr\.|doctor|docteur"
    # English callers: "you're speaking with", "the name on the account is", "mister", and
    # the relative they call for ("on behalf of my mother", "my husband,").
    r"|(?:you're|you are) speaking (?:with|to)|speaking with|(?:the )?name on the account is"
    r"|the account is under|under the name(?: of)?|her name is|his name is|their name is"
    r"|(?:maiden|last|first|full|family|middle) name is|surname is"
    r"|what(?:'s| is) your (?:full |first |last |family )?(?:name|surname)\?"
    r"|what(?:'s| is) the name on the account\? (?:user|customer|caller|client):"
    r"|mister|missus|it's|it is|i'm|i am|call me|(?:on behalf of )?my (?:" + _RELATIVES + r"),?"
    # Said of someone in English prose: a name after these is capitalized, word by word.
    r"|called|named|says|said|by"
    r")(?![^\W\d_]) +",
    re.IGNORECASE,
)


# Introductions that as often introduce anything else: a name after them is capitalized or a
# known first name.
_WEAK_INTROS = frozenset(("this is", "miss", "it's", "it is", "i'm", "i am", "call me"))
# Introductions of English prose that as often introduce a thing ("called Customer Service",
# "by Monday"): each word of the name after them is capitalized (or an initial), the first
# is not an everyday word or a place, and after "by" a name has two words at least.
_PROSE_INTROS = frozenset(("called", "named", "says", "said", "by"))
_WEAK_PREFIX = "my "  # "my mother said", "my son's card"


def _plainly_a_first_name(word: str) -> bool:
    """A known first name that is not also an everyday word ("said", "will")."""
    folded = fold(word)
    return folded in first_names() and folded not in ALSO_WORDS


class _Introduced(_Ours):
    """A name after the words that introduce one, up to a word that can't be part of it."""

    def __init__(self, *, language: str) -> None:
        super().__init__("PERSON", "tessera_introduced", language)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        found = []
        for intro in _INTRO.finditer(text):
            start = end = intro.end()
            weak = fold(intro[0].strip(" ,"))
            if weak in _PROSE_INTROS:
                end = _prose_name(text, start, two=weak == "by")
                if end > start:
                    found.append(_result(self, "PERSON", start, end, 0.75, f"after '{weak}'"))
                continue
            for word in NAME_WORD.finditer(text, intro.end()):
                gap = text[end : word.start()]
                if word.start() > start and gap not in (" ", "-"):
                    break
                if word.start() == start and gap:
                    break
                if never_in_a_name(word[0]) or len(word[0]) < 2 or end - start > 40:
                    break
                if (
                    end == start
                    and (weak in _WEAK_INTROS or weak.startswith(_WEAK_PREFIX))
                    and not (word[0][:1].isupper() or _plainly_a_first_name(word[0]))
                ):
                    break  # "this is unacceptable"
                end = word.end()
            if end > start:
                why = f"after '{intro[0].strip(' ,')}'"
                found.append(_result(self, "PERSON", start, end, 0.8, why))
        return found


# A name written as one is in prose: capitalized words, a middle initial between two of them.
_PROSE_NAME = re.compile(r"[^\W\d_][\w'’\-]+(?: [^\W\d_]\.?(?= ))?(?: [^\W\d_][\w'’\-]+){0,2}")


def _prose_name(text: str, start: int, *, two: bool) -> int:
    """The end of the capitalized name written at `start`, or `start` when there is none."""
    match = _PROSE_NAME.match(text, start)
    if match is None:
        return start
    words = NAME_WORD.findall(match[0])
    kept = 0
    for i, word in enumerate(words):
        initial = len(word) == 1 and 0 < i < len(words) - 1
        if not word[:1].isupper() or (word.isupper() and not initial):
            break
        if not initial and (never_in_a_name(word) or english_word_or_place(word)):
            break
        kept = i + 1
    while kept and len(words[kept - 1]) == 1:
        kept -= 1  # an initial with no surname after it
    if kept == 0 or (two and kept < 2):
        return start
    end = start
    for word in words[:kept]:
        end = text.index(word, end) + len(word)
    return end


# Words just before a first name said on its own that make it one: "c'est isaac", "merci
# Léa", "hi John". A capitalized first name needs none inside a sentence.
_CUE_WORDS = """c'est cest c ici moi bonjour bonsoir salut slt cc coucou merci cher chere
    hello hi hey
    dear thanks it's its i'm im me called named femme mari fils fille epouse epoux frere soeur
    mere pere conjoint conjointe wife husband daughter brother sister mother father"""
_CUES = frozenset(_CUE_WORDS.split())
# Before a first name that is also a word, only these make it a name: "merci Rose", not
# "c'est Noël".
_GREETINGS = frozenset(
    [
        "bonjour",
        "bonsoir",
        "salut",
        "slt",
        "coucou",
        "merci",
        "cher",
        "chere",
        "hello",
        "hi",
        "hey",
        "dear",
        "thanks",
    ]
)
_CUE_PHRASES = ("de la part de", "je suis", "thank you", "speak to", "talk to", "ask for")


# What follows a capitalized word when it names a street or a company, not a person ("Kerry
# Way", "Willem Barentszweg", "John Hancock Financial", "India Ltd").
_PLACE_OR_COMPANY_WORDS = """street st road rd lane ln drive dr way close court ct crescent avenue
    ave boulevard blvd spur stravenue square place terrace parkway highway rue chemin allee
    impasse quai route cours via rua calle ulica utca ltd inc corp corporation plc ag sa llc fund
    bank group financial company co gmbh holdings etf trust partners"""
_PLACE_OR_COMPANY = frozenset(_PLACE_OR_COMPANY_WORDS.split())
_PLACE_ENDINGS = ("weg", "vej", "straat", "strasse", "straße", "laan", "gade", "gasse")
_BEFORE_A_STREET = frozenset(
    ("rue", "via", "rua", "calle", "ul", "avenida", "san", "santa", "saint")
)
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)


class _FirstNames(_Ours):
    """A known first name (`_names`) and the surname after it: capitalized, or, in lower case,
    just after the words that hand a name over ("c'est", "merci", "hi"). What the model misses:
    speech-to-text in lower case, a first name alone in a text message, and English, which has
    no model here. A name that turns out to be a street's or a company's is left alone."""

    def __init__(self, *, language: str) -> None:
        super().__init__("PERSON", "tessera_first_name", language)
        # Read when the redactor starts, not on its first text; English, which has no model
        # here, takes the world's first names too.
        self.known = first_names() | world_first_names() if language == "en" else first_names()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: object = None
    ) -> list[RecognizerResult]:
        if text.isupper():
            return []
        known = self.known
        words = list(NAME_WORD.finditer(text))
        found = []
        i = 0
        while i < len(words):
            word = words[i]
            said = _POSSESSIVE.sub("", word[0])
            folded = fold(said)
            if folded not in known:
                i += 1
                continue
            capital = said[:1].isupper() and not said.isupper()
            cue = _cue(text, word.start())
            if (folded in ALSO_WORDS and not (capital and cue in _GREETINGS)) or (
                not capital and not (said.islower() and cue)
            ):
                i += 1
                continue
            last = i if said != word[0] else self._surname(text, words, i, lower=not capital)
            if self._street_or_company(text, words, i, last):
                i = last + 1
                continue
            end = words[last].start() + len(_POSSESSIVE.sub("", words[last][0]))
            why = f"first name after '{cue}'" if cue else "capitalized first name"
            found.append(_result(self, "PERSON", word.start(), end, 0.75, why))
            i = last + 1
        return found

    @staticmethod
    def _surname(text: str, words: list[re.Match[str]], i: int, *, lower: bool) -> int:
        """The index of the name's last word: up to two more, capitalized (or, in a lower-case
        text, any word that can't end a name) or a middle initial, each a space or a hyphen
        after the last; a possessive ends it."""
        last = i
        for j in range(i + 1, min(i + 4, len(words))):
            word = words[j]
            gap = text[words[last].end() : word.start()]
            initial = len(words[last][0]) == 1 and words[last][0].isupper()
            if gap not in (" ", "-") and not (initial and gap == ". "):
                break
            if len(word[0]) == 1 and word[0].isupper() and j + 1 < len(words):
                last = j  # "Lisa M Lund", "Kíra S. Schmidt": the surname must follow
                continue
            if never_in_a_name(word[0]) or len(word[0]) < 2:
                break
            if not (word[0][:1].isupper() or (lower and word[0].islower())):
                break
            if any(c.isdigit() for c in word[0]) or is_number_word(word[0]):
                break
            last = j
            if _POSSESSIVE.search(word[0]):
                break
        while last > i and len(words[last][0]) == 1:
            last -= 1  # an initial with no surname after it
        return last

    @staticmethod
    def _street_or_company(text: str, words: list[re.Match[str]], i: int, last: int) -> bool:
        before = text[max(0, words[i].start() - 12) : words[i].start()].split()
        if before and (
            before[-1][-1:].isdigit() or fold(before[-1]).strip(".") in _BEFORE_A_STREET
        ):
            return True
        following = [fold(w[0]).strip(".") for w in words[i + 1 : last + 2]]
        return any(w in _PLACE_OR_COMPANY or w.endswith(_PLACE_ENDINGS) for w in following)


def model_names(language: str) -> EntityRecognizer:
    """The model's names, each without a verb, title or acronym at its ends ("Pouvez-vous",
    "Madame", "notre SIRET"), and none where nothing is left."""
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    class ModelNames(SpacyRecognizer):
        def analyze(
            self, text: str, entities: list[str], nlp_artifacts: object = None
        ) -> list[RecognizerResult]:
            out = []
            for result in super().analyze(text, entities, nlp_artifacts):
                span = name_span(text, result.start, result.end)
                if span is not None:
                    result.start, result.end = span
                    out.append(result)
            return out

    # Named as Presidio's own: a finding's recognizer says "SpacyRecognizer" as before.
    return ModelNames(
        supported_language=language, supported_entities=["PERSON"], name="SpacyRecognizer"
    )


def _cue(text: str, start: int) -> str | None:
    before = fold(text[max(0, start - 24) : start]).rstrip(" ,")
    tail = re.findall(r"[\w'’]+", before)
    if tail and tail[-1].replace("’", "'") in _CUES:
        return tail[-1]
    return next((p for p in _CUE_PHRASES if before.endswith(p)), None)


def recognizers(language: str) -> list[EntityRecognizer]:
    """Ours, for one language (the rules are the same; Presidio keys recognizers by language)."""
    from ._english import english_recognizers  # it builds on the recognizers of this module

    lang = language
    date = (
        r"(?P<v>\d{1,2}[ /.\-]\d{1,2}[ /.\-](?:19|20)\d{2}|\d{1,2}(?:er)? [a-zéû]+ (?:19|20)\d{2})"
    )
    return [
        _Checked("CARD", r"(?<!\d)(?P<v>\d(?:[ \-]?\d){11,18})(?!\d)", _card, language=lang),
        _Checked(
            "IBAN",
            r"\b(?P<v>[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?)\b",
            _iban,
            language=lang,
            flags=0,  # upper case: "et mon" after an IBAN is not part of it
        ),
        _Checked(
            "NIR",
            r"(?<![\dA-Z])(?P<v>[12][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2[AB])[ .]?\d{3}"
            r"[ .]?\d{3}[ .]?\d{2})(?![\dA-Z])",
            _nir,
            language=lang,
            score=0.97,  # mod 97 on a fixed layout: surer than a card's Luhn on the same digits
        ),
        _Checked(
            "SIRET",
            r"(?<!\d)(?P<v>\d{3}[ ]?\d{3}[ ]?\d{3}[ ]?\d{5})(?!\d)",
            lambda v: siret.is_valid(_digits(v)),
            language=lang,
            context=_CONTEXT["SIRET"],
            score=0.97,  # named as a SIRET: not the card its Luhn would also allow
        ),
        _Checked(
            "SIREN",
            r"(?<!\d)(?P<v>\d{3}[ ]?\d{3}[ ]?\d{3})(?!\d)",
            lambda v: siren.is_valid(_digits(v)),
            language=lang,
            context=_CONTEXT["SIREN"],
            score=0.85,
        ),
        _Checked(
            "CVV",
            r"(?<![\d/])(?P<v>\d{3,4})(?![\d/])",
            _always,
            language=lang,
            context=_CONTEXT["CVV"],
            score=0.9,
        ),
        _Checked(
            "CARD_EXPIRY",
            r"(?<!\d)(?P<v>\d{1,2} ?[/\-] ?(?:20)?\d{2})(?!\d)",
            _expiry,
            language=lang,
            context=_CONTEXT["CARD_EXPIRY"],
            score=0.9,
        ),
        _Checked(
            "DATE_OF_BIRTH",
            date,
            _always,
            language=lang,
            context=_CONTEXT["DATE_OF_BIRTH"],
            score=0.85,
        ),
        _Checked(
            "PASSPORT",
            r"\b(?P<v>\d{2}[A-Z]{2}\d{5}|[A-Z]\d{8}|\d{9})\b",
            _always,
            language=lang,
            context=_CONTEXT["PASSPORT"],
            score=0.85,
        ),
        _Checked(
            "ID_CARD",
            r"\b(?P<v>[A-Z0-9]{9}|\d{12})\b",
            lambda v: any(c.isdigit() for c in v),
            language=lang,
            context=_CONTEXT["ID_CARD"],
            score=0.85,
        ),
        _Checked(
            "EMAIL",
            r"\b(?P<v>[A-Z0-9._%+\-]+@[A-Z0-9.\-]+\.[A-Z]{2,24})\b",
            _always,
            language=lang,
            score=0.95,
            digits=False,
        ),
        _Checked(
            "ADDRESS",
            # A number and a street type, then the street up to a postcode and its city (a
            # city's words are capitalized), or else up to where the address visibly ends.
            rf"(?P<v>\b\d{{1,4}}(?: ?(?:bis|ter))?,? (?:{_STREET})\b(?:[^\n,;:!?]{{2,60}}?"
            r",? \d{5}(?: (?-i:[A-ZÉ])[\w\-']*(?:[ \-](?-i:[A-ZÉ])[\w\-']*)*)?(?!\w)"
            r"|[^\n,;:!?]{2,60}?(?=[\n,;:!?]|$| et | and |\.(?:\s|$))))",
            _always if lang != "en" else _street_type_capitalized,
            language=lang,
            score=0.9,  # a number and a street type: surer than a name the model sees in it
        ),
        _Phones(language=lang),
        _Introduced(language=lang),
        _FirstNames(language=lang),
        *english_recognizers(lang),
    ]
