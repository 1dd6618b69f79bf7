"""What the server-rendered rooms (the customer portal, the DPO console) share: the security
headers, CSRF tokens under a tenant secret, bounded form reading and cookies; French and English
from each room's gettext catalogue, the reader's language and localised dates; a Jinja
environment per room and language; and the HTTP app's problem mapping, injected once."""

from __future__ import annotations

from ._i18n import LANG_COOKIE, LANGUAGES, N_, Catalogue, day, language_of, when
from ._pages import Pages, ProblemOf, ServicesDep, problem, redirect, status_of, use_problems
from ._security import (
    FORM_LIMIT,
    Csrf,
    passkey_answer,
    pre_session,
    read_form,
    security_headers,
    set_cookie,
    unanswerable_passkey_options,
)

__all__ = [
    "FORM_LIMIT",
    "LANGUAGES",
    "LANG_COOKIE",
    "N_",
    "Catalogue",
    "Csrf",
    "Pages",
    "ProblemOf",
    "ServicesDep",
    "day",
    "language_of",
    "passkey_answer",
    "pre_session",
    "problem",
    "read_form",
    "redirect",
    "security_headers",
    "set_cookie",
    "status_of",
    "unanswerable_passkey_options",
    "use_problems",
    "when",
]
