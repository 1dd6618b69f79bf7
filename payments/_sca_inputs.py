"""What an SCA decision is made on, read from storage: the payer risk, the running totals
since the last authenticated payment (RTS Art. 16), the fraud rate (Art. 18), the amount in
euro."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from tessera.auth import Authenticator, Observation, RiskAction, RiskDecision
from tessera.storage import Database, table_of

from ._money import Money
from ._sca import ScaExemption, ScaHistory, fraud_rate
from ._states import PaymentState
from ._tables import PaymentIntentRow
from ._types import PaymentsSettings

__all__ = ["_ScaInputs"]

# What Art. 16's running totals count: remote payments made without SCA. Telephone orders and
# merchant-initiated payments are outside the RTS, so they neither count nor reset anything.
_COUNTED = [
    e.value
    for e in ScaExemption
    if e not in (ScaExemption.MAIL_OR_TELEPHONE_ORDER, ScaExemption.MERCHANT_INITIATED)
]


class _ScaInputs:
    """Part of `Payments`: what it needs of the rest is declared here, and `Payments` has it."""

    if TYPE_CHECKING:
        db: Database
        settings: PaymentsSettings
        authenticator: Authenticator | None
        clock: Callable[[], dt.datetime]

    def _risk(
        self, tenant: str, row: PaymentIntentRow, observation: Observation | None
    ) -> tuple[RiskDecision | None, str | None]:
        if observation is None or self.authenticator is None:
            return None, None
        assessed = self.authenticator.assess(
            tenant, row.subject_id, observation, action=RiskAction.PAY, scope="payment"
        )
        return assessed.decision, assessed.decision_id

    def _history(self, tenant: str, subject: str) -> ScaHistory:
        """Payments authorized without SCA since this payer's last authenticated one."""
        t = table_of(PaymentIntentRow).c
        done = [
            PaymentState.AUTHORIZED.value,
            PaymentState.CAPTURED.value,
            PaymentState.REFUNDED.value,
        ]
        with self.db.read() as conn:
            last_sca = conn.execute(
                select(func.max(t.created_at)).where(
                    t.tenant_id == tenant, t.subject_id == subject, t.authenticated.is_(True)
                )
            ).scalar()
            query = select(func.count(), func.coalesce(func.sum(t.amount_eur), 0)).where(
                t.tenant_id == tenant,
                t.subject_id == subject,
                t.state.in_(done),
                t.authenticated.is_(False),
                t.sca_exemption.in_(_COUNTED),
            )
            if last_sca is not None:
                query = query.where(t.created_at > last_sca)
            count, total = conn.execute(query).one()
        return ScaHistory(int(count), int(total))

    def _fraud_rate(self, tenant: str) -> Decimal | None:
        t = table_of(PaymentIntentRow).c
        since = self.clock() - self.settings.fraud_window
        with self.db.read() as conn:
            total, fraud = conn.execute(
                select(
                    func.coalesce(func.sum(t.amount_eur), 0),
                    func.coalesce(func.sum(t.amount_eur).filter(t.fraudulent.is_(True)), 0),
                ).where(
                    t.tenant_id == tenant,
                    t.created_at >= since,
                    t.state.in_([PaymentState.CAPTURED.value, PaymentState.REFUNDED.value]),
                )
            ).one()
        return fraud_rate(int(fraud), int(total))

    def _in_euro_cents(self, amount: Money) -> int | None:
        rate = self.settings.eur_rates.get(amount.currency)
        if rate is None:
            return None
        return int((amount.decimal() * rate * 100).to_integral_value(ROUND_HALF_UP))
