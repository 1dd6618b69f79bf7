"""The authenticator: risk decisions, sessions with an assurance level, step-ups and enrolments.

Low risk passes silently with a low-assurance session; higher risk asks for a second factor
(TOTP, a passkey, a one-time code to a registered channel) and only a passed step-up teaches
the customer's profile. PSD2 RTS limits apply: 5 consecutive failures block for a while
(Art. 4(3)(b)); a payment session ends after 5 minutes without activity (Art. 4(3)(d)).

Its parts are layered, each on the ones it uses: the shared state, sessions, challenges, factor
checks, step-ups; assessing, enrolment (the voice PIN on top of it) and the records beside
them. This class is their sum.
"""

from __future__ import annotations

from ._assessing import _Assessing
from ._records import _Records
from ._voice import _VoicePins

__all__ = ["Authenticator"]


class Authenticator(_Assessing, _VoicePins, _Records):
    """Invisible strong authentication for one deployment (all tenants)."""
