"""Payment links: signed, single-use, short-lived, replaced by a newer one, and the page's step
key for what follows the card."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tessera.payments import (
    IllegalTransition,
    InvalidLink,
    LinkExpired,
    LinkUsed,
    PaymentDeclined,
    PaymentExpired,
    PaymentState,
    ProcessorUnavailable,
)
from tessera.payments._links import read_link, sign_link
from tessera.payments._tables import PaymentIntentRow
from tessera.payments.simulator import DECLINED, SLOW
from tests.payments.conftest import card
from tests.payments.test_payments import charges, intent


def test_a_link_pays_once_and_says_so_on_reuse(payments, tenant: str, ledger) -> None:
    created = intent(payments, tenant, "12.50")
    link = payments.issue_link(tenant, created.id)
    assert link.token.startswith(created.id + ".") and tenant not in link.token
    opened = payments.open_link(link.token)
    assert opened.tenant == tenant and opened.intent.state is PaymentState.AWAITING_CUSTOMER
    paid, step = payments.pay_by_link(link.token, card())
    assert paid.intent.state is PaymentState.AUTHORIZED and len(step) >= 32
    with pytest.raises(LinkUsed):
        payments.open_link(link.token)
    with pytest.raises(LinkUsed):
        payments.pay_by_link(link.token, card())
    assert payments.get(tenant, created.id).state is PaymentState.AUTHORIZED
    assert ledger.kinds(created.id)[:2] == ["created", "link_issued"]


def test_a_link_expires_after_its_ttl_and_never_outlives_its_payment(
    payments, tenant: str, clock
) -> None:
    created = intent(payments, tenant)
    link = payments.issue_link(tenant, created.id)
    assert link.expires_at <= created.expires_at
    assert link.expires_at - clock() <= payments.settings.link_ttl
    clock.advance(minutes=14, seconds=59)
    payments.open_link(link.token)
    clock.advance(seconds=1)
    with pytest.raises(LinkExpired):
        payments.open_link(link.token)
    with pytest.raises(LinkExpired):
        payments.pay_by_link(link.token, card())


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],  # the MAC
        lambda t: t.replace(".", ".9", 1)[: len(t)],  # the expiry
        lambda t: "pay_" + "x" * 22 + t[t.index(".") :],  # another payment
        lambda t: t + "=",
        lambda t: "",
        lambda t: "../" + t,
        lambda t: t * 3,
    ],
)
def test_a_forged_or_malformed_link_is_invalid(payments, tenant: str, mangle) -> None:
    created = intent(payments, tenant)
    link = payments.issue_link(tenant, created.id)
    with pytest.raises(InvalidLink):
        payments.open_link(mangle(link.token))
    assert payments.open_link(link.token).intent.id == created.id  # nothing was spent


def test_only_the_canonical_spelling_of_the_mac_reads() -> None:
    """A 32-byte MAC leaves two spare bits in its last base64 character: the three other
    characters that decode to the same bytes must not make the same link valid."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    secret = b"s" * 32
    for nonce in (f"nonce-{i:010d}" for i in range(40)):
        link = sign_link(secret, "t", "pay_" + "a" * 22, now + dt.timedelta(hours=1), nonce)
        assert read_link(secret, "t", link.token, now=now).nonce == nonce
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(link.token[-1])
        for alias in range(last & ~3, (last & ~3) + 4):
            if alias == last:
                continue
            with pytest.raises(InvalidLink):
                read_link(secret, "t", link.token[:-1] + alphabet[alias], now=now)


def test_a_link_signed_for_another_tenant_does_not_open(payments, tenant: str, vault) -> None:
    created = intent(payments, tenant)
    payments.issue_link(tenant, created.id)
    secret = vault.tenant_secret("other-tenant", "payment-links")
    forged = sign_link(secret, "other-tenant", created.id, created.expires_at, "n" * 16)
    with pytest.raises(InvalidLink):
        payments.open_link(forged.token)


def test_a_newer_link_replaces_the_older_one(payments, tenant: str) -> None:
    created = intent(payments, tenant)
    first = payments.issue_link(tenant, created.id)
    second = payments.issue_link(tenant, created.id)
    with pytest.raises(InvalidLink, match="newer"):
        payments.open_link(first.token)
    assert payments.pay_by_link(second.token, card())[0].intent.state is PaymentState.AUTHORIZED
    with pytest.raises(IllegalTransition):
        payments.issue_link(tenant, created.id)  # paid: no more links


def test_read_link_checks_the_mac_before_the_expiry() -> None:
    secret = b"s" * 32
    now = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
    link = sign_link(secret, "t1", "pay_" + "a" * 22, now + dt.timedelta(minutes=1), "n" * 16)
    assert read_link(secret, "t1", link.token, now=now).payment_id == "pay_" + "a" * 22
    with pytest.raises(LinkExpired):
        read_link(secret, "t1", link.token, now=now + dt.timedelta(minutes=1))
    with pytest.raises(InvalidLink):
        read_link(b"x" * 32, "t1", link.token, now=now + dt.timedelta(minutes=5))
    with pytest.raises(InvalidLink):
        read_link(secret, "t2", link.token, now=now)


def test_the_step_key_opens_the_authentication_and_nothing_else(
    payments, tenant: str, shared_stores
) -> None:
    created = intent(payments, tenant, "450.00")
    link = payments.issue_link(tenant, created.id)
    with pytest.raises(InvalidLink, match="not been used"):
        payments.link_session(link.token, "anything")
    paid, step = payments.pay_by_link(link.token, card())
    assert paid.intent.state is PaymentState.AUTHENTICATING
    assert payments.link_session(link.token, step).intent.id == created.id
    for wrong in ("", step[:-1], step + "x", None):
        with pytest.raises(InvalidLink):
            payments.link_session(link.token, wrong)  # type: ignore[arg-type]
    with shared_stores.data.read() as conn:
        row = conn.execute(
            select(PaymentIntentRow.__table__).where(PaymentIntentRow.id == created.id)
        ).one()
    assert step not in str(tuple(row)) and row.link_step is not None


def test_a_declined_card_spends_the_link(payments, tenant: str) -> None:
    created = intent(payments, tenant)
    link = payments.issue_link(tenant, created.id)
    with pytest.raises(PaymentDeclined):
        payments.pay_by_link(link.token, card(DECLINED))
    with pytest.raises(LinkUsed):
        payments.open_link(link.token)
    assert payments.get(tenant, created.id).state is PaymentState.FAILED


@pytest.mark.slow
def test_a_processor_timeout_gives_the_link_back_and_the_retry_charges_once(
    payments, tenant: str, processor_url: str
) -> None:
    created = intent(payments, tenant, "9.99")
    link = payments.issue_link(tenant, created.id)
    with pytest.raises(ProcessorUnavailable):
        payments.pay_by_link(link.token, card(SLOW))
    paid, _ = payments.pay_by_link(link.token, card(SLOW))
    assert paid.intent.state is PaymentState.AUTHORIZED
    mine = [c for c in charges(processor_url, SLOW[-4:]) if c["key"].startswith(created.id)]
    assert len(mine) == 1


def test_an_expired_payment_refuses_a_new_link(payments, tenant: str, clock) -> None:
    created = intent(payments, tenant)
    clock.advance(minutes=16)
    with pytest.raises(PaymentExpired):
        payments.issue_link(tenant, created.id)
