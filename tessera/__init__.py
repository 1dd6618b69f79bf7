"""Tessera: the trust layer in front of all customer data of a contact centre.

The root package holds only what every layer shares: the version, the base
of the exception hierarchy, the shared vocabulary (`Channel`, `Assurance`) and
base64url. Each capability lives in its own subpackage
(`tessera.vault`, `tessera.consent`, …) with a small public API.
"""

from __future__ import annotations

from ._encoding import b64url_decode, b64url_encode
from ._vocabulary import Assurance, Channel

__all__ = ["Assurance", "Channel", "TesseraError", "__version__", "b64url_decode", "b64url_encode"]

__version__ = "0.1.0"


class TesseraError(Exception):
    """Base of every error Tessera raises on purpose.

    `detail` is safe to show to a caller: it never contains a key, a token's
    value or any personal data. The HTTP layer maps each subclass to one
    problem type, once, in `tessera.trust`.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
