from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tessera.auth import Authenticator, AuthSettings, Outbox
from tessera.consent import Catalogue, ConsentLedger, load_catalogue_file
from tessera.payments import CardDetails, HttpProcessor, Money, Payments
from tessera.vault import Vault
from tests.conftest import SLOW_SECONDS, Clock, Stores
from tests.consent.conftest import EXAMPLE

VISA = "4242 4242 4242 4242"


class Ledger:
    """What the payments package answered for: the recorder a composition root wires in."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def payment_recorded(self, tenant: str, subject: str, facts: dict[str, Any]) -> None:
        self.events.append({"tenant": tenant, "subject": subject, **facts})

    def kinds(self, payment: str) -> list[str]:
        return [e["event"] for e in self.events if e["payment"] == payment]

    def facts(self, payment: str, event: str) -> dict[str, Any]:
        """The last record of `event` for the payment."""
        return [e for e in self.events if e["payment"] == payment and e["event"] == event][-1]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def authenticator(shared_stores: Stores, vault: Vault, clock: Clock) -> Authenticator:
    from tests.auth.conftest import ORIGIN, RP_ID

    return Authenticator(
        db=shared_stores.data,
        vault=vault,
        notifier=Outbox(),
        settings=AuthSettings(rp_id=RP_ID, origins=(ORIGIN,)),
        clock=clock,
    )


@pytest.fixture
def consents(shared_stores: Stores, vault: Vault, clock: Clock, tenant: str) -> ConsentLedger:
    """The consent ledger, with the example catalogue (it has the `card_on_file` purpose)."""
    catalogue = Catalogue(shared_stores.data, clock=clock, cache_seconds=0)
    catalogue.load(tenant, load_catalogue_file(EXAMPLE))
    return ConsentLedger(shared_stores.data, catalogue, vault=vault, clock=clock)


@pytest.fixture
def payments(
    shared_stores: Stores,
    vault: Vault,
    processor_url: str,
    ledger: Ledger,
    clock: Clock,
    authenticator: Authenticator,
    consents: ConsentLedger,
) -> Iterator[Payments]:
    processor = HttpProcessor(processor_url, timeout=SLOW_SECONDS / 3)
    payments = Payments(
        db=shared_stores.data,
        vault=vault,
        processor=processor,
        authenticator=authenticator,
        recorder=ledger,
        consents=consents,
        clock=clock,
    )
    consents.observer = payments.cards  # as trust wires it: a withdrawal removes the cards
    yield payments
    processor.close()


def card(pan: str = VISA, expiry: str = "12/34", cvc: str | None = "123") -> CardDetails:
    return CardDetails.keyed(pan, expiry, cvc, today=Clock()().date())


def euros(text: str) -> Money:
    return Money.parse(text, "EUR")
