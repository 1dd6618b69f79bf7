from __future__ import annotations

from tessera import TesseraError

__all__ = ["PolicyError", "PolicyLoadError"]


class PolicyError(TesseraError):
    """Base of the policy package's errors."""


class PolicyLoadError(PolicyError):
    """A policy file does not parse or does not validate against the schema.

    The running policy set stays in force: a bad file is refused, never half-loaded.
    """
