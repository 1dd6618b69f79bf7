"""French and English for the server-rendered pages: a room's gettext catalogue (Babel), read
from its `.po` and compiled in memory at first use; the reader's language from the switch
(`?lang=`, then its cookie) or `Accept-Language`; dates as people read them.

English is the source language (the msgids); each room keeps `locale/fr/LC_MESSAGES/<domain>.po`.
"""

from __future__ import annotations

import datetime as dt
import io
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi import Request

__all__ = ["LANGUAGES", "LANG_COOKIE", "N_", "Catalogue", "day", "language_of", "when"]

LANGUAGES = ("en", "fr")
LANG_COOKIE = "tessera_lang"
_ZONE = get_timezone("Europe/Paris")  # the contact centre's; a setting once tenants differ


def N_(message: str) -> str:
    """Marks a string for the catalogue without translating it here."""
    return message


class Catalogue:
    """One room's messages: English as written, French from its `.po`."""

    def __init__(self, locale_dir: Path, domain: str) -> None:
        self.locale_dir = locale_dir
        self.domain = domain
        self._compiled: dict[str, NullTranslations] = {}

    def translations(self, lang: str) -> NullTranslations:
        if lang not in self._compiled:
            self._compiled[lang] = self._compile(lang)
        return self._compiled[lang]

    def _compile(self, lang: str) -> NullTranslations:
        if lang == "en":
            return NullTranslations()
        path = self.locale_dir / lang / "LC_MESSAGES" / f"{self.domain}.po"
        with path.open("rb") as po:
            catalogue = read_po(po, locale=lang, domain=self.domain)
        compiled = io.BytesIO()
        write_mo(compiled, catalogue)
        compiled.seek(0)
        return Translations(compiled, domain=self.domain)

    def gettext(self, lang: str, message: str, **values: object) -> str:
        text = self.translations(lang).gettext(message)
        return text % values if values else text


def language_of(request: Request) -> str:
    """The switch's choice (`?lang=` then its cookie), else the browser's first language we
    speak, else English."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "")[:200].split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse({"fr": "fr_FR", "en": "en_GB"}[lang])


def when(value: dt.datetime | None, lang: str) -> str:
    """A moment as a person reads it in their language, in the contact centre's time zone."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return format_datetime(value, "medium", tzinfo=_ZONE, locale=_locale(lang))


def day(value: dt.datetime | dt.date | None, lang: str) -> str:
    if value is None:
        return ""
    return format_date(value, "long", locale=_locale(lang))
