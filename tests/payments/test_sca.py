"""The SCA decision, article by article, at each boundary: one cent either side."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tessera.auth import RiskDecision
from tessera.payments import (
    LowValueLimit,
    RecurringSeries,
    ScaExemption,
    ScaHistory,
    ScaRequest,
    decide_sca,
    fraud_rate,
)


def request(euro_cents: int, **changes: object) -> ScaRequest:
    values: dict[str, object] = {
        "amount": euro_cents,
        "currency": "EUR",
        "payee": "shop-1",
        "amount_eur": euro_cents,
    }
    values.update(changes)
    return ScaRequest(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "history", "limit", "exempt"),
    [
        (3_000, ScaHistory(), LowValueLimit.CUMULATIVE_AMOUNT, True),  # €30.00: in
        (3_001, ScaHistory(), LowValueLimit.CUMULATIVE_AMOUNT, False),  # €30.01: out
        (3_000, ScaHistory(3, 7_000), LowValueLimit.CUMULATIVE_AMOUNT, True),  # €100 exactly
        (3_000, ScaHistory(3, 7_001), LowValueLimit.CUMULATIVE_AMOUNT, False),  # €100.01
        (100, ScaHistory(20, 9_900), LowValueLimit.CUMULATIVE_AMOUNT, True),  # count not used
        (100, ScaHistory(4, 400), LowValueLimit.COUNT, True),  # the fifth payment
        (100, ScaHistory(5, 500), LowValueLimit.COUNT, False),  # the sixth
        (3_000, ScaHistory(4, 50_000), LowValueLimit.COUNT, True),  # amount not used
        (3_001, ScaHistory(), LowValueLimit.COUNT, False),
    ],
)
def test_low_value_art_16(amount: int, history: ScaHistory, limit: LowValueLimit, exempt: bool):
    decision = decide_sca(request(amount, history=history, low_value_limit=limit))
    assert decision.required is not exempt
    assert decision.exemption is (ScaExemption.LOW_VALUE if exempt else None)
    assert "Art. 16" in decision.article or "97" in decision.article


@pytest.mark.parametrize(
    ("amount", "rate", "exempt"),
    [
        (10_000, "0.0013", True),  # €100 at 0.13 %
        (10_001, "0.0013", False),
        (10_000, "0.00131", False),  # the rate just above the reference: no TRA at all
        (25_000, "0.0006", True),
        (25_001, "0.0006", False),
        (25_000, "0.0007", False),  # 0.07 % only buys €100
        (50_000, "0.0001", True),
        (50_001, "0.0001", False),
        (50_000, "0", True),
    ],
)
def test_transaction_risk_analysis_art_18(amount: int, rate: str, exempt: bool) -> None:
    low_value_used = ScaHistory(5, 10_000)  # so that Art. 16 can't be what exempts
    decision = decide_sca(
        request(amount, risk=RiskDecision.ALLOW, fraud_rate=Decimal(rate), history=low_value_used)
    )
    assert decision.required is not exempt
    assert decision.exemption is (ScaExemption.TRANSACTION_RISK_ANALYSIS if exempt else None)
    if exempt:
        assert decision.article == "RTS Art. 18" and "low risk" in decision.reason


def test_tra_needs_a_risk_analysis_and_a_known_fraud_rate() -> None:
    used = ScaHistory(5, 10_000)
    assert decide_sca(request(5_000, fraud_rate=Decimal("0.0001"), history=used)).required
    assert decide_sca(request(5_000, risk=RiskDecision.ALLOW, history=used)).required
    assert fraud_rate(13, 10_000) == Decimal("0.0013")
    assert fraud_rate(0, 0) is None and fraud_rate(-1, 10) is None


def test_trusted_beneficiary_art_13_and_recurring_art_14() -> None:
    big = 200_000  # €2,000: no value-based exemption would apply
    assert decide_sca(request(big)).required
    trusted = decide_sca(request(big, trusted_payee=True))
    assert not trusted.required and trusted.exemption is ScaExemption.TRUSTED_BENEFICIARY
    series = RecurringSeries(big, "EUR", "shop-1", authenticated=True)
    again = decide_sca(request(big, series=series))
    assert not again.required and again.exemption is ScaExemption.RECURRING
    assert again.article == "RTS Art. 14"
    # A different amount, another payee, or a series never authenticated: SCA.
    assert decide_sca(request(big + 1, series=series)).required
    assert decide_sca(request(big, series=series, payee="shop-2")).required
    assert decide_sca(request(big, series=series, currency="GBP")).required
    unauthenticated = RecurringSeries(big, "EUR", "shop-1", authenticated=False)
    assert decide_sca(request(big, series=unauthenticated)).required


def test_the_risk_analysis_can_insist_or_refuse_whatever_the_exemption() -> None:
    insisted = decide_sca(request(500, risk=RiskDecision.STEP_UP, trusted_payee=True))
    assert insisted.required and insisted.exemption is None and not insisted.refused
    refused = decide_sca(request(500, risk=RiskDecision.DENY))
    assert refused.refused and refused.required


def test_merchant_initiated_and_telephone_orders_are_out_of_scope() -> None:
    decision = decide_sca(request(90_000, merchant_initiated=True))
    assert not decision.required and decision.exemption is ScaExemption.MERCHANT_INITIATED
    by_phone = decide_sca(request(90_000, telephone_order=True))
    assert not by_phone.required and by_phone.exemption is ScaExemption.MAIL_OR_TELEPHONE_ORDER
    # Out of scope does not mean unchecked: the risk analysis can still refuse.
    assert decide_sca(request(90_000, telephone_order=True, risk=RiskDecision.DENY)).refused


def test_no_euro_rate_means_no_value_exemption() -> None:
    decision = decide_sca(request(100, currency="USD", amount_eur=None))
    assert decision.required and "no euro rate" in decision.reason


def test_a_card_on_file_is_always_confirmed_with_the_passkey_unless_refused() -> None:
    tiny = decide_sca(request(100, card_on_file=True, trusted_payee=True))
    assert tiny.required and tiny.exemption is None and "Art. 4" in tiny.article
    refused = decide_sca(request(100, card_on_file=True, risk=RiskDecision.DENY))
    assert refused.refused
