"""What the customer reads of a one-time code, in their language and from their bank's name.

Few and short (an SMS is 160 characters), so a table rather than a catalogue; English unless
the channel knows the customer reads French. The code always follows the first colon, as
people (and the tests' readers) expect to find it.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "code_message", "default_text", "language"]

LANGUAGES = ("en", "fr")
_DEFAULT = {
    "verify": {"en": "Your verification code", "fr": "Votre code de vérification"},
    "destination": {
        "en": "Your code to add this number",
        "fr": "Votre code pour ajouter ce numéro",
    },
}
_BODY = {
    "en": "{text}: {code} ({tenant}). It expires in {minutes} minutes. Never share it.",
    "fr": "{text} : {code} ({tenant}). Il expire dans {minutes} minutes. Ne le donnez à personne.",
}


def language(locale: str | None) -> str:
    """`fr`, `fr-FR`, `fr_CA` → fr; anything else → en."""
    return "fr" if isinstance(locale, str) and locale.lower()[:2] == "fr" else "en"


def default_text(purpose: str, locale: str | None) -> str:
    return _DEFAULT[purpose][language(locale)]


def code_message(text: str, code: str, tenant: str, minutes: int, locale: str | None) -> str:
    return _BODY[language(locale)].format(text=text, code=code, tenant=tenant, minutes=minutes)
