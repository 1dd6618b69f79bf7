"""Service identity: tenants and API keys (random, shown once, stored as a hash, scoped)."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tessera.policies import CallerKind
from tessera.storage import Database, as_utc, table_of, utcnow
from tessera.trust._errors import AuthenticationRequired, PermissionDenied, UnknownTenant
from tessera.trust._events import SecurityEvents
from tessera.vault import InvalidValue, check_tenant

from ._tables import ApiKey, Tenant

__all__ = ["FAILURES_RECORDED", "Caller", "IssuedKey", "Scope", "ServiceIdentity"]

FAILURES_RECORDED = 5  # failed authentications of one key within a minute, then recorded

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


@dataclass(frozen=True, slots=True)
class _Verified:
    """A key this process looked up and found valid, kept for `verified_for` seconds."""

    digest: str
    caller: Caller
    expires_at: dt.datetime | None
    until: float  # on the identity's monotonic ticker


class ServiceIdentity:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], Any] = utcnow,
        verified_for: float = 2.0,
        ticker: Callable[[], float] = time.monotonic,
        events: SecurityEvents | None = None,
        region: str = "default",
        region_of: Callable[[str], str] | None = None,
    ) -> None:
        """`verified_for`: how long a looked-up key is trusted without reading it again. Every
        request carries a key, and the read was a tenth of a request's time; the price is that
        a key revoked by another process (the CLI, another worker) still works here for up to
        this long. Revoking through this process takes effect at once; 0 turns the cache off."""
        self.db = db
        self.clock = clock
        # The region these stores are, and which region each tenant is pinned to: a tenant is
        # created only in its own region's stores, and its creation records the region.
        self.region = region
        self.region_of = region_of or (lambda _tenant: region)
        self.verified_for = verified_for
        self._ticker = ticker
        self._verified: dict[str, _Verified] = {}
        self.events = events
        # Failed authentications per known key, in this process: past a rate, recorded.
        self._failures: dict[str, list[float]] = {}
        self._expiry_told: set[str] = set()

    def _tell(self, tenant: str, event: str, actor: str, **facts: Any) -> None:
        if self.events is not None:
            self.events.security_event(tenant, event, facts, actor=actor)

    def events_for_all(self, tenant: str, event: str, actor: str, **facts: Any) -> None:
        """A deployment-wide event (a key rotation, a policy load), told to one tenant."""
        self._tell(tenant, event, actor, **facts)

    def create_tenant(
        self, tenant_id: str, *, name: str | None = None, actor: str = "operator"
    ) -> Tenant:
        check_tenant(tenant_id)
        home = self.region_of(tenant_id)
        if home != self.region:
            raise InvalidValue(
                f"tenant {tenant_id!r} is pinned to region {home!r}: its data is kept only there"
            )
        tenant = Tenant(id=tenant_id, name=(name or tenant_id)[:200], created_at=self.clock())
        with self.db.session() as s:
            if s.get(Tenant, tenant_id) is not None:
                raise InvalidValue(f"tenant {tenant_id!r} already exists")
        self._tell(tenant_id, "tenant_created", actor, region=self.region)
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
        actor: str = "operator",
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
        self._tell(
            tenant_id,
            "api_key_issued",
            actor,
            key=key_id,
            caller_kind=kind,
            scopes=sorted(p.value for p in parsed),
            roles=roles,
            expires_at=(now + valid_for).isoformat() if valid_for else None,
        )
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

    def revoke_key(
        self, key_id: str, *, tenant_id: str | None = None, actor: str = "operator"
    ) -> None:
        with self.db.session() as s:
            key = s.get(ApiKey, key_id)
            if key is None or (tenant_id is not None and key.tenant_id != tenant_id):
                raise InvalidValue(f"no API key {key_id[:40]!r}")
            if key.revoked_at is None:
                self._tell(key.tenant_id, "api_key_revoked", actor, key=key.id)
                key.revoked_at = self.clock()
                s.add(key)
        self._verified.pop(key_id, None)

    def list_keys(self, tenant_id: str) -> list[ApiKey]:
        with self.db.session() as s:
            return list(
                s.exec(
                    select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)
                ).scalars()
            )

    def verified(self, presented: str | None) -> Caller | None:
        """The caller, when this key was verified here moments ago; None when it must be read
        from the store (`authenticate`). No I/O, so the server can ask from its event loop."""
        return self._remembered(*self._parse(presented))

    def _remembered(self, key_id: str, digest: str) -> Caller | None:
        hit = self._verified.get(key_id)
        if hit is None or hit.until <= self._ticker():
            return None
        if not hmac.compare_digest(hit.digest, digest):
            return None  # a wrong secret for a known id: the store gives the one answer
        self._check_expiry(hit.expires_at)
        return hit.caller

    def authenticate(self, presented: str | None) -> Caller:
        """One answer for every failure, so that a caller cannot tell which check failed."""
        key_id, digest = self._parse(presented)
        cached = self._remembered(key_id, digest)
        if cached is not None:
            return cached
        table = table_of(ApiKey)
        with self.db.read() as conn:  # one round trip, no ORM session: this is every request
            key = conn.execute(select(table).where(table.c.id == key_id)).first()
        if key is None:
            raise _failure()
        if key.revoked_at is not None or not hmac.compare_digest(key.secret_sha256, digest):
            self._failed(key.tenant_id, key.id, "revoked" if key.revoked_at else "wrong secret")
            raise _failure()
        expires_at = as_utc(key.expires_at) if key.expires_at is not None else None
        try:
            self._check_expiry(expires_at)
        except AuthenticationRequired:
            if key.id not in self._expiry_told:  # the first time it is presented expired
                self._expiry_told.add(key.id)
                self._tell(
                    key.tenant_id,
                    "api_key_expired",
                    "unknown caller",
                    key=key.id,
                    expired_at=expires_at.isoformat() if expires_at else None,
                )
            self._failed(key.tenant_id, key.id, "expired")
            raise
        caller = Caller(
            key.tenant_id,
            key.id,
            key.name,
            parse_scopes(key.scopes.split()),
            key.caller_kind,
            frozenset(key.roles.split()),
        )
        if self.verified_for > 0:
            self._verified[key_id] = _Verified(
                digest, caller, expires_at, self._ticker() + self.verified_for
            )
        return caller

    def _failed(self, tenant: str, key_id: str, why: str) -> None:
        """Count a failed authentication of a known key; the `FAILURES_RECORDED`-th within a
        minute is recorded (once a minute at most): a guessing or a leaked-then-revoked key."""
        now = self._ticker()
        recent = [t for t in self._failures.get(key_id, []) if now - t < 60.0]
        recent.append(now)
        self._failures[key_id] = recent
        if len(recent) == FAILURES_RECORDED:
            self._tell(
                tenant,
                "authentication_failures",
                "unknown caller",
                key=key_id,
                failures=len(recent),
                window_seconds=60,
                last_reason=why,
            )

    @staticmethod
    def _parse(presented: str | None) -> tuple[str, str]:
        match = _KEY.match(presented) if presented else None
        if presented is None or match is None:
            raise _failure()
        return match.group(1), _digest(presented)

    def _check_expiry(self, expires_at: dt.datetime | None) -> None:
        if expires_at is not None and expires_at <= self.clock():
            # Said only to a holder of the secret: it tells them what to do.
            raise AuthenticationRequired("this API key has expired: issue a new one")


def _failure() -> AuthenticationRequired:
    return AuthenticationRequired("a valid API key is required (Authorization: Bearer tsk_…)")
