"""Small helpers the authenticator's parts share: ids, digests, rows to values."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_der_public_key

from tessera import Assurance, b64url_decode
from tessera.vault import InvalidValue

from ._errors import InvalidSignal, StepUpFailed
from ._risk import Signals
from ._rows import StoredSession
from ._types import SessionInfo


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _unb64url(text: str) -> bytes:
    try:
        return b64url_decode(text)
    except (ValueError, TypeError):
        raise InvalidSignal("not base64url") from None


def _session_info(row: StoredSession, *, last_seen: dt.datetime | None = None) -> SessionInfo:
    return SessionInfo(
        row.subject_id,
        Assurance(row.assurance),
        row.scope,
        tuple(f for f in row.factors.split(",") if f),
        row.created_at,
        last_seen or row.last_seen_at,
        row.expires_at,
        row.strong_at,
    )


def _label(label: str) -> str:
    if not isinstance(label, str):
        raise InvalidValue("label must be text")
    return label.strip()[:100] or "factor"


def _short(error: Exception) -> str:
    return str(error).splitlines()[0][:160] if str(error) else type(error).__name__


def _credential(credential: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError:
            raise StepUpFailed("the credential is not JSON") from None
    if not isinstance(credential, Mapping):
        raise StepUpFailed("a WebAuthn credential (JSON object) is required")
    return credential


def _stored_signals(signals: Signals, withheld: frozenset[str] = frozenset()) -> dict[str, Any]:
    """What the decision keeps to learn from later (the minimized values only), and the
    channels its risk involved, that no factor of its step-up may travel over."""
    return (
        {k: v for k, v in signals.values().items() if v is not None}
        | ({"hour": signals.hour} if signals.hour is not None else {})
        | ({"weekday": signals.weekday} if signals.weekday is not None else {})
        | ({"typing_ms": signals.typing_ms} if signals.typing_ms is not None else {})
        | ({"withheld": sorted(withheld)} if withheld else {})
    )


def device_signed(public_key_der: bytes, message: str, signature: str) -> bool:
    """True when `signature` (base64url) is the device key's over `message` (Ed25519, or
    ECDSA P-256 with SHA-256: what app keystores make); False for anything else."""
    try:
        public = load_der_public_key(public_key_der)
        raw = _unb64url(signature)
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(raw, message.encode())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(raw, message.encode(), ec.ECDSA(SHA256()))
        else:
            return False
    except (InvalidSignature, InvalidSignal, ValueError, TypeError):
        return False
    return True


def _signals_from(stored: Mapping[str, Any]) -> Signals:
    return Signals(
        device=stored.get("device"),
        ua_family=stored.get("ua_family"),
        os_family=stored.get("os_family"),
        network=stored.get("network"),
        asn=stored.get("asn"),
        country=stored.get("country"),
        hour=stored.get("hour"),
        weekday=stored.get("weekday"),
        channel=stored.get("channel"),
        typing_ms=stored.get("typing_ms"),
    )
