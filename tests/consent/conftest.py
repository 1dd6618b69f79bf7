from __future__ import annotations

from pathlib import Path

import pytest

from tessera.consent import (
    Catalogue,
    ConsentLedger,
    DataSubjectRights,
    Receipts,
    load_catalogue_file,
)
from tessera.vault import Vault
from tests.conftest import Clock, Stores

EXAMPLE = Path(__file__).resolve().parents[2] / "trust" / "cli" / "examples" / "purposes.toml"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def catalogue(shared_stores: Stores, clock: Clock, tenant: str) -> Catalogue:
    catalogue = Catalogue(shared_stores.data, clock=clock, cache_seconds=0)
    catalogue.load(tenant, load_catalogue_file(EXAMPLE))
    return catalogue


@pytest.fixture
def ledger(shared_stores: Stores, catalogue: Catalogue, clock: Clock) -> ConsentLedger:
    return ConsentLedger(shared_stores.data, catalogue, clock=clock)


@pytest.fixture
def receipts(vault: Vault, catalogue: Catalogue) -> Receipts:
    return Receipts(vault, catalogue)


@pytest.fixture
def dsr(
    shared_stores: Stores, vault: Vault, ledger: ConsentLedger, receipts: Receipts, clock: Clock
) -> DataSubjectRights:
    return DataSubjectRights(
        shared_stores.data, vault=vault, ledger=ledger, receipts=receipts, clock=clock
    )
