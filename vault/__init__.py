"""The vault: tokens instead of values, envelope encryption, crypto-shredding.

Public face (the "recipes" layer): `Vault` with tokenize / detokenize /
reveal_masked / find / erase_subject, `rotate_keys` for KEK rotation, the
`KeyProvider` interface and its two implementations, and one error hierarchy
under `VaultError`. Everything else is private.
"""

from __future__ import annotations

from ._bulk import BatchMapper, BulkRecord, BulkReport, tokenize_file, tokenize_records
from ._categories import DataCategory, mask, parse_category
from ._erasure import JournalReplay, JournalStatus
from ._errors import (
    InvalidToken,
    InvalidValue,
    KeyProviderError,
    MalformedToken,
    MissingKeyVersion,
    SensitiveAuthenticationData,
    UnknownSubject,
    ValueTooLarge,
    VaultError,
    WrongPassphrase,
)
from ._keys import KeyProvider, LocalKeyring, Pkcs11KeyProvider, WrappedKey
from ._models import KEYSTORE_TABLES
from ._rotation import KeyStatus, RotationReport, key_status, rotate_keys
from ._types import (
    Detokenized,
    Erasure,
    Sealed,
    TokenizeRequest,
    TokenRecord,
    VaultLimits,
    check_subject,
    check_tenant,
)
from ._vault import Vault

__all__ = [
    "KEYSTORE_TABLES",
    "BatchMapper",
    "BulkRecord",
    "BulkReport",
    "DataCategory",
    "Detokenized",
    "Erasure",
    "InvalidToken",
    "InvalidValue",
    "JournalReplay",
    "JournalStatus",
    "KeyProvider",
    "KeyProviderError",
    "KeyStatus",
    "LocalKeyring",
    "MalformedToken",
    "MissingKeyVersion",
    "Pkcs11KeyProvider",
    "RotationReport",
    "Sealed",
    "SensitiveAuthenticationData",
    "TokenRecord",
    "TokenizeRequest",
    "UnknownSubject",
    "ValueTooLarge",
    "Vault",
    "VaultError",
    "VaultLimits",
    "WrappedKey",
    "WrongPassphrase",
    "check_subject",
    "check_tenant",
    "key_status",
    "mask",
    "parse_category",
    "rotate_keys",
    "tokenize_file",
    "tokenize_records",
]
