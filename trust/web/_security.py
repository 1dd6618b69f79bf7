"""What every page and form goes through: the security headers, CSRF tokens, bounded form
reading, cookies.

A CSRF token is an HMAC, under a tenant secret kept wrapped in the key store, of what the form
is bound to: the session (once signed in) or a random pre-session cookie (before). Nothing is
kept server-side for it, and a database writer cannot compute one.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from fastapi import Request

from tessera import b64url_decode, b64url_encode
from tessera.trust._errors import CsrfRejected, RequestTooLarge
from tessera.vault import InvalidValue, Vault

__all__ = [
    "FORM_LIMIT",
    "Csrf",
    "passkey_answer",
    "pre_session",
    "read_form",
    "security_headers",
    "set_cookie",
    "unanswerable_passkey_options",
]

FORM_LIMIT = 16 * 1024  # the largest form (a rectification, a pasted receipt) is far less
_PRE = 22  # characters of a pre-session id


def security_headers() -> dict[str, str]:
    """No inline script or style, nothing from anywhere else, no framing, nothing cached."""
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


class Csrf:
    """CSRF tokens of one room (`name` is its secret's name in the key store)."""

    def __init__(self, vault: Vault, name: str) -> None:
        self.vault = vault
        self.name = name

    def _mac(self, tenant: str, binding: str) -> hmac.HMAC:
        mac = hmac.HMAC(self.vault.tenant_secret(tenant, self.name), hashes.SHA256())
        mac.update(f"tessera/{self.name}/1\x1f{binding}".encode())
        return mac

    def token(self, tenant: str, binding: str) -> str:
        return b64url_encode(self._mac(tenant, binding).finalize())

    def check(self, tenant: str, binding: str, given: str | None) -> None:
        if not given or len(given) > 64:
            raise CsrfRejected("this form has expired: reload the page and try again")
        try:
            self._mac(tenant, binding).verify(b64url_decode(given))
        except (InvalidSignature, ValueError):
            raise CsrfRejected("this form has expired: reload the page and try again") from None


def pre_session(request: Request, cookie: str) -> tuple[str, bool]:
    """The random id that binds the forms before sign-in to this browser; True if it is new."""
    given = request.cookies.get(cookie, "")
    if len(given) == _PRE and given.replace("-", "a").replace("_", "a").isalnum():
        return given, False
    return secrets.token_urlsafe(16), True


async def read_form(request: Request, *, limit: int = FORM_LIMIT) -> dict[str, str]:
    """An urlencoded form, at most `limit` bytes (a 413 beyond), first value of each field."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"the form is larger than {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestTooLarge(f"the form is larger than {limit} bytes")
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise InvalidValue("the form could not be read") from None
    return {k: v[0] for k, v in fields.items() if v}


def set_cookie(
    response: Any,
    request: Request,
    name: str,
    value: str,
    path: str,
    *,
    max_age: int | None = None,
) -> None:
    """HttpOnly, SameSite=Strict, Secure behind TLS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


_CREDENTIAL_LIMIT = 8 * 1024  # a passkey's answer is well under 2 KiB


def passkey_answer(form: dict[str, str]) -> str:
    """The browser's answer to a passkey ceremony, as posted (bounded; "{}" when cancelled)."""
    credential = form.get("credential", "")
    if len(credential) > _CREDENTIAL_LIMIT:
        raise InvalidValue("the passkey answer is too large")
    return credential or "{}"


def unanswerable_passkey_options(rp_id: str, verification: str = "preferred") -> dict[str, Any]:
    """What a passkey page offers when there is nothing to offer: a challenge no credential
    answers, so the page is the same for someone without a passkey, or for nobody."""
    return {
        "challenge": b64url_encode(secrets.token_bytes(32)),
        "timeout": 60000,
        "rpId": rp_id,
        "allowCredentials": [],
        "userVerification": verification,
    }
