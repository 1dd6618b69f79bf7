"""The DPO console (`/console/{tenant}/`): staff sign in with the auth package at substantial
assurance or above and, each as their role allows, search the consent log and the access log,
verify both against a checkpoint they kept, run the data-subject requests queue, look at the
charts and read the record of processing. Every page is an act of oversight the gateway
decides and records before anything is shown; in French and English, server-rendered.

Public face: `console_router(problem_of)` (the pages, for the HTTP app, which says how its
errors map to problems).
"""

from __future__ import annotations

from ._routes import console_router

__all__ = ["console_router"]
