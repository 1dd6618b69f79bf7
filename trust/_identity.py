"""Service identity: tenants and API keys (random, shown once, stored as a hash, scoped)."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tessera.policies import CallerKind
from tessera.storage import Database, utcnow
from tessera.vault import InvalidValue, check_tenant

from ._errors import AuthenticationRequired, PermissionDenied, UnknownTenant
from ._models import ApiKey, Tenant

__all__ = ["Caller", "IssuedKey", "Scope", "ServiceIdentity"]

_ROLE = re.compile(r"^[a-z0-9_\-]{1,32}$")
_KEY = re.compile(r"^tsk_([a-z2-7]{16})_([a-z2-7]{32})$")


class Scope(enum.StrEnum):
    """What an API key may do. The gateway issue refines these with policies."""

    TOKENIZE = "tokens:write"
    REVEAL_MASKED = "tokens:reveal_masked"
    DETOKENIZE = "tokens:detokenize"
    SEARCH = "tokens:search"
    ERASE = "subjects:erase"
    ACCESS = "access"
    AUDIT = "audit:read"
    CONSENT_WRITE = "consent:write"
    CONSENT_READ = "consent:read"
    PURPOSES_WRITE = "purposes:write"
    DSR = "dsr:manage"
    # A channel (app, web, IVR, chat) signing its customers in: assess, step up, enrol.
    AUTH = "auth"
    # An operator: bind numbers and code destinations, read decisions, revoke factors.
    AUTH_MANAGE = "auth:manage"
    # A trusted identity provider that asserts an assurance level without a Tessera session.
    AUTH_ASSERT = "auth:assert"
    # Payment flows: create payments, read their status and masked card, capture, refund.
    PAYMENTS = "payments"
    # What handles card data (the card page, the IVR collecting DTMF): card entry and SCA.
    # Agent desktops and bots never hold it, so the card never passes through them.
    PAYMENTS_CARD = "payments:card"
    # Register and remove webhook endpoints, read and replay their deliveries.
    WEBHOOKS = "webhooks"
    # Redact texts and conversations (transcripts, summaries) before they are kept or shown.
    REDACT = "redact"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated service: every query it causes is filtered by `tenant`."""

    tenant: str
    key_id: str
    name: str
    scopes: frozenset[Scope]
    kind: str = "service"
    roles: frozenset[str] = frozenset()

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise PermissionDenied(
                f"this API key lacks the scope {scope.value!r}", scope=scope.value
            )


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: `secret` is shown once and never stored."""

    key_id: str
    tenant: str
    name: str
    scopes: frozenset[Scope]
    secret: str
    expires_at: dt.datetime | None = None


def _b32(nbytes: int) -> str:
    return base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=").lower()


def _digest(secret: str) -> str:
    # API keys carry 160 random bits: a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(names: Iterable[str]) -> frozenset[Scope]:
    scopes = set()
    for name in names:
        try:
            scopes.add(Scope(name))
        except ValueError:
            allowed = ", ".join(s.value for s in Scope)
            raise InvalidValue(f"unknown scope {name[:40]!r}; expected one of: {allowed}") from None
    return frozenset(scopes)


class ServiceIdentity:
    def __init__(self, db: Database, *, clock: Callable[[], Any] = utcnow) -> None:
        self.db = db
        self.clock = clock

    def create_tenant(self, tenant_id: str, *, name: str | None = None) -> Tenant:
        check_tenant(tenant_id)
        tenant = Tenant(id=tenant_id, name=(name or tenant_id)[:200], created_at=self.clock())
        try:
            with self.db.session() as s:
                s.add(tenant)
        except IntegrityError:
            raise InvalidValue(f"tenant {tenant_id!r} already exists") from None
        return tenant

    def get_tenant(self, tenant_id: str) -> Tenant:
        with self.db.session() as s:
            tenant = s.get(Tenant, tenant_id)
        if tenant is None:
            raise UnknownTenant(f"no tenant {tenant_id!r}")
        return tenant

    def list_tenants(self) -> list[Tenant]:
        with self.db.session() as s:
            return list(s.exec(select(Tenant).order_by(Tenant.id)).scalars())

    def issue_key(
        self,
        tenant_id: str,
        *,
        scopes: Iterable[Scope | str],
        name: str = "",
        valid_for: dt.timedelta | None = None,
        kind: str = "service",
        roles: Iterable[str] = (),
    ) -> IssuedKey:
        """A new key; with `valid_for`, it stops working after that long."""
        self.get_tenant(tenant_id)
        parsed = parse_scopes(str(s) for s in scopes)
        if not parsed:
            raise InvalidValue("an API key needs at least one scope")
        try:
            kind = CallerKind(kind).value
        except ValueError:
            allowed = ", ".join(k.value for k in CallerKind)
            raise InvalidValue(
                f"unknown caller kind {kind[:20]!r}; expected one of: {allowed}"
            ) from None
        roles = sorted(set(roles))
        if any(not _ROLE.match(r) for r in roles):
            raise InvalidValue("roles are 1-32 characters of a-z, 0-9, '_' and '-'")
        if valid_for is not None and valid_for <= dt.timedelta(0):
            raise InvalidValue("an API key's validity must be positive")
        now = self.clock()
        key_id, secret_part = _b32(10), _b32(20)
        secret = f"tsk_{key_id}_{secret_part}"
        with self.db.session() as s:
            s.add(
                ApiKey(
                    id=key_id,
                    tenant_id=tenant_id,
                    name=name[:200] or key_id,
                    secret_sha256=_digest(secret),
                    scopes=" ".join(sorted(p.value for p in parsed)),
                    created_at=now,
                    expires_at=now + valid_for if valid_for else None,
                    caller_kind=kind,
                    roles=" ".join(roles),
                )
            )
        return IssuedKey(
            key_id,
            tenant_id,
            name or key_id,
            parsed,
            secret,
            now + valid_for if valid_for else None,
        )

    def revoke_key(self, key_id: str, *, tenant_id: str | None = None) -> None:
        with self.db.session() as s:
            key = s.get(ApiKey, key_id)
            if key is None or (tenant_id is not None and key.tenant_id != tenant_id):
                raise InvalidValue(f"no API key {key_id[:40]!r}")
            if key.revoked_at is None:
                key.revoked_at = self.clock()
                s.add(key)

    def list_keys(self, tenant_id: str) -> list[ApiKey]:
        with self.db.session() as s:
            return list(
                s.exec(
                    select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)
                ).scalars()
            )

    def authenticate(self, presented: str | None) -> Caller:
        """One answer for every failure, so that a caller cannot tell which check failed."""
        failure = AuthenticationRequired(
            "a valid API key is required (Authorization: Bearer tsk_…)"
        )
        if not presented:
            raise failure
        match = _KEY.match(presented)
        if not match:
            raise failure
        table = ApiKey.__table__
        with self.db.read() as conn:  # one round trip, no ORM session: this is every request
            key = conn.execute(select(table).where(table.c.id == match.group(1))).first()
        if key is None or key.revoked_at is not None:
            raise failure
        if not hmac.compare_digest(key.secret_sha256, _digest(presented)):
            raise failure
        if key.expires_at is not None and key.expires_at <= self.clock():
            # Said only to a holder of the secret: it tells them what to do.
            raise AuthenticationRequired("this API key has expired: issue a new one")
        return Caller(
            key.tenant_id,
            key.id,
            key.name,
            parse_scopes(key.scopes.split()),
            key.caller_kind,
            frozenset(key.roles.split()),
        )
