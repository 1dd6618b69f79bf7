"""The vault's value types (what callers hand in and get back) and the checks of the ids they
carry: tenants and subjects."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._categories import DataCategory
from ._errors import InvalidValue

__all__ = [
    "Detokenized",
    "Erasure",
    "Sealed",
    "TokenRecord",
    "TokenizeRequest",
    "VaultLimits",
    "check_subject",
    "check_tenant",
]

_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class VaultLimits:
    """Documented limits: a value is at most 4 KiB, a batch at most 10,000 values."""

    max_value_bytes: int = 4096
    max_batch_items: int = 10_000


@dataclass(frozen=True, slots=True)
class TokenizeRequest:
    value: str
    category: DataCategory | str = DataCategory.GENERIC
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What other systems keep instead of the value."""

    token: str
    category: DataCategory
    subject: str | None


@dataclass(frozen=True, slots=True)
class Detokenized:
    token: str
    category: DataCategory
    subject: str | None
    value: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Erasure:
    """The record of a crypto-shredding: counts and time, never the data."""

    tenant: str
    subject: str
    erased_at: Any
    keys_destroyed: int
    items_destroyed: int


@dataclass(frozen=True, slots=True)
class Sealed:
    """A vaulted value as stored, not yet decrypted: what a decision is made on."""

    record: TokenRecord
    dek_id: str
    ciphertext: bytes = field(repr=False)


def check_tenant(tenant: str) -> str:
    if not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise InvalidValue("tenant id must be 1-64 characters of a-z, 0-9, '-' or '_'")
    return tenant


def check_subject(subject: str | None, *, index: int | None = None) -> str:
    """Subjects are pseudonymous ids chosen by the caller ('' means no subject)."""
    if subject is None:
        return ""
    if not isinstance(subject, str) or not _ID.match(subject):
        raise InvalidValue(
            "subject id must be 1-128 characters of letters, digits, '_', '.', ':' or '-'",
            index=index,
        )
    return subject
