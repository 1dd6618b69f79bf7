from __future__ import annotations

from tessera import TesseraError

__all__ = [
    "InvalidToken",
    "InvalidValue",
    "KeyProviderError",
    "MalformedToken",
    "MissingKeyVersion",
    "SensitiveAuthenticationData",
    "UnknownSubject",
    "ValueTooLarge",
    "VaultError",
    "WrongPassphrase",
]


class VaultError(TesseraError):
    """Base of the vault's errors."""


class InvalidToken(VaultError):
    """The token cannot be resolved: unknown, another tenant's, erased, or not decryptable.

    Like Fernet's `InvalidToken`, one error covers every cause so that a caller
    cannot probe which one applies (another tenant's token looks unknown).
    """

    def __init__(self, detail: str = "unknown token", *, index: int | None = None) -> None:
        super().__init__(detail if index is None else f"item {index}: {detail}")
        self.index = index


class MalformedToken(VaultError):
    """The string is not shaped like any Tessera token: a caller bug, not a lookup miss."""

    def __init__(self, detail: str = "malformed token", *, index: int | None = None) -> None:
        super().__init__(detail if index is None else f"item {index}: {detail}")
        self.index = index


class InvalidValue(VaultError, ValueError):
    """A value to tokenize fails its category's rules. The message never echoes the value."""

    def __init__(self, detail: str, *, index: int | None = None) -> None:
        super().__init__(detail if index is None else f"item {index}: {detail}")
        self.index = index


class ValueTooLarge(InvalidValue):
    """A value or a batch exceeds the documented limits."""


class SensitiveAuthenticationData(InvalidValue):
    """CVV/CVC, PIN or magnetic-stripe track data: never stored, even encrypted (PCI DSS 3.3.1)."""


class UnknownSubject(VaultError):
    """No data, key or erasure is known for this subject in this tenant."""


class KeyProviderError(VaultError):
    """The key-encryption-key provider cannot serve the request."""


class WrongPassphrase(KeyProviderError):
    """The keyring's passphrase (or secret) does not open it."""


class MissingKeyVersion(KeyProviderError):
    """Data is wrapped under a key-encryption-key version the provider does not hold."""

    def __init__(self, version: int) -> None:
        super().__init__(f"key-encryption key version {version} is not held by the key provider")
        self.version = version
