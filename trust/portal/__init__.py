"""The customer privacy portal (`/portal/{tenant}/`): a customer signs in with the auth package,
sees and changes their consents with a receipt for each choice, makes their data-subject
requests, and sees who used their data and why; in French and English, server-rendered.

Public face: `portal_router(problem_of)` (the pages, for the HTTP app, which says how its errors
map to problems) and `link_message(lang)` (the text of a link sent to a customer in a
conversation, in their language).
"""

from __future__ import annotations

from ._i18n import LANGUAGES, link_message
from ._routes import portal_router

__all__ = ["LANGUAGES", "link_message", "portal_router"]
