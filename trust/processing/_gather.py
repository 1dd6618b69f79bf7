"""The record's inputs, read from the stores: the catalogue and controller, the policy set in
force, the vault's categories held, the ledger's current choices, and the recipients the audit
trail observed over the period."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ._record import Observed, ProcessingRecord, build_record

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = ["DEFAULT_PERIOD", "processing_record"]

DEFAULT_PERIOD = dt.timedelta(days=365)


def _measures(services: Services) -> list[str]:
    provider = type(services.key_provider).__name__
    return [
        "Values tokenized: other systems hold random tokens, never the values",
        "Envelope encryption: AES-256-GCM under a data key per subject, wrapped by a key "
        f"encryption key held by the key provider ({provider})",
        "Crypto-shredding: erasing a subject destroys its data key; backups become unreadable",
        "Purpose limitation and policy decisions (Cedar) before every access, deny by default",
        "Risk-based authentication with step-up (PSD2 RTS limits) for sensitive actions",
        "Consent ledger hash-chained and sealed; signed receipts (Ed25519)",
        "Audit log: hash chain, per-entry seals and signed Merkle checkpoints (RFC 9162)",
        "Card numbers never stored in clear; security codes never stored (PCI DSS v4.0 3.3.1)",
    ]


def processing_record(
    services: Services,
    tenant: str,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> ProcessingRecord:
    now = services.clock()
    until = until or now
    since = since or until - DEFAULT_PERIOD
    services.identity.get_tenant(tenant)  # an unknown tenant is an error, not an empty record
    controller = services.catalogue.controller(tenant)
    observed: dict[str, list[Observed]] = {}
    for (purpose, kind, action, categories), count in sorted(
        services.audit.observed_accesses(tenant, since=since, until=until).items()
    ):
        observed.setdefault(purpose, []).append(Observed(kind, action, categories, count))
    return build_record(
        tenant=tenant,
        generated_at=now,
        period=(since, until),
        controller={
            "name": controller.name,
            "contact": controller.contact,
            "address": controller.address,
            "email": controller.email,
            "phone": controller.phone,
            "jurisdiction": controller.jurisdiction,
            "policy_url": controller.policy_url,
        },
        purposes=services.catalogue.purposes(tenant).values(),
        engine=services.policies.sweeper(),
        policies_in_force=services.policies.policies_for(tenant).policy_ids,
        categories_held=services.vault.categories_held(tenant),
        consents=services.consents.choice_counts(tenant),
        observed=observed,
        security_measures=_measures(services),
    )
