from __future__ import annotations

from tessera import TesseraError

__all__ = [
    "CatalogueError",
    "ChainBroken",
    "ConsentError",
    "DsrNotFound",
    "IdempotencyConflict",
    "IdentityNotVerified",
    "InvalidEvent",
    "InvalidReceipt",
    "InvalidTransition",
    "UnknownPurpose",
]


class ConsentError(TesseraError):
    """Base of the consent package's errors."""


class CatalogueError(ConsentError):
    """A purpose catalogue (file or API body) does not validate."""


class UnknownPurpose(ConsentError):
    """No purpose with this id in the tenant's catalogue."""


class InvalidEvent(ConsentError):
    """A consent event is malformed: unknown channel, future date, bad evidence…"""


class IdempotencyConflict(ConsentError):
    """An idempotency key was reused for a different event."""


class ChainBroken(ConsentError):
    """The ledger does not verify: an event was edited, removed or reordered."""

    def __init__(self, detail: str, *, seq: int) -> None:
        super().__init__(detail)
        self.seq = seq


class InvalidReceipt(ConsentError):
    """A receipt's signature or content does not verify."""


class DsrNotFound(ConsentError):
    """No data-subject request with this id in this tenant."""


class InvalidTransition(ConsentError):
    """A data-subject request cannot move to that state from where it is."""


class IdentityNotVerified(ConsentError):
    """The requester's identity is not verified: nothing is released."""
