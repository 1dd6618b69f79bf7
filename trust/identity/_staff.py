"""Staff at the DPO console: who they are, their role (a Cedar principal), their factors.

A member of staff signs in with the auth package like a customer does, as the auth subject
`staff:<id>`, but always at substantial assurance or above (TOTP or a passkey). Their row is
sealed under a tenant secret held behind the key provider: a database writer can neither add
a member of staff nor raise one's role; such a row signs nobody in.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import constant_time, hashes, hmac
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tessera.auth import Authenticator, TotpEnrolment
from tessera.storage import Database, as_utc, table_of, utcnow
from tessera.trust._errors import StaffExists, UnknownStaff
from tessera.trust._events import SecurityEvents
from tessera.vault import InvalidValue, Vault, check_tenant

from ._service import Caller, Scope
from ._tables import StaffRow

__all__ = ["STAFF_PREFIX", "StaffDirectory", "StaffMember", "StaffRole"]

STAFF_PREFIX = "staff:"
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._\-]{1,63}$")
_STAFF = table_of(StaffRow)


class StaffRole(enum.StrEnum):
    """What a member of staff does at the console; each is a Cedar role (`CallerKind`)."""

    DPO = "dpo"  # acts on requests, sees exports
    ANALYST = "analyst"  # searches the logs, never a value in clear
    AUDITOR = "auditor"  # verifies the logs, reads the record of processing


def parse_role(value: str) -> StaffRole:
    try:
        return StaffRole(value)
    except ValueError:
        roles = ", ".join(r.value for r in StaffRole)
        raise InvalidValue(f"unknown role {value[:20]!r}; expected one of: {roles}") from None


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str
    tenant: str
    login: str
    name: str
    role: StaffRole
    active: bool
    created_at: dt.datetime

    @property
    def subject(self) -> str:
        """Their auth subject: sessions and factors are kept under it."""
        return STAFF_PREFIX + self.id

    @property
    def caller(self) -> Caller:
        """The console acting as this member of staff: Cedar sees their role."""
        return Caller(
            tenant=self.tenant,
            key_id=self.subject,
            name=self.login,
            scopes=frozenset({Scope.AUDIT, Scope.DSR, Scope.CONSENT_READ}),
            kind=self.role.value,
        )


class StaffDirectory:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        authenticator: Authenticator,
        *,
        tenants: Callable[[str], Any] | None = None,
        events: SecurityEvents | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = db
        self.vault = vault
        self.authenticator = authenticator
        self.events = events
        self.clock = clock
        self.tenants = tenants  # raises UnknownTenant for a tenant that does not exist

    def _mac(self, tenant: str, row: Any) -> str:
        mac = hmac.HMAC(self.vault.tenant_secret(tenant, "staff"), hashes.SHA256())
        fields = (tenant, row.id, row.login, row.role, row.status)
        mac.update("\x1f".join(("tessera/staff/1", *fields)).encode())
        return mac.finalize().hex()

    def _member(self, tenant: str, row: Any) -> StaffMember:
        if not constant_time.bytes_eq(self._mac(tenant, row).encode(), str(row.mac).encode()):
            # Not written by this service (added, or its role or status changed by hand).
            raise UnknownStaff("no such member of staff")
        return StaffMember(
            id=row.id,
            tenant=tenant,
            login=row.login,
            name=row.name,
            role=StaffRole(row.role),
            active=row.status == "active",
            created_at=as_utc(row.created_at),
        )

    def create(
        self, tenant: str, login: str, role: StaffRole | str, *, name: str = "", actor: str
    ) -> tuple[StaffMember, TotpEnrolment]:
        """A member of staff with an authenticator app: its seed is shown once, to hand over.
        The creation is in the tenant's audit trail before the account exists."""
        check_tenant(tenant)
        if self.tenants is not None:
            self.tenants(tenant)
        role = parse_role(str(role))
        login = login.strip().lower() if isinstance(login, str) else ""
        if not _LOGIN.match(login):
            raise InvalidValue(
                "a login is 2-64 lowercase letters, digits, '.', '_' or '-', starting with a "
                "letter or digit"
            )
        if not isinstance(name, str) or len(name) > 200:
            raise InvalidValue("a name is at most 200 characters")
        staff_id = "stf_" + secrets.token_hex(8)
        values: dict[str, Any] = {
            "id": staff_id,
            "tenant_id": tenant,
            "login": login,
            "name": name.strip(),
            "role": role.value,
            "status": "active",
            "created_at": self.clock(),
        }
        values["mac"] = self._mac(tenant, _Fields(**values))
        if self.find(tenant, login) is not None:
            raise StaffExists(f"a member of staff already signs in as {login!r}")
        if self.events is not None:
            self.events.security_event(
                tenant, "staff_created", {"staff": staff_id, "role": role.value}, actor=actor
            )
        try:
            with self.db.begin() as conn:
                conn.execute(_STAFF.insert().values(**values))
        except IntegrityError:
            raise StaffExists(f"a member of staff already signs in as {login!r}") from None
        member = self.get(tenant, staff_id)
        enrolment = self.authenticator.provision_totp(
            tenant, member.subject, f"Tessera console ({login})"
        )
        return member, enrolment

    def find(self, tenant: str, login: str) -> StaffMember | None:
        """The active member of staff who signs in as `login`, or None."""
        check_tenant(tenant)
        if not isinstance(login, str) or len(login) > 64:
            return None
        with self.db.read() as conn:
            row = conn.execute(
                select(_STAFF).where(
                    _STAFF.c.tenant_id == tenant, _STAFF.c.login == login.strip().lower()
                )
            ).first()
        if row is None:
            return None
        try:
            member = self._member(tenant, row)
        except UnknownStaff:
            return None
        return member if member.active else None

    def get(self, tenant: str, staff_id: str) -> StaffMember:
        check_tenant(tenant)
        with self.db.read() as conn:
            row = conn.execute(
                select(_STAFF).where(_STAFF.c.tenant_id == tenant, _STAFF.c.id == staff_id)
            ).first()
        if row is None:
            raise UnknownStaff(f"no member of staff {str(staff_id)[:40]!r}")
        return self._member(tenant, row)

    def of_subject(self, tenant: str, subject: str) -> StaffMember | None:
        """The active member of staff whose auth subject this is, or None."""
        if not subject.startswith(STAFF_PREFIX):
            return None
        try:
            member = self.get(tenant, subject.removeprefix(STAFF_PREFIX))
        except UnknownStaff:
            return None
        return member if member.active else None

    def list(self, tenant: str) -> list[StaffMember]:
        check_tenant(tenant)
        with self.db.read() as conn:
            rows = conn.execute(
                select(_STAFF).where(_STAFF.c.tenant_id == tenant).order_by(_STAFF.c.login)
            ).all()
        members = []
        for row in rows:
            try:
                members.append(self._member(tenant, row))
            except UnknownStaff:
                continue  # a forged row is nobody
        return members

    def disable(self, tenant: str, staff_id: str, *, actor: str) -> StaffMember:
        """They sign in no more; their past acts stay in the trail under their id."""
        member = self.get(tenant, staff_id)
        if self.events is not None:
            self.events.security_event(tenant, "staff_disabled", {"staff": member.id}, actor=actor)
        fields = _Fields(
            id=member.id, login=member.login, role=member.role.value, status="disabled"
        )
        with self.db.begin() as conn:
            conn.execute(
                update(_STAFF)
                .where(_STAFF.c.tenant_id == tenant, _STAFF.c.id == member.id)
                .values(status="disabled", disabled_at=self.clock(), mac=self._mac(tenant, fields))
            )
        return self.get(tenant, staff_id)


@dataclass(frozen=True, slots=True)
class _Fields:
    """The sealed fields of a row about to be written."""

    id: str
    login: str
    role: str
    status: str
    tenant_id: str = ""
    name: str = ""
    created_at: dt.datetime | None = None
