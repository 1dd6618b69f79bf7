"""Consent receipts: the fields of the Kantara Consent Receipt v1.1 / ISO/IEC 27560, signed.

A receipt is a compact JWS (alg `Ed25519`, RFC 9864) over a JSON record. Ed25519 signatures are
deterministic, so a receipt can be re-issued from the ledger at any time and come out the same.
The signing seed is a tenant secret in the vault's key store, wrapped by the KEK.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from tessera.vault import Vault

from ._catalogue import Catalogue
from ._chain import SEAL_KEY, seal, seal_matches
from ._errors import ChainBroken, InvalidReceipt
from ._model import ConsentEvent, EventKind

__all__ = [
    "HEAD_TYPE",
    "RECEIPT_TYPE",
    "Receipts",
    "signing_jwk",
    "tenant_signing_key",
    "verify_head",
    "verify_receipt",
]

RECEIPT_TYPE = "consent-receipt+jws"
HEAD_TYPE = "consent-head+jws"
_ALG = "Ed25519"
_CONSENT_TYPE = {EventKind.GIVEN: "EXPLICIT"}


def tenant_signing_key(vault: Vault, tenant: str, name: str) -> OKPKey:
    """An Ed25519 key whose seed is the tenant secret `name`, kept wrapped in the key store."""
    return OKPKey.import_key(
        Ed25519PrivateKey.from_private_bytes(vault.tenant_secret(tenant, name))
    )


def signing_jwk(key: OKPKey) -> dict[str, Any]:
    """The public half as a JWK, its RFC 7638 thumbprint as `kid`."""
    return {**key.as_dict(private=False), "kid": key.thumbprint(), "alg": _ALG, "use": "sig"}


# What a choice leaves in force (ISO/IEC TS 27560's event state).
_STATE = {
    EventKind.GIVEN: "active",
    EventKind.REFUSED: "refused",
    EventKind.WITHDRAWN: "withdrawn",
    EventKind.EXPIRED: "expired",
    EventKind.OBJECTED: "objected",
}


def _record_27560(
    event: ConsentEvent, purpose: Any, controller: Any, policy_url: str | None
) -> dict[str, Any]:
    """The record in ISO/IEC TS 27560:2023's four sections (header, processing, parties,
    events), beside the Kantara fields: the structure DESIGN.md names, filled from the ledger
    and the catalogue. Lawful basis and collection method, optional there, are always given."""
    body = event.body()
    return {
        "header": {
            "schemaVersion": "ISO/IEC TS 27560:2023",
            "recordId": event.id,
            "piiPrincipalId": event.subject,
        },
        "processing": {
            "privacyNotice": {"url": policy_url, "version": event.notice_version},
            "language": ["fr", "en"],
            "purposes": [
                {
                    "id": purpose.id,
                    "name": dict(purpose.names),
                    "description": dict(purpose.descriptions),
                    "lawfulBasis": purpose.legal_basis.value,
                }
            ],
            "piiCategories": list(purpose.data_categories),
            "controllers": [controller.name],
            "retention": f"{purpose.retention_days} days",
            "jurisdiction": controller.jurisdiction,
            "recipients": "third parties" if purpose.sale_or_sharing else "none",
            "withdrawalMethod": "any channel (GDPR Art. 7(3))",
            "collectionMethod": event.channel.value,
        },
        "parties": [
            {
                "id": controller.name,
                "name": controller.name,
                "address": controller.address,
                "contact": controller.email or controller.contact,
                "type": "controller",
            },
            {"id": event.subject, "type": "pii_principal"},
        ],
        "events": [
            {
                "time": body["occurred_at"],
                "validityDuration": body["expires_at"],
                "entity": event.subject,
                "eventType": event.kind.value,
                "state": _STATE.get(event.kind, event.kind.value),
                "collectionMethod": event.channel.value,
                "evidence": dict(event.evidence),
            }
        ],
    }


class Receipts:
    def __init__(self, vault: Vault, catalogue: Catalogue) -> None:
        self.vault = vault
        self.catalogue = catalogue

    def _key(self, tenant: str) -> OKPKey:
        return tenant_signing_key(self.vault, tenant, "receipts")

    def public_jwk(self, tenant: str) -> dict[str, Any]:
        """The tenant's verification key (JWK, with its RFC 7638 thumbprint as `kid`)."""
        return signing_jwk(self._key(tenant))

    def payload(self, tenant: str, event: ConsentEvent) -> dict[str, Any]:
        purpose = self.catalogue.get(tenant, event.purpose)
        controller = self.catalogue.controller(tenant)
        policy_url = purpose.policy_url or controller.policy_url
        return {
            # Kantara Consent Receipt v1.1 fields.
            "version": "KI-CR-v1.1.0",
            "jurisdiction": controller.jurisdiction,
            "consentTimestamp": int(event.occurred_at.timestamp()),
            "collectionMethod": event.channel.value,
            "consentReceiptID": event.id,
            "language": "fr",
            "piiPrincipalId": event.subject,
            "piiControllers": [
                {
                    "piiController": controller.name,
                    "contact": controller.contact,
                    "address": controller.address,
                    "email": controller.email,
                    "phone": controller.phone,
                    "piiControllerUrl": controller.policy_url,
                }
            ],
            "policyUrl": policy_url,
            "services": [
                {
                    "service": purpose.id,
                    "purposes": [
                        {
                            "purpose": purpose.descriptions["en"],
                            "purposeFr": purpose.descriptions["fr"],
                            "consentType": _CONSENT_TYPE.get(event.kind, event.kind.value.upper()),
                            "purposeCategory": [purpose.names["en"]],
                            "piiCategory": list(purpose.data_categories),
                            "primaryPurpose": True,
                            "termination": (
                                event.expires_at.isoformat()
                                if event.expires_at
                                else f"withdrawal, or {purpose.retention_days} days"
                            ),
                            "thirdPartyDisclosure": purpose.sale_or_sharing,
                        }
                    ],
                }
            ],
            "sensitive": False,
            "spiCat": [],
            # ISO/IEC TS 27560 facts that Kantara leaves out, and the ledger anchor.
            "lawfulBasis": purpose.legal_basis.value,
            "event": {
                "type": event.kind.value,
                "channel": event.channel.value,
                "noticeVersion": event.notice_version,
                "occurredAt": event.body()["occurred_at"],
                "expiresAt": event.body()["expires_at"],
                "evidence": event.evidence,
                "withdrawalMethod": "any channel (GDPR Art. 7(3))",
            },
            "ledger": {
                "tenant": tenant,
                "seq": event.seq,
                "hash": event.hash,
                "prevHash": event.prev_hash,
            },
            "record": _record_27560(event, purpose, controller, policy_url),
        }

    def issue(self, tenant: str, event: ConsentEvent) -> str:
        """A signed receipt, only for an event this service wrote: one a database writer added
        gets no genuine receipt, however valid its hash chain."""
        sealing = self.vault.tenant_secret(tenant, SEAL_KEY)
        if not seal_matches(seal(sealing, event.hash), event.mac):
            raise ChainBroken(
                f"event {event.seq} was not written by this service: no receipt is issued",
                seq=event.seq,
            )
        return self._sign(tenant, RECEIPT_TYPE, self.payload(tenant, event))

    def sign_head(self, tenant: str, seq: int, head: str) -> str:
        """The ledger's head (its size and last hash), signed: what a DPO keeps, to prove later
        that the ledger extends it and was not cut back to an earlier state."""
        return self._sign(tenant, HEAD_TYPE, {"tenant": tenant, "seq": seq, "hash": head})

    def _sign(self, tenant: str, typ: str, payload: dict[str, Any]) -> str:
        key = self._key(tenant)
        header = {"alg": _ALG, "typ": typ, "kid": key.thumbprint()}
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return jws.serialize_compact(header, body, key, algorithms=[_ALG])


def _opened(token: str, public_jwk: dict[str, Any], typ: str, what: str) -> dict[str, Any]:
    try:
        key = OKPKey.import_key({k: v for k, v in public_jwk.items() if k in {"kty", "crv", "x"}})
        if not isinstance(token, str) or token.count(".") != 2 or len(token) > 64_000:
            raise InvalidReceipt("not a compact JWS")
        obj = jws.deserialize_compact(token.strip(), key, algorithms=[_ALG])
    except InvalidReceipt:
        raise
    except (JoseError, ValueError, TypeError, KeyError):
        raise InvalidReceipt(f"the {what}'s signature does not verify with this key") from None
    if obj.protected.get("typ") != typ:
        raise InvalidReceipt(f"not a Tessera consent {what}")
    try:
        record: dict[str, Any] = json.loads(obj.payload)
    except ValueError:
        raise InvalidReceipt(f"the {what}'s content is not JSON") from None
    return record


def verify_receipt(receipt: str, public_jwk: dict[str, Any]) -> dict[str, Any]:
    """Check a receipt offline against the tenant's public key; return its record."""
    return _opened(receipt, public_jwk, RECEIPT_TYPE, "receipt")


def verify_head(signed: str, public_jwk: dict[str, Any]) -> dict[str, Any]:
    """Check a signed ledger head (`Receipts.sign_head`) against the tenant's public key;
    returns {tenant, seq, hash}."""
    head = _opened(signed, public_jwk, HEAD_TYPE, "ledger head")
    if not isinstance(head.get("seq"), int) or not isinstance(head.get("hash"), str):
        raise InvalidReceipt("the ledger head names no size or hash")
    return head
