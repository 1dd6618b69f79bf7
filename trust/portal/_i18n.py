"""The portal's French and English: its gettext catalogue (`locale/fr/LC_MESSAGES/portal.po`),
read through the shared `trust.web` layer, and the message that carries a portal link."""

from __future__ import annotations

from pathlib import Path

from babel.support import NullTranslations

from tessera.trust.web import LANG_COOKIE, LANGUAGES, N_, Catalogue, day, language_of, when

__all__ = [
    "CATALOGUE",
    "LANGUAGES",
    "LANG_COOKIE",
    "N_",
    "day",
    "language_of",
    "link_message",
    "translations",
    "when",
]

CATALOGUE = Catalogue(Path(__file__).parent / "locale", "portal")


def translations(lang: str) -> NullTranslations:
    return CATALOGUE.translations(lang)


def link_message(lang: str) -> str:
    """The message that carries a portal link, with `%(url)s` where the link goes."""
    if lang not in LANGUAGES:
        lang = "en"
    return translations(lang).gettext(_LINK_MESSAGE)


_LINK_MESSAGE = N_("Your link to your privacy space (valid for 15 minutes, once): %(url)s")
