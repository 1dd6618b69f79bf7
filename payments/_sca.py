"""Does this payment need strong customer authentication? PSD2 RTS (EU 2018/389), as a pure
function of explicit inputs, so every boundary of every article is a row in a test table.

Amounts are euro cents: the RTS states its limits in euros, and the caller converts other
currencies at the edge (a payment with no known rate gets no value-based exemption).
Counters include the payment being decided: "since the last SCA, this one included, no more
than €100 / 5 payments" is the reading that never lets a sixth payment slip through.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from tessera.auth import RiskDecision

__all__ = [
    "LOW_VALUE_CUMULATIVE_EUR",
    "LOW_VALUE_MAX_COUNT",
    "LOW_VALUE_MAX_EUR",
    "TRA_BANDS",
    "LowValueLimit",
    "RecurringSeries",
    "ScaDecision",
    "ScaExemption",
    "ScaHistory",
    "ScaRequest",
    "decide_sca",
    "fraud_rate",
]

LOW_VALUE_MAX_EUR = 3_000  # Art. 16(a): €30
LOW_VALUE_CUMULATIVE_EUR = 10_000  # Art. 16(b): €100 since the last SCA
LOW_VALUE_MAX_COUNT = 5  # Art. 16(c): five payments since the last SCA
# Art. 18 and its annex, remote card payments: (reference fraud rate, exemption threshold value).
# The lowest fraud rate buys the highest threshold.
TRA_BANDS: tuple[tuple[Decimal, int], ...] = (
    (Decimal("0.0001"), 50_000),  # ≤ 0.01 % → up to €500
    (Decimal("0.0006"), 25_000),  # ≤ 0.06 % → up to €250
    (Decimal("0.0013"), 10_000),  # ≤ 0.13 % → up to €100
)


class ScaExemption(enum.StrEnum):
    TRUSTED_BENEFICIARY = "trusted_beneficiary"  # Art. 13
    RECURRING = "recurring"  # Art. 14
    LOW_VALUE = "low_value"  # Art. 16
    TRANSACTION_RISK_ANALYSIS = "transaction_risk_analysis"  # Art. 18
    MERCHANT_INITIATED = "merchant_initiated"  # out of scope of SCA, not an exemption of the RTS
    MAIL_OR_TELEPHONE_ORDER = "moto"  # card details given by phone: out of scope as well


class LowValueLimit(enum.StrEnum):
    """Art. 16 lets the payer's PSP choose which running limit it applies: (b) or (c)."""

    CUMULATIVE_AMOUNT = "cumulative_amount"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class ScaHistory:
    """The payer's remote payments made without SCA since their last SCA."""

    payments: int = 0
    amount_eur: int = 0  # cents


@dataclass(frozen=True, slots=True)
class RecurringSeries:
    """An earlier payment of the same series: Art. 14 exempts the following ones only."""

    amount: int  # minor units of `currency`
    currency: str
    payee: str
    authenticated: bool  # the series was set up (its first payment made) with SCA


@dataclass(frozen=True, slots=True)
class ScaRequest:
    amount: int  # minor units of `currency`
    currency: str
    payee: str
    amount_eur: int | None  # the same, in euro cents; None when no rate is known
    history: ScaHistory = ScaHistory()
    # The real-time risk analysis (tessera.auth, action `pay`); None: none was made.
    risk: RiskDecision | None = None
    fraud_rate: Decimal | None = None  # our remote card fraud rate, rolling 90 days (Art. 19)
    trusted_payee: bool = False  # on the payer's trusted list, itself made with SCA (Art. 13)
    series: RecurringSeries | None = None
    merchant_initiated: bool = False
    telephone_order: bool = False  # agent-assisted: the card keyed on a call (DTMF)
    # A card the payer kept on file, paid in one tap: the tap is a passkey, so it is always
    # strongly authenticated (and the passkey is what proves the payer is in the conversation).
    card_on_file: bool = False
    low_value_limit: LowValueLimit = LowValueLimit.CUMULATIVE_AMOUNT


@dataclass(frozen=True, slots=True)
class ScaDecision:
    required: bool
    exemption: ScaExemption | None
    article: str  # where the rule comes from, for the audit trail
    reason: str  # in words a DPO or an agent can read
    refused: bool = False  # the risk analysis refused the payment outright


def fraud_rate(fraudulent_eur: int, total_eur: int) -> Decimal | None:
    """Art. 19(1): value of fraudulent remote payments over the value of all of them (90 days).
    None with no payments at all: no basis to exempt anything on."""
    if total_eur <= 0 or fraudulent_eur < 0:
        return None
    return Decimal(fraudulent_eur) / Decimal(total_eur)


def _tra_threshold(rate: Decimal) -> int | None:
    for reference, threshold in TRA_BANDS:
        if rate <= reference:
            return threshold
    return None


def _euros(cents: int) -> str:
    return f"€{Decimal(cents).scaleb(-2)}"


def decide_sca(request: ScaRequest) -> ScaDecision:
    """The first rule that applies, in this order: the risk analysis can refuse or insist;
    a merchant-initiated or telephone payment is out of scope; a card on file is confirmed
    with a passkey; then Art. 13, 14, 18, 16; else SCA."""
    r = request
    if r.risk is RiskDecision.DENY:
        return ScaDecision(
            True, None, "RTS Art. 18(2)(c), 2(2)", "the risk analysis refused it", refused=True
        )
    if r.merchant_initiated:
        return ScaDecision(
            False,
            ScaExemption.MERCHANT_INITIATED,
            "PSD2 Art. 97(1)(b), recital 2 of the RTS",
            "initiated by the payee under a mandate: outside SCA",
        )
    if r.telephone_order:
        return ScaDecision(
            False,
            ScaExemption.MAIL_OR_TELEPHONE_ORDER,
            "EBA opinion EBA-Op-2018-04 on the RTS",
            "a card given on a telephone call is not an electronic remote payment: outside SCA",
        )
    if r.card_on_file:
        return ScaDecision(
            True,
            None,
            "RTS Art. 4, 5",
            "a card on file, confirmed in one tap with the payer's passkey (amount and payee)",
        )
    if r.risk is RiskDecision.STEP_UP:
        return ScaDecision(
            True, None, "RTS Art. 2(2)", "the risk analysis found it unusual: authenticate"
        )
    if r.trusted_payee:
        return ScaDecision(
            False,
            ScaExemption.TRUSTED_BENEFICIARY,
            "RTS Art. 13",
            "the payee is on the payer's list of trusted beneficiaries",
        )
    if r.series is not None:
        same = (r.series.amount, r.series.currency, r.series.payee) == (
            r.amount,
            r.currency,
            r.payee,
        )
        if same and r.series.authenticated:
            return ScaDecision(
                False,
                ScaExemption.RECURRING,
                "RTS Art. 14",
                "the same amount to the same payee as the series authenticated at its start",
            )
    if r.amount_eur is None:
        return ScaDecision(
            True, None, "PSD2 Art. 97(1)(b)", "no euro rate for this currency: no value exemption"
        )
    if r.risk is RiskDecision.ALLOW and r.fraud_rate is not None:
        threshold = _tra_threshold(r.fraud_rate)
        if threshold is not None and r.amount_eur <= threshold:
            return ScaDecision(
                False,
                ScaExemption.TRANSACTION_RISK_ANALYSIS,
                "RTS Art. 18",
                f"low risk, {_euros(r.amount_eur)} within the {_euros(threshold)} our fraud "
                f"rate ({r.fraud_rate:.4%}) allows",
            )
    if r.amount_eur <= LOW_VALUE_MAX_EUR:
        count = r.history.payments + 1
        total = r.history.amount_eur + r.amount_eur
        if r.low_value_limit is LowValueLimit.COUNT and count <= LOW_VALUE_MAX_COUNT:
            return ScaDecision(
                False,
                ScaExemption.LOW_VALUE,
                "RTS Art. 16(a), (c)",
                f"at most €30, payment {count} of {LOW_VALUE_MAX_COUNT} since the last SCA",
            )
        if (
            r.low_value_limit is LowValueLimit.CUMULATIVE_AMOUNT
            and total <= LOW_VALUE_CUMULATIVE_EUR
        ):
            return ScaDecision(
                False,
                ScaExemption.LOW_VALUE,
                "RTS Art. 16(a), (b)",
                f"at most €30, {_euros(total)} of €100 since the last SCA",
            )
        return ScaDecision(
            True, None, "RTS Art. 16(b), (c)", "the low-value allowance since the last SCA is used"
        )
    return ScaDecision(True, None, "PSD2 Art. 97(1)(b)", "no exemption applies")
