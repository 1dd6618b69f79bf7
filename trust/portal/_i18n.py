"""French and English for the portal: gettext catalogues (Babel) read from the package at start,
the customer's language from `Accept-Language` or their switch, and dates, amounts and channel
names in that language.

English is the source language (the msgids); `locale/fr/LC_MESSAGES/portal.po` holds the French.
The `.po` is compiled in memory when the module loads: no build step, no compiled file to forget.
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

__all__ = ["LANGUAGES", "N_", "day", "language_of", "translations", "when"]

LANGUAGES = ("en", "fr")
LANG_COOKIE = "tessera_lang"
_LOCALE_DIR = Path(__file__).parent / "locale"
_ZONE = get_timezone("Europe/Paris")  # the contact centre's; a setting once tenants differ


def N_(message: str) -> str:
    """Marks a string for the catalogue without translating it here."""
    return message


@cache
def translations(lang: str) -> NullTranslations:
    if lang == "en":
        return NullTranslations()
    with (_LOCALE_DIR / lang / "LC_MESSAGES" / "portal.po").open("rb") as po:
        catalogue = read_po(po, locale=lang, domain="portal")
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain="portal")


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


def link_message(lang: str) -> str:
    """The message that carries a portal link, with `%(url)s` where the link goes."""
    if lang not in LANGUAGES:
        lang = "en"
    return translations(lang).gettext(_LINK_MESSAGE)


_LINK_MESSAGE = N_("Your link to your privacy space (valid for 15 minutes, once): %(url)s")
