from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tessera.consent import (
    Catalogue,
    ConsentLedger,
    DataSubjectRights,
    DsrRequest,
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
def ledger(
    shared_stores: Stores, catalogue: Catalogue, vault: Vault, clock: Clock
) -> ConsentLedger:
    return ConsentLedger(shared_stores.data, catalogue, vault=vault, clock=clock)


@pytest.fixture
def receipts(vault: Vault, catalogue: Catalogue) -> Receipts:
    return Receipts(vault, catalogue)


@pytest.fixture
def dsr(
    shared_stores: Stores, vault: Vault, ledger: ConsentLedger, receipts: Receipts, clock: Clock
) -> DataSubjectRights:
    return DataSubjectRights(shared_stores.data, ledger=ledger, receipts=receipts, clock=clock)


class VaultData:
    """`SubjectData` straight on the vault, to test the request state machine alone; the service
    wires the gateway instead (tests/trust/gateway/test_requests.py)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def release(self, request: DsrRequest) -> list[dict[str, str]]:
        tokens = [t.token for t in self.vault.subject_tokens(request.tenant, request.subject)]
        values = self.vault.detokenize_batch(request.tenant, tokens) if tokens else []
        return [{"token": v.token, "category": v.category.value, "value": v.value} for v in values]

    def erase(self, request: DsrRequest) -> dict[str, Any]:
        erasure = self.vault.erase_subject(request.tenant, request.subject)
        return {"items_destroyed": erasure.items_destroyed}

    def rectify(self, request: DsrRequest, token: str, value: str) -> dict[str, Any]:
        record = self.vault.rectify(request.tenant, token, value, subject=request.subject)
        return {"rectified": record.token}


@pytest.fixture
def data(vault: Vault) -> VaultData:
    return VaultData(vault)
