from __future__ import annotations

import base64
import json

import pytest

from tessera.consent import (
    RECEIPT_TYPE,
    ConsentLedger,
    ConsentRequest,
    InvalidReceipt,
    Receipts,
    verify_receipt,
)

S = "cust-1"


@pytest.fixture
def event(ledger: ConsentLedger, tenant: str):
    return ledger.record(
        tenant, ConsentRequest(S, "marketing_sms", "given", "voice_ivr", {"recording_ref": "rec-1"})
    )


def test_a_receipt_verifies_offline_with_the_public_key(
    receipts: Receipts, event, tenant: str
) -> None:
    receipt = receipts.issue(tenant, event)
    record = verify_receipt(receipt, receipts.public_jwk(tenant))
    # Kantara Consent Receipt v1.1 fields, and ISO/IEC 27560's lawful basis.
    for name in (
        "version",
        "jurisdiction",
        "consentTimestamp",
        "collectionMethod",
        "consentReceiptID",
        "piiPrincipalId",
        "piiControllers",
        "policyUrl",
        "services",
        "sensitive",
        "spiCat",
        "lawfulBasis",
    ):
        assert name in record
    assert record["collectionMethod"] == "voice_ivr"
    assert record["piiPrincipalId"] == S
    assert record["piiControllers"][0]["piiController"] == "Demo Bank SA"
    assert record["services"][0]["service"] == "marketing_sms"
    assert record["event"]["noticeVersion"] == 1
    assert record["ledger"] == {
        "tenant": tenant,
        "seq": event.seq,
        "hash": event.hash,
        "prevHash": event.prev_hash,
    }


def test_a_receipt_carries_the_iso_27560_record_structure(
    receipts: Receipts, event, tenant: str
) -> None:
    record = verify_receipt(receipts.issue(tenant, event), receipts.public_jwk(tenant))["record"]
    assert set(record) == {"header", "processing", "parties", "events"}
    assert record["header"] == {
        "schemaVersion": "ISO/IEC TS 27560:2023",
        "recordId": event.id,
        "piiPrincipalId": S,
    }
    processing = record["processing"]
    assert processing["purposes"][0]["id"] == "marketing_sms"
    assert processing["purposes"][0]["lawfulBasis"] == "consent"
    assert processing["collectionMethod"] == "voice_ivr" and processing["retention"].endswith(
        "days"
    )
    assert processing["privacyNotice"]["version"] == 1
    assert [p["type"] for p in record["parties"]] == ["controller", "pii_principal"]
    (happened,) = record["events"]
    assert happened["eventType"] == "given" and happened["state"] == "active"
    assert happened["evidence"] == {"recording_ref": "rec-1"} and happened["entity"] == S


def test_receipts_are_reissued_identically(receipts: Receipts, event, tenant: str) -> None:
    assert receipts.issue(tenant, event) == receipts.issue(tenant, event)


def test_the_public_key_is_a_jwk_with_a_thumbprint_kid(
    receipts: Receipts, tenant: str, other_tenant: str
) -> None:
    jwk = receipts.public_jwk(tenant)
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "Ed25519")
    assert "d" not in jwk
    assert receipts.public_jwk(other_tenant)["x"] != jwk["x"]


def _tamper(receipt: str) -> str:
    header, payload, signature = receipt.split(".")
    record = json.loads(base64.urlsafe_b64decode(payload + "=="))
    record["collectionMethod"] = "web"
    forged = base64.urlsafe_b64encode(json.dumps(record).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def test_a_tampered_receipt_is_refused(receipts: Receipts, event, tenant: str) -> None:
    with pytest.raises(InvalidReceipt, match="signature"):
        verify_receipt(_tamper(receipts.issue(tenant, event)), receipts.public_jwk(tenant))


def test_another_tenants_key_does_not_verify(
    receipts: Receipts, event, tenant: str, other_tenant: str
) -> None:
    with pytest.raises(InvalidReceipt):
        verify_receipt(receipts.issue(tenant, event), receipts.public_jwk(other_tenant))


@pytest.mark.parametrize("garbage", ["", "a.b", "x.y.z", "é.é.é", "a" * 70_000])
def test_garbage_is_not_a_receipt(receipts: Receipts, tenant: str, garbage: str) -> None:
    with pytest.raises(InvalidReceipt):
        verify_receipt(garbage, receipts.public_jwk(tenant))


def test_the_signing_seed_never_leaves_the_key_store_in_clear(
    receipts: Receipts, tenant: str, shared_stores
) -> None:
    from sqlalchemy import text

    jwk = receipts.public_jwk(tenant)
    with shared_stores.keys.begin() as conn:
        row = conn.execute(
            text("SELECT wrapped FROM data_keys WHERE tenant_id = :t AND scope = 'receipts'"),
            {"t": tenant},
        ).one()
    seed = receipts.vault.tenant_secret(tenant, "receipts")
    assert seed not in bytes(row.wrapped)
    assert RECEIPT_TYPE == "consent-receipt+jws" and jwk["use"] == "sig"
