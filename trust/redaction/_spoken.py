"""Speech-to-text forms of numbers and emails, rewritten so that checksum recognizers see them.

A transcript says "zéro six douze trente-quatre" or "four two four two", and spells emails
out ("jean point dupont arobase exemple point fr"). `normalize` rewrites such runs into
"0612 34…" digits and "jean.dupont@exemple.fr", and keeps a map back to the original text, so
that a finding in the rewritten text covers exactly the words that said it.

Numbers are read the way people dictate them: each number word or compound ("trente-quatre",
"quatre-vingt-dix-sept", "forty two") gives its own digits, unpadded, one after the other; so
"zéro six douze" is 0612, "double four" is 44, and "cent" or "hundred" multiplies.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

__all__ = [
    "CONTEXT",
    "NAMING_WORDS",
    "SPELLING_WORDS",
    "Normalized",
    "ends_as_written",
    "fold",
    "is_number_word",
    "normalize",
]

_UNITS = {
    # French
    "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
    "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13,
    "quatorze": 14, "quinze": 15, "seize": 16,
    # English
    "oh": 0, "nought": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_HUNDRED = {"cent", "cents", "hundred"}
_REPEAT = {"double": 2, "triple": 3}
_JOINERS = {"et", "and"}  # "vingt et un", "a hundred and five": inside a number only
# "oh" is 0 only between other number words ("four oh four"), never alone.
_WEAK = {"oh", "un", "une", "one"}

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_EMAIL_AT = {"arobase", "arrobase", "at"}
_EMAIL_DOT = {"point", "dot"}
_EMAIL_DASH = {"tiret": "-", "dash": "-", "hyphen": "-", "underscore": "_"}
_TLDS = {
    "fr", "com", "net", "org", "eu", "io", "be", "ch", "de", "es", "it", "uk", "co", "info",
    "biz", "lu", "ca", "us", "nl", "pt", "re",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Normalized:
    """The rewritten text and, per rewritten piece, where it came from."""

    text: str
    # Parallel lists: the rewritten text from `new[i]` on came from the original at `old[i]`;
    # `same[i]` says whether that piece was copied as it was (offsets then move one for one).
    new: tuple[int, ...]
    old: tuple[int, ...]
    same: tuple[bool, ...]
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span behind `[start, end)` of the rewritten text."""
        return self._at(start, end=False), self._at(end, end=True)

    def _at(self, offset: int, *, end: bool) -> int:
        i = bisect_right(self.new, offset - 1 if end else offset) - 1
        i = max(i, 0)
        if self.same[i]:
            return self.old[i] + (offset - self.new[i])
        # Inside a rewritten piece: its start, or (for an end) the end of the piece.
        if end:
            return self.old[i + 1] if i + 1 < len(self.old) else len(self.original)
        return self.old[i]

    @property
    def changed(self) -> bool:
        return self.text != self.original


@functools.lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """Case, accents and typographic apostrophes ignored: how speech-to-text varies."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("’", "'")


_PARTS = re.compile(r"[-']")


def _parts(word: str) -> list[str]:
    return [p for p in _PARTS.split(fold(word)) if p]


@functools.lru_cache(maxsize=1 << 16)
def is_number_word(word: str) -> bool:
    parts = _parts(word)
    return bool(parts) and all(
        p in _UNITS or p in _TENS or p in _HUNDRED or p in _JOINERS or p in _REPEAT for p in parts
    )


def _value(parts: list[str]) -> str | None:
    """The digits one spoken number says ("quatre-vingt-dix-sept" → "97"), or None."""
    total, current, seen = 0, 0, False
    for p in parts:
        if p in _JOINERS:
            continue
        if p in _UNITS:
            current += _UNITS[p]
        elif p in _TENS:
            # "quatre-vingt": four twenties; "soixante-dix": sixty then ten.
            current = (
                current * 20 if p.startswith("vingt") and current in (4,) else current + _TENS[p]
            )
        elif p in _HUNDRED:
            total, current = total + (current or 1) * 100, 0
        else:
            return None
        seen = True
    return str(total + current) if seen else None


def _digits(words: list[str]) -> str:
    """The digits a run of number words says, each word or compound unpadded in turn."""
    out: list[str] = []
    repeat = 1
    i = 0
    while i < len(words):
        parts = _parts(words[i])
        if len(parts) == 1 and parts[0] in _REPEAT:
            repeat = _REPEAT[parts[0]]
            i += 1
            continue
        # Spaced compounds: "forty two", "trente quatre", "quatre vingt dix", "cent vingt".
        group, word = list(parts), parts
        while i + 1 < len(words) and _continues(word, _parts(words[i + 1])):
            i += 1
            word = _parts(words[i])
            group += word
        value = _value(group) or ""
        out.append(value * repeat)
        repeat = 1
        i += 1
    return "".join(out)


def _continues(word: list[str], nxt: list[str]) -> bool:
    """Whether the next word belongs to the same spoken number ("forty" + "two").

    A hyphenated compound is whole: "quarante-quatre vingt" is 44 then 20, and "cinquante
    quatre-vingt-dix-huit" 50 then 98; only words said apart are joined ("quatre vingt")."""
    if not nxt:
        return False
    last, first = word[-1], nxt[0]
    if first in _JOINERS or last in _JOINERS:
        return True
    if last in _HUNDRED or first in _HUNDRED:
        return True
    if len(word) > 1 and last in _UNITS:
        return False  # "soixante-quatre": complete
    single = len(nxt) == 1
    if last in _TENS and not last.startswith("vingt") and single and _UNITS.get(first, 99) < 10:
        return True
    if (
        last in ("soixante", "vingt", "vingts")
        and first in _UNITS
        and (single or _UNITS[first] >= 10)
    ):
        return True  # soixante douze, quatre vingt quinze, soixante dix-sept
    return word == ["quatre"] and first.startswith("vingt")


def normalize(text: str) -> Normalized:
    """Rewrite spoken numbers into digits and spelled emails into addresses."""
    words = list(_WORD.finditer(text))
    spelled = any(fold(w[0]) in _EMAIL_AT for w in words)  # else no e-mail is spelled
    pieces: list[tuple[int, int, str]] = []  # (orig start, orig end, replacement)
    i = 0
    while i < len(words):
        email = _spelled_email(words, i) if spelled else None
        if email is not None:
            j, address = email
            pieces.append((words[i].start(), words[j].end(), address))
            i = j + 1
            continue
        if is_number_word(words[i][0]) and fold(words[i][0]) not in _JOINERS:
            j = i
            while (
                j + 1 < len(words)
                and is_number_word(words[j + 1][0])
                and _near(text, words[j], words[j + 1])
            ):
                j += 1
            while j > i and fold(words[j][0]) in _JOINERS:
                j -= 1  # "vingt et" then a word: the "et" is not part of the number
            run = [w[0] for w in words[i : j + 1]]
            strong = [w for w in run if fold(w) not in _WEAK]
            if strong and (len(run) > 1 or fold(run[0]) not in _WEAK):
                digits = _digits(run)
                if digits and len(run) >= 2:
                    pieces.append((words[i].start(), words[j].end(), digits))
            i = j + 1
            continue
        i += 1
    if not pieces:
        return Normalized(text, (0,), (0,), (True,), text)
    new_text: list[str] = []
    new: list[int] = []
    old: list[int] = []
    same: list[bool] = []
    cursor = 0
    length = 0
    for start, end, replacement in pieces:
        if start > cursor:
            new.append(length), old.append(cursor), same.append(True)
            new_text.append(text[cursor:start])
            length += start - cursor
        new.append(length), old.append(start), same.append(False)
        new_text.append(replacement)
        length += len(replacement)
        cursor = end
    new.append(length), old.append(cursor), same.append(True)
    new_text.append(text[cursor:])
    return Normalized("".join(new_text), tuple(new), tuple(old), tuple(same), text)


def _near(text: str, a: re.Match[str], b: re.Match[str]) -> bool:
    """Two words of one dictated number: only spaces, commas, dots or dashes between them."""
    between = text[a.end() : b.start()]
    return len(between) <= 4 and all(c in " ,.-…\t" for c in between)


def _spelled_email(words: list[re.Match[str]], i: int) -> tuple[int, str] | None:
    """ "jean point dupont arobase exemple point fr" → (index of "fr", "jean.dupont@exemple.fr")."""
    local: list[str] = [fold(words[i][0])]
    j = i + 1
    while j + 1 < len(words) and (
        fold(words[j][0]) in _EMAIL_DOT or fold(words[j][0]) in _EMAIL_DASH
    ):
        sep = fold(words[j][0])
        local.append("." if sep in _EMAIL_DOT else _EMAIL_DASH[sep])
        local.append(fold(words[j + 1][0]))
        j += 2
    if j >= len(words) or fold(words[j][0]) not in _EMAIL_AT:
        return None
    domain: list[str] = []
    k = j + 1
    if k >= len(words):
        return None
    domain.append(fold(words[k][0]))
    while k + 2 < len(words) and fold(words[k + 1][0]) in _EMAIL_DOT:
        domain += [".", fold(words[k + 2][0])]
        k += 2
    if len(domain) < 3 or domain[-1] not in _TLDS:
        return None
    if fold(words[j][0]) == "at" and len(local) == 1 and local[0] in {"me", "us", "him", "her"}:
        return None
    return k, "".join(local) + "@" + "".join(domain)


# Words that name a value said next: the recognizers that need context look for them.
CONTEXT = {
    "CVV": (
        "cryptogramme", "crypto", "code de securite", "code securite", "trois chiffres",
        "au dos", "cvv", "cvc", "cvv2", "security code", "three digits", "card verification",
    ),
    "CARD_EXPIRY": (
        "expir", "valable jusqu", "date de fin", "validite", "exp", "valid thru",
        "valid through", "valid until",
    ),
    "DATE_OF_BIRTH": (
        "ne le", "nee le", "naissance", "date de naissance", "ne en", "nee en", "born",
        "birth", "dob", "birthday", "anniversaire",
    ),
    "PASSPORT": ("passeport", "passport"),
    "ID_CARD": ("carte d'identite", "carte d identite", "cni", "identity card", "id card"),
    "SIREN": ("siren", "entreprise", "societe", "company number", "registration"),
    "SIRET": ("siret", "etablissement"),
    "SSN": ("social security", "ssn", "social is", "my social", "social number"),
    "ITIN": ("itin", "taxpayer identification", "individual taxpayer"),
    "EIN": ("ein", "employer identification", "tax id", "federal tax", "employer id"),
    "NINO": ("national insurance", "ni number", "nino", "insurance number"),
    "DRIVING_LICENCE": (
        "driving licence", "driving license", "driver's license", "drivers license",
        "driver license", "driver's licence", "licence number", "license number", "dl number",
        "permis de conduire", "permis",
    ),
    "POSTCODE": ("postcode", "post code", "postal code", "code postal"),
    "ZIP": ("zip", "zip code", "zipcode", "postal code"),
    "PHONE": (
        "telephone", "tel", "portable", "mobile", "fixe", "fax", "appeler", "appelez",
        "rappeler", "joindre", "whatsapp", "sms", "phone", "call", "cell", "reach", "desk",
        "office", "messages", "text me", "registered", "answering",
    ),
}  # fmt: skip

# Words that, among a turn's last few, say the same speaker's next turn may hold the value
# they name ("le cryptogramme c'est" … "cent vingt-trois").
NAMING_WORDS = tuple(
    dict.fromkeys(
        [w for words in CONTEXT.values() for w in words]
        + [
            "carte", "card", "iban", "rib", "numero", "number", "mail", "telephone", "phone",
            "portable", "mobile", "adresse", "address", "rue", "avenue", "boulevard", "street",
        ]
    )
)  # fmt: skip
# A turn ending with one of these is an e-mail still being spelled.
SPELLING_WORDS = frozenset(_EMAIL_AT | _EMAIL_DOT | set(_EMAIL_DASH))


def ends_as_written(text: str, words: int) -> bool:
    """Whether `normalize` leaves the last `words` words of `text` as they are: none is a
    number word nor a word of a spelled e-mail. A caller reading only a text's end (does a
    number run on into the next turn?) then need not normalize it."""
    return not any(
        is_number_word(w) or fold(w) in SPELLING_WORDS for w in _WORD.findall(text)[-words:]
    )
