"""The window during which a caller says their voice PIN: like a card keypad's, whatever is
said or keyed then is masked in the transcript (`PhonePayments.windows` reads both)."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import Connection, insert, update

from tessera.storage import table_of

from ._tables import PaymentKeypadRow

__all__ = ["close_pin_windows", "open_pin_window"]

_T = table_of(PaymentKeypadRow)


def open_pin_window(
    conn: Connection, tenant: str, intent_id: str, now: dt.datetime, until: dt.datetime
) -> str:
    """Open the PIN window of a payment (closing any other it had open); nothing is sealed in
    it, since the PIN is checked by the authenticator and never kept here."""
    close_pin_windows(conn, tenant, intent_id, now)
    window_id = f"pin_{secrets.token_urlsafe(16)}"
    conn.execute(
        insert(_T).values(
            id=window_id,
            tenant_id=tenant,
            intent_id=intent_id,
            sealed=None,
            version=0,
            state="keying",
            created_at=now,
            updated_at=now,
            expires_at=until,
        )
    )
    return window_id


def close_pin_windows(conn: Connection, tenant: str, intent_id: str, now: dt.datetime) -> None:
    conn.execute(
        update(_T)
        .where(
            _T.c.tenant_id == tenant,
            _T.c.intent_id == intent_id,
            _T.c.state == "keying",
            _T.c.id.startswith("pin_"),
        )
        .values(state="ended", updated_at=now)
    )
