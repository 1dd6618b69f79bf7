"""Properties of the SCA decision (PSD2 RTS): a lower amount never needs more authentication
than a higher one, all else equal, and a refusal or a step-up from the risk analysis is never
waived by an exemption.

Monotone where the RTS is: Art. 14 exempts the same amount as the authenticated series, not a
lower one (a different amount is a different transaction), so series are left out of the first
property; each of the others (Art. 13, 16, 18, and the scope rules) only lowers its bar as the
amount falls.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.auth import RiskDecision
from tessera.payments import ScaHistory, ScaRequest, decide_sca
from tessera.payments._sca import LowValueLimit


@st.composite
def requests(draw: st.DrawFn, *, amount: int) -> ScaRequest:
    return ScaRequest(
        amount=amount,
        currency="EUR",
        payee="acme-shop",
        amount_eur=amount,
        history=ScaHistory(draw(st.integers(0, 8)), draw(st.integers(0, 20_000))),
        risk=draw(st.sampled_from([None, *RiskDecision])),
        fraud_rate=draw(st.none() | st.decimals(Decimal("0"), Decimal("0.01"), places=5)),
        trusted_payee=draw(st.booleans()),
        merchant_initiated=draw(st.booleans()),
        telephone_order=draw(st.booleans()),
        card_on_file=draw(st.booleans()),
        low_value_limit=draw(st.sampled_from(list(LowValueLimit))),
    )


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 100_000), st.integers(0, 100_000), st.data())
def test_a_lower_amount_never_needs_more_authentication(
    low: int, more: int, data: st.DataObject
) -> None:
    high = low + more
    asked = data.draw(requests(amount=high))
    lower = replace(asked, amount=low, amount_eur=low)
    if decide_sca(lower).required:
        assert decide_sca(asked).required, (lower, asked)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 100_000).flatmap(lambda amount: requests(amount=amount)))
def test_the_risk_analysis_is_never_waived(request: ScaRequest) -> None:
    decision = decide_sca(request)
    if request.risk is RiskDecision.DENY:
        assert decision.refused and decision.required
    if request.risk is RiskDecision.STEP_UP and not (
        request.merchant_initiated or request.telephone_order
    ):
        assert decision.required and decision.exemption is None
