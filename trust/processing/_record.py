"""The record of processing activities (GDPR Art. 30(1)), as plain data, derived from what is
enforced: the purpose catalogue, the Cedar policy set in force, the vault's categories held,
the consent ledger's current counts and the recipients the audit trail observed.

Recipients are not typed in: for each purpose, every kind of caller, action, channel and data
category is put to the policy engine, at the lowest assurance first, and what it allows (and
at which assurance) is the list. Change a policy or a purpose and the record changes with it.
Pure functions of their inputs; the gathering from the stores is in `_gather.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tessera import Channel
from tessera.consent import LegalBasis, Purpose
from tessera.policies import (
    AccessContext,
    Action,
    Assurance,
    CallerKind,
    PolicyEngine,
    PolicyOutcome,
    Principal,
    Resource,
)

__all__ = [
    "ACTIONS",
    "Observed",
    "ProcessingActivity",
    "ProcessingRecord",
    "Recipient",
    "allowed_recipients",
    "build_record",
]

# The actions that reach data (requests and telephone orders are about steps, not data).
ACTIONS = (Action.READ_MASKED, Action.DETOKENIZE, Action.EXPORT, Action.ERASE, Action.PAY)
_PROBE = "processing-record-probe"  # the subject every question is asked about


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who may reach which categories of a purpose, how, on which channels, from which
    assurance, and under which policies."""

    caller_kind: str
    action: str
    categories: tuple[str, ...]
    channels: tuple[str, ...]
    assurance: str
    policies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Observed:
    """Accesses the audit trail shows were allowed, over the record's period."""

    caller_kind: str
    action: str
    categories: tuple[str, ...]
    count: int


@dataclass(frozen=True, slots=True)
class ProcessingActivity:
    purpose: str
    names: dict[str, str]
    descriptions: dict[str, str]
    legal_basis: str
    data_categories: tuple[str, ...]
    retention_days: int
    sale_or_sharing: bool
    consent_validity_days: int | None
    consents: dict[str, int] | None  # current choices per kind, for consent-based purposes
    recipients: tuple[Recipient, ...]
    observed: tuple[Observed, ...]
    # Observed accesses no current policy allows (a policy changed since): shown, not hidden.
    observed_outside: tuple[Observed, ...] = ()


@dataclass(frozen=True, slots=True)
class ProcessingRecord:
    tenant: str
    generated_at: dt.datetime
    period: tuple[dt.datetime, dt.datetime]
    controller: dict[str, str]
    policies_in_force: tuple[str, ...]
    categories_held: dict[str, int]
    security_measures: tuple[str, ...]
    activities: tuple[ProcessingActivity, ...] = field(default_factory=tuple)


def _context(purpose: Purpose, channel: str, assurance: Assurance) -> AccessContext:
    consent_based = purpose.legal_basis is LegalBasis.CONSENT
    return AccessContext(
        purpose=purpose.id,
        channel=channel,
        assurance=assurance,
        legal_basis=purpose.legal_basis.value,
        consent="given" if consent_based else "none",
        lawful=True,
        hour=12,
    )


def allowed_recipients(engine: PolicyEngine, tenant: str, purpose: Purpose) -> list[Recipient]:
    """Every (caller kind, action) the policies allow on the purpose's categories, with the
    channels and the lowest assurance they need."""
    found: dict[tuple[str, str, str], dict[str, set[str]]] = {}
    categories = list(purpose.data_categories)
    if not categories:
        return []
    for kind in CallerKind:
        principal = Principal(
            id=f"probe-{kind.value}",
            tenant=tenant,
            kind=kind,
            subject=_PROBE if kind is CallerKind.CUSTOMER else "",
        )
        for action in ACTIONS:
            for channel in Channel:
                decisions = engine.decide(
                    principal,
                    action,
                    [Resource(tenant, _PROBE, c) for c in categories],
                    _context(purpose, channel.value, Assurance.LOW),
                )
                for category, decision in zip(categories, decisions, strict=True):
                    if decision.outcome is PolicyOutcome.DENY:
                        continue
                    level = (
                        decision.required_assurance or Assurance.HIGH
                        if decision.outcome is PolicyOutcome.STEP_UP
                        else Assurance.LOW
                    )
                    key = (kind.value, action.value, level.name.lower())
                    entry = found.setdefault(
                        key, {"categories": set(), "channels": set(), "policies": set()}
                    )
                    entry["categories"].add(category)
                    entry["channels"].add(channel.value)
                    entry["policies"].update(decision.policy_ids)
    every_channel = {c.value for c in Channel}
    return [
        Recipient(
            caller_kind=kind,
            action=action,
            categories=tuple(sorted(entry["categories"])),
            channels=("any",)
            if entry["channels"] == every_channel
            else tuple(sorted(entry["channels"])),
            assurance=level,
            policies=tuple(sorted(entry["policies"])),
        )
        for (kind, action, level), entry in sorted(found.items())
    ]


def _covered(observed: Observed, recipients: Iterable[Recipient]) -> bool:
    return any(
        r.caller_kind == observed.caller_kind
        and r.action == observed.action
        and set(observed.categories) <= set(r.categories)
        for r in recipients
    )


def build_record(
    *,
    tenant: str,
    generated_at: dt.datetime,
    period: tuple[dt.datetime, dt.datetime],
    controller: Mapping[str, str],
    purposes: Iterable[Purpose],
    engine: PolicyEngine,
    policies_in_force: Iterable[str],
    categories_held: Mapping[str, int],
    consents: Mapping[str, Mapping[str, int]],
    observed: Mapping[str, Iterable[Observed]],
    security_measures: Iterable[str],
) -> ProcessingRecord:
    activities = []
    for purpose in sorted(purposes, key=lambda p: p.id):
        recipients = tuple(allowed_recipients(engine, tenant, purpose))
        seen = tuple(observed.get(purpose.id, ()))
        activities.append(
            ProcessingActivity(
                purpose=purpose.id,
                names=dict(purpose.names),
                descriptions=dict(purpose.descriptions),
                legal_basis=purpose.legal_basis.value,
                data_categories=tuple(purpose.data_categories),
                retention_days=purpose.retention_days,
                sale_or_sharing=purpose.sale_or_sharing,
                consent_validity_days=purpose.consent_validity_days,
                consents=dict(consents.get(purpose.id, {}))
                if purpose.legal_basis is LegalBasis.CONSENT
                else None,
                recipients=recipients,
                observed=seen,
                observed_outside=tuple(o for o in seen if not _covered(o, recipients)),
            )
        )
    return ProcessingRecord(
        tenant=tenant,
        generated_at=generated_at,
        period=period,
        controller=dict(controller),
        policies_in_force=tuple(sorted(policies_in_force)),
        categories_held=dict(sorted(categories_held.items())),
        security_measures=tuple(security_measures),
        activities=tuple(activities),
    )
