"""Portal links: a customer in a chat or a call is sent a link that opens their privacy portal.

`{nonce}.{expiry}.{mac}`: the nonce names the row that makes the link single-use, the expiry is
Unix seconds, and the MAC (HMAC-SHA256 under a tenant secret wrapped in the key store) covers
them with the tenant and the subject. The subject is not in the link (nothing personal in a URL)
and the MAC is not in the database, so neither a reader of the database nor a writer to it can
make a link; a writer re-pointing a row at another customer breaks its MAC. Opening a link does
not sign anybody in: it only names who is signing in, and the step-up still follows.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from sqlalchemy import update

from tessera import b64url_decode, b64url_encode
from tessera.auth import Authenticator, FactorNotEnrolled
from tessera.storage import Database, as_utc, table_of, utcnow
from tessera.trust._errors import InvalidPortalLink, PortalLinkExpired, PortalLinkUsed
from tessera.vault import InvalidValue, Vault, check_subject, check_tenant

from ._tables import PortalLinkRow

__all__ = ["LINK_TTL", "OpenedLink", "PortalLinks", "SentLink"]

LINK_TTL = dt.timedelta(minutes=15)
_CHANNELS = ("sms", "email", "messaging")
_FORMAT = re.compile(
    r"(?P<nonce>[A-Za-z0-9_-]{16})\.(?P<exp>[0-9]{10})\.(?P<mac>[A-Za-z0-9_-]{43})"
)
_LINKS = table_of(PortalLinkRow)


@dataclass(frozen=True, slots=True)
class OpenedLink:
    tenant: str
    subject: str
    channel: str


@dataclass(frozen=True, slots=True)
class SentLink:
    """What the agent or bot that asked for a link learns: where it went, masked, and until
    when it works; never the link itself (it is the customer's)."""

    sent_to: str
    expires_at: dt.datetime


def _mac(secret: bytes, tenant: str, nonce: str, exp: int, subject: str) -> hmac.HMAC:
    mac = hmac.HMAC(secret, hashes.SHA256())
    mac.update(f"tessera/portal-link/1\x1f{tenant}\x1f{nonce}\x1f{exp}\x1f{subject}".encode())
    return mac


class PortalLinks:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        authenticator: Authenticator,
        *,
        public_url: str,
        ttl: dt.timedelta = LINK_TTL,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = db
        self.vault = vault
        self.authenticator = authenticator
        self.public_url = public_url.rstrip("/")
        self.ttl = ttl
        self.clock = clock

    def _secret(self, tenant: str) -> bytes:
        return self.vault.tenant_secret(tenant, "portal-link")

    def issue(self, tenant: str, subject: str, channel: str) -> tuple[str, dt.datetime]:
        """A new link token for the subject, to be sent on `channel`; and when it expires."""
        check_tenant(tenant)
        subject = check_subject(subject)
        if not subject:
            raise InvalidValue("subject is required")
        if channel not in _CHANNELS:
            raise InvalidValue(f"channel must be one of: {', '.join(_CHANNELS)}")
        now = self.clock()
        expires = (now + self.ttl).replace(microsecond=0)
        exp = int(expires.timestamp())
        nonce = secrets.token_urlsafe(12)
        mac = _mac(self._secret(tenant), tenant, nonce, exp, subject).finalize()
        with self.db.begin() as conn:
            conn.execute(
                _LINKS.insert().values(
                    id=nonce,
                    tenant_id=tenant,
                    subject_id=subject,
                    channel=channel,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return f"{nonce}.{exp}.{b64url_encode(mac)}", expires

    def url(self, tenant: str, token: str) -> str:
        return f"{self.public_url}/portal/{tenant}/link/{token}"

    def send(self, tenant: str, subject: str, channel: str, *, message: str) -> SentLink:
        """Issue a link and send it to the subject's registered destination on `channel`;
        `message` is the text, in the customer's language, with `%(url)s` where the link goes."""
        if "%(url)s" not in message:
            raise InvalidValue("the message must say where the link goes: %(url)s")
        if not any(
            f.kind == "otp" and f.channel == channel and f.status == "active"
            for f in self.authenticator.factors(tenant, check_subject(subject))
        ):
            raise FactorNotEnrolled(f"no registered destination on {channel[:16]}")
        token, expires = self.issue(tenant, subject, channel)
        text = message.replace("%(url)s", self.url(tenant, token))
        sent_to = self.authenticator.send_to(tenant, subject, channel, text)
        return SentLink(sent_to, expires)

    def peek(self, tenant: str, token: object) -> OpenedLink:
        """Check a link without spending it (the page before the customer continues)."""
        return self._check(tenant, token)[0]

    def open(self, tenant: str, token: object) -> OpenedLink:
        """Check a link and spend it: a second opening is refused."""
        opened, nonce = self._check(tenant, token)
        with self.db.begin() as conn:
            spent = conn.execute(
                update(_LINKS)
                .where(
                    _LINKS.c.id == nonce, _LINKS.c.tenant_id == tenant, _LINKS.c.used_at.is_(None)
                )
                .values(used_at=self.clock())
            ).rowcount
        if spent != 1:
            raise PortalLinkUsed("this link was already used: ask for a new one")
        return opened

    def _check(self, tenant: str, token: object) -> tuple[OpenedLink, str]:
        check_tenant(tenant)
        found = _FORMAT.fullmatch(token) if isinstance(token, str) else None
        if found is None:
            raise InvalidPortalLink("this link is not valid")
        nonce, exp = found["nonce"], int(found["exp"])
        with self.db.read() as conn:
            row = conn.execute(
                _LINKS.select().where(_LINKS.c.id == nonce, _LINKS.c.tenant_id == tenant)
            ).first()
        if row is None:
            raise InvalidPortalLink("this link is not valid")
        try:
            _mac(self._secret(tenant), tenant, nonce, exp, row.subject_id).verify(
                b64url_decode(found["mac"])
            )
        except (InvalidSignature, ValueError):
            raise InvalidPortalLink("this link is not valid") from None
        if dt.datetime.fromtimestamp(exp, dt.UTC) <= as_utc(self.clock()):
            raise PortalLinkExpired("this link has expired: ask for a new one")
        if row.used_at is not None:
            raise PortalLinkUsed("this link was already used: ask for a new one")
        return OpenedLink(tenant, row.subject_id, row.channel), nonce
