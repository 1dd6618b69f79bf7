"""A factor row sealed under its tenant's key: who may step up with what is decided by rows
of the data store, and a writer of that store alone (a stolen backup restored with changes, a
console with SQL access) must not be able to add a passkey, a device key, a calling line or a
code destination of their own to someone's account, nor bring a revoked one back.

The seal is an HMAC-SHA256, under a tenant secret the vault derives (wrapped by the key
provider), of what makes the factor: its tenant, id, subject, kind and status, digests of its
secret and public key, its destination, channel and credential id. Counters and times of use
move without it (a writer could only replay a TOTP step, not make a code)."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import constant_time, hashes, hmac

from ._rows import StoredFactor

__all__ = ["factor_mac", "is_sealed"]

_DOMAIN = "tessera/auth-factor/1"


def factor_mac(key: bytes, factor: StoredFactor) -> str:
    mac = hmac.HMAC(key, hashes.SHA256())
    fields = (
        _DOMAIN,
        factor.tenant_id,
        factor.id,
        factor.subject_id,
        factor.kind,
        factor.status,
        _digest(factor.secret),
        factor.destination or "",
        factor.channel or "",
        factor.credential_id or "",
        _digest(factor.public_key),
    )
    mac.update("\x1f".join(fields).encode())
    return mac.finalize().hex()


def is_sealed(key: bytes, factor: StoredFactor) -> bool:
    """Whether the row is as this service wrote it (a row with no seal is not)."""
    if not factor.mac:
        return False
    return constant_time.bytes_eq(factor_mac(key, factor).encode(), factor.mac.encode())


def _digest(value: bytes | None) -> str:
    return "" if value is None else hashlib.sha256(bytes(value)).hexdigest()
