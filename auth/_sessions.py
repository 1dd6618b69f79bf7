"""Sessions with an assurance level: opened by a decision or a step-up, idle limits per scope (RTS
Art. 4(3)(d))."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import Connection

from tessera import Assurance
from tessera.vault import check_tenant

from ._common import _session_info, _sha256
from ._errors import SessionExpired, UnknownSession
from ._rows import StoredSession
from ._state import _State
from ._types import IssuedSession, SessionInfo

__all__ = ["_Sessions"]


class _Sessions(_State):
    """Part of `Authenticator`, built on the parts below it (_State)."""

    # ------------------------------------------------------------------ sessions
    def _open_session(
        self,
        conn: Connection,
        tenant: str,
        subject: str,
        assurance: Assurance,
        scope: str,
        factors: tuple[str, ...],
        decision_id: str | None,
    ) -> IssuedSession:
        now = self.clock()
        bearer = "ses_" + secrets.token_urlsafe(24)
        expires = now + self.settings.session_max
        self.store.add_session(
            conn,
            StoredSession(
                id_sha256=_sha256(bearer),
                tenant_id=tenant,
                subject_id=subject,
                assurance=int(assurance),
                scope=scope,
                factors=",".join(factors),
                decision_id=decision_id,
                created_at=now,
                strong_at=now if assurance > Assurance.LOW else None,
                last_seen_at=now,
                expires_at=expires,
            ),
        )
        return IssuedSession(
            bearer, subject, assurance, scope, expires, int(self._idle(scope).total_seconds())
        )

    def _idle(self, scope: str) -> dt.timedelta:
        return self.settings.payment_idle if scope == "payment" else self.settings.session_idle

    def _live_session(self, conn: Connection, tenant: str, session_id: str) -> StoredSession:
        if not isinstance(session_id, str) or not session_id.startswith("ses_"):
            raise UnknownSession("no such session")
        row = self.store.session(conn, _sha256(session_id), tenant=tenant)
        if row is None:
            raise UnknownSession("no such session")
        now = self.clock()
        if row.ended_at is not None:
            raise SessionExpired("the session was ended")
        if row.expires_at <= now:
            raise SessionExpired("the session is past its maximum age")
        if now - row.last_seen_at > self._idle(row.scope):
            raise SessionExpired(
                f"the session ended after {int(self._idle(row.scope).total_seconds() // 60)} "
                "minutes without activity"
            )
        return row

    def session(self, tenant: str, session_id: str, *, touch: bool = True) -> SessionInfo:
        """The live session behind a bearer id; each use counts as activity."""
        check_tenant(tenant)
        with self.db.begin() as conn:
            row = self._live_session(conn, tenant, session_id)
            now = self.clock()
            if touch:
                self.store.touch_session(conn, row.id_sha256, now)
        return _session_info(row, last_seen=now if touch else None)

    def end_session(self, tenant: str, session_id: str) -> None:
        check_tenant(tenant)
        with self.db.begin() as conn:
            row = self._live_session(conn, tenant, session_id)
            self.store.end_session(conn, row.id_sha256, self.clock())
