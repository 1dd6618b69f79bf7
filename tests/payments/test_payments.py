"""Payments against the simulated processor running as its own HTTP server: exemptions,
declines, failures, timeouts with retries that never charge twice, captures and refunds."""

from __future__ import annotations

import time

import httpx2 as httpx
import pytest
from sqlalchemy import select

from tessera.payments import (
    IdempotencyConflict,
    IllegalTransition,
    InvalidAmount,
    InvalidCard,
    Money,
    PaymentDeclined,
    PaymentExpired,
    PaymentState,
    ProcessorUnavailable,
    RefundTooLarge,
    ScaExemption,
    UnknownCurrency,
    UnknownPayment,
)
from tessera.payments.simulator import DECLINED, FAILING, INSUFFICIENT, SLOW
from tessera.vault import InvalidValue
from tests.payments.conftest import card, euros

PAN = "4242424242424242"


def charges(url: str, last4: str = "4242") -> list[dict]:
    return [c for c in httpx.get(f"{url}/v1/charges").json() if c["last4"] == last4]


def intent(payments, tenant: str, amount: str = "12.50", key: str | None = None, **kw):
    return payments.create_intent(
        tenant,
        kw.pop("subject", "cust-1"),
        euros(amount),
        payee=kw.pop("payee", "Boutique Lumière"),
        reference="order 1042",
        idempotency_key=key or f"k-{time.monotonic_ns()}",
        **kw,
    )


def test_a_low_value_payment_is_exempt_captured_and_refunded_in_parts(
    payments, tenant: str, ledger, processor_url: str, shared_stores
) -> None:
    created = intent(payments, tenant)
    assert created.state is PaymentState.CREATED and created.card is None
    paid = payments.pay_with_card(tenant, created.id, card())
    assert paid.state is PaymentState.AUTHORIZED
    assert paid.sca is not None and not paid.sca.required
    assert paid.sca.exemption is ScaExemption.LOW_VALUE and "Art. 16" in paid.sca.article
    assert paid.card is not None and paid.card.startswith("visa") and paid.card.endswith("4242")
    assert PAN not in paid.card

    captured = payments.capture(tenant, paid.id)
    assert captured.state is PaymentState.CAPTURED and captured.captured == 1250
    part = payments.refund(tenant, paid.id, euros("5.00"), idempotency_key="r1")
    assert part.amount == euros("5.00") and part.state == "succeeded"
    assert payments.refund(tenant, paid.id, euros("5.00"), idempotency_key="r1").id == part.id
    assert payments.get(tenant, paid.id).refunded == 500  # the replayed refund did nothing
    with pytest.raises(RefundTooLarge, match=r"7\.50 EUR"):
        payments.refund(tenant, paid.id, euros("7.51"), idempotency_key="r2")
    rest = payments.refund(tenant, paid.id, idempotency_key="r3")
    assert rest.amount == euros("7.50")
    done = payments.get(tenant, paid.id)
    assert done.state is PaymentState.REFUNDED and done.refunded == 1250
    with pytest.raises(IllegalTransition):
        payments.refund(tenant, paid.id, euros("0.01"), idempotency_key="r4")

    charge = [c for c in charges(processor_url) if c["key"] == f"{paid.id}:authorize"]
    assert len(charge) == 1 and charge[0]["captured"] == 1250 and charge[0]["refunded"] == 1250
    assert ledger.kinds(paid.id) == [
        "created", "sca_decided", "authorized", "captured", "refunded", "refunded",
    ]  # fmt: skip
    decided = next(e for e in ledger.events if e["event"] == "sca_decided")
    assert decided["exemption"] == "low_value" and decided["reason"]
    # Nowhere in the payment's row, nor in what was answered for, is the card number.
    from tessera.payments._tables import PaymentIntentRow

    with shared_stores.data.read() as conn:
        row = conn.execute(select(PaymentIntentRow.__table__).where(
            PaymentIntentRow.id == paid.id)).one()  # fmt: skip
    assert PAN not in repr(row) and PAN not in repr(ledger.events)
    assert row.card_token.startswith("424242") and row.pending_sad is None


def test_the_low_value_allowance_runs_out_after_100_euros(payments, tenant: str) -> None:
    for _ in range(4):
        paid = payments.pay_with_card(tenant, intent(payments, tenant, "25.00").id, card())
        assert paid.sca.exemption is ScaExemption.LOW_VALUE
    fifth = payments.pay_with_card(tenant, intent(payments, tenant, "25.00").id, card())
    assert fifth.state is PaymentState.AUTHENTICATING and fifth.sca.required
    # Another customer has an allowance of their own.
    other = intent(payments, tenant, "25.00", subject="cust-2")
    assert payments.pay_with_card(tenant, other.id, card()).state is PaymentState.AUTHORIZED


def test_sca_holds_the_security_code_sealed_until_it_expires(
    payments, tenant: str, clock, shared_stores, ledger
) -> None:
    from tessera.payments._tables import PaymentIntentRow

    big = payments.pay_with_card(tenant, intent(payments, tenant, "150.00").id, card(cvc="737"))
    assert big.state is PaymentState.AUTHENTICATING
    assert big.sca.required and big.sca.exemption is None

    def pending() -> bytes | None:
        with shared_stores.data.read() as conn:
            return conn.execute(
                select(PaymentIntentRow.pending_sad).where(PaymentIntentRow.id == big.id)
            ).scalar()

    sealed = pending()
    # Sealed: "dek id.ciphertext" (the id is random hex, and may hold "737" by chance).
    assert sealed is not None and b"737" not in sealed.split(b".", 1)[1]
    clock.advance(minutes=16)
    assert payments.expire_due() >= 1
    assert payments.get(tenant, big.id).state is PaymentState.EXPIRED and pending() is None
    assert ledger.kinds(big.id)[-1] == "expired"  # the conversation hears that it ended
    assert payments.expire_due() == 0  # once
    with pytest.raises(PaymentExpired):
        payments.pay_with_card(tenant, big.id, card())
    assert ledger.kinds(big.id).count("expired") == 1


def test_a_payment_found_overdue_is_expired_and_recorded_once(
    payments, tenant: str, clock, ledger
) -> None:
    waiting = intent(payments, tenant, "12.00")
    clock.advance(minutes=16)
    for _ in range(2):
        with pytest.raises(PaymentExpired):
            payments.pay_with_card(tenant, waiting.id, card())
    assert payments.get(tenant, waiting.id).state is PaymentState.EXPIRED
    assert ledger.kinds(waiting.id).count("expired") == 1


def test_declines_fail_the_payment_and_charge_nothing(
    payments, tenant: str, ledger, processor_url: str
) -> None:
    for pan, code in [(DECLINED, "card_declined"), (INSUFFICIENT, "insufficient_funds")]:
        created = intent(payments, tenant)
        with pytest.raises(PaymentDeclined) as caught:
            payments.pay_with_card(tenant, created.id, card(pan))
        assert caught.value.code == code
        failed = payments.get(tenant, created.id)
        assert failed.state is PaymentState.FAILED and failed.failure_code == code
        assert ledger.kinds(created.id)[-1] == "declined"
        with pytest.raises(IllegalTransition):
            payments.pay_with_card(tenant, created.id, card())
    assert charges(processor_url, "0002") == [] and charges(processor_url, "9995") == []


def test_a_failing_processor_changes_nothing_and_the_payment_can_be_retried(
    payments, tenant: str
) -> None:
    created = intent(payments, tenant)
    with pytest.raises(ProcessorUnavailable):
        payments.pay_with_card(tenant, created.id, card(FAILING))
    assert payments.get(tenant, created.id).state is PaymentState.CREATED
    assert payments.pay_with_card(tenant, created.id, card()).state is PaymentState.AUTHORIZED


def test_a_timeout_then_a_retry_charges_once(payments, tenant: str, processor_url: str) -> None:
    created = intent(payments, tenant)
    with pytest.raises(ProcessorUnavailable, match="did not answer"):
        payments.pay_with_card(tenant, created.id, card(SLOW))
    # The processor did make the charge; the retry gets that answer back, not a second charge.
    retried = payments.pay_with_card(tenant, created.id, card(SLOW))
    assert retried.state is PaymentState.AUTHORIZED
    made = [c for c in charges(processor_url, "0259") if c["key"] == f"{created.id}:authorize"]
    assert len(made) == 1


def test_idempotency_keys_return_the_first_intent_or_refuse_another_request(
    payments, tenant: str, other_tenant: str
) -> None:
    first = intent(payments, tenant, key="order-1042")
    assert intent(payments, tenant, key="order-1042").id == first.id
    with pytest.raises(IdempotencyConflict):
        intent(payments, tenant, "12.51", key="order-1042")
    # Keys are per tenant: another tenant's same key is another payment.
    assert intent(payments, other_tenant, key="order-1042").id != first.id


def test_bad_input_is_refused_and_loses_nothing(payments, tenant: str, other_tenant: str):
    created = intent(payments, tenant)
    for bad in [
        lambda: card("4242 4242 4242 4241"),  # Luhn
        lambda: card("4242"),
        lambda: card("4242 4242 4242 4242 4242 4242 4242 4242 4242"),
        lambda: card(expiry="01/20"),  # expired
        lambda: card(expiry="13/30"),
        lambda: card(expiry="1230"),
        lambda: card(cvc="12"),
        lambda: card(cvc="12345"),
    ]:
        with pytest.raises(InvalidCard):
            bad()
    with pytest.raises(UnknownPayment):
        payments.get(other_tenant, created.id)
    with pytest.raises(UnknownPayment):
        payments.pay_with_card(other_tenant, created.id, card())
    with pytest.raises(UnknownPayment):
        payments.get(tenant, "pay_" + "x" * 60)
    with pytest.raises(IllegalTransition):
        payments.capture(tenant, created.id)  # nothing authorized yet
    with pytest.raises(InvalidAmount):
        euros("0.001")
    with pytest.raises(UnknownCurrency):
        Money(100, "EUX")
    for changes in [{"payee": ""}, {"payee": "x" * 200}, {"channel": "carrier-pigeon"}]:
        with pytest.raises(InvalidValue):
            intent(payments, tenant, **changes)
    paid = payments.pay_with_card(tenant, created.id, card())
    with pytest.raises(InvalidValue):
        payments.capture(tenant, paid.id, euros("12.51"))
    with pytest.raises(InvalidValue):
        payments.capture(tenant, paid.id, Money(1250, "GBP"))
    assert payments.get(tenant, paid.id).state is PaymentState.AUTHORIZED  # nothing lost


def test_reconcile_takes_the_processors_capture_whose_answer_was_lost(
    payments, tenant: str, ledger, processor_url: str
) -> None:
    """A capture the processor made while Tessera died before storing it: `authorized` here,
    captured there. Reconciling makes it `captured` for what the processor took, recorded,
    once; a payment the processor did not capture stays as it is."""
    from tessera.payments import HttpProcessor

    lost = payments.pay_with_card(tenant, intent(payments, tenant).id, card())
    untouched = payments.pay_with_card(tenant, intent(payments, tenant, "9.00").id, card())
    made = [c for c in charges(processor_url) if c["key"] == f"{lost.id}:authorize"]
    processor = HttpProcessor(processor_url)  # the capture, as the dead process sent it
    answer = processor.capture(made[0]["id"], euros("12.50"), key=f"{lost.id}:capture:1250")
    processor.close()
    assert answer.approved and payments.get(tenant, lost.id).state is PaymentState.AUTHORIZED

    assert payments.reconcile() >= 1
    now = payments.get(tenant, lost.id)
    assert now.state is PaymentState.CAPTURED and now.captured == 1250
    assert ledger.kinds(lost.id)[-1] == "captured"
    assert [e for e in ledger.events if e["payment"] == lost.id][-1]["reconciled"] is True
    assert payments.get(tenant, untouched.id).state is PaymentState.AUTHORIZED
    before = ledger.kinds(lost.id)
    payments.reconcile()
    assert ledger.kinds(lost.id) == before  # once
    with pytest.raises(IllegalTransition):
        payments.capture(tenant, lost.id)  # the caller's late retry changes nothing
    charge = [c for c in charges(processor_url) if c["key"] == f"{lost.id}:authorize"]
    assert charge[0]["captured"] == 1250


def test_reconcile_never_adopts_a_capture_larger_than_the_payment(
    payments, tenant: str, processor_url: str, shared_stores
) -> None:
    """A database writer re-points a small payment at a larger captured charge: reconciling
    leaves it `authorized` rather than recording a capture it never authorized."""
    from sqlalchemy import update

    from tessera.payments import HttpProcessor
    from tessera.payments._tables import PaymentIntentRow
    from tessera.storage import table_of

    big = payments.pay_with_card(tenant, intent(payments, tenant).id, card())
    small = payments.pay_with_card(tenant, intent(payments, tenant, "9.00").id, card())
    made = [c for c in charges(processor_url) if c["key"] == f"{big.id}:authorize"]
    processor = HttpProcessor(processor_url)
    assert processor.capture(made[0]["id"], euros("12.50"), key=f"{big.id}:capture:1250").approved
    processor.close()
    t = table_of(PaymentIntentRow)
    with shared_stores.data.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == small.id).values(processor_ref=made[0]["id"]))
    payments.reconcile()
    assert payments.get(tenant, small.id).state is PaymentState.AUTHORIZED
    assert payments.get(tenant, big.id).state is PaymentState.CAPTURED
