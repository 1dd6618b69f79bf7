"""Composition root: build every service from settings, in one place."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from tessera.auth import Authenticator, AuthSettings, Outbox, thresholds_table
from tessera.consent import Catalogue, ConsentLedger, DataSubjectRights, Receipts
from tessera.payments import HttpProcessor, Payments, PaymentsSettings, PhonePayments
from tessera.policies import DEFAULT_POLICY_DIR, CedarPolicyEngine
from tessera.storage import (
    Database,
    StorageError,
    Store,
    current_revision,
    head_revision,
    migrate,
    utcnow,
)
from tessera.trust._errors import AuthenticationRequired, UnknownTenant
from tessera.trust._settings import Settings
from tessera.trust.audit import AuditLog
from tessera.trust.gateway import (
    AuditAuthRecorder,
    AuditConsentObserver,
    AuditPaymentRecorder,
    AuditSecurityEvents,
    ConsentObservers,
    Gateway,
    PaymentRecorders,
    RequestDesk,
)
from tessera.trust.identity import Caller, PortalLinks, ServiceIdentity, StaffDirectory
from tessera.trust.redaction import Redactions
from tessera.trust.webhooks import WebhookPaymentRecorder, Webhooks
from tessera.vault import (
    KeyProvider,
    KeyProviderError,
    LocalKeyring,
    Pkcs11KeyProvider,
    RotationReport,
    Vault,
    VaultLimits,
    rotate_keys,
)

__all__ = ["Regions", "Services", "build_key_provider", "open_stores"]


def _secret(value: SecretStr | None, env_name: str, prompt: str) -> str:
    if value is not None:
        return value.get_secret_value()
    if sys.stdin.isatty() and not os.environ.get("CI"):
        return getpass.getpass(prompt)
    raise KeyProviderError(f"set {env_name} (it is read from the environment, never from a file)")


def open_stores(settings: Settings) -> tuple[Database, Database]:
    """The data store, and the key store apart from it (with `secure_delete`)."""
    wait = settings.database_lock_timeout_seconds
    reach = settings.database_connect_timeout_seconds
    return (
        Database(
            settings.resolved_database_url,
            schema=settings.database_schema,
            lock_timeout=wait,
            connect_timeout=reach,
        ),
        Database(
            settings.resolved_keystore_url,
            schema=settings.keystore_schema,
            secure_delete=True,
            lock_timeout=wait,
            connect_timeout=reach,
        ),
    )


def build_key_provider(settings: Settings, *, create: bool = True) -> KeyProvider:
    if settings.key_provider == "pkcs11":
        pin = _secret(settings.pkcs11_pin, "TESSERA_PKCS11_PIN", "PKCS#11 user PIN: ")
        return Pkcs11KeyProvider(
            module=settings.pkcs11_module, token_label=settings.pkcs11_token_label, pin=pin
        )
    passphrase = _secret(
        settings.keyring_passphrase, "TESSERA_KEYRING_PASSPHRASE", "Keyring passphrase: "
    )
    return LocalKeyring(settings.resolved_keyring_path, passphrase, create=create)


def _tenant_names(identity: ServiceIdentity) -> Callable[[str], str]:
    """A tenant's display name; its id when it has no record (an embedded use of the vault)."""

    def name(tenant: str) -> str:
        try:
            return identity.get_tenant(tenant).name
        except UnknownTenant:
            return tenant

    return name


@dataclass
class Services:
    settings: Settings
    data: Database
    keys: Database
    key_provider: KeyProvider
    vault: Vault
    identity: ServiceIdentity
    catalogue: Catalogue
    consents: ConsentLedger
    receipts: Receipts
    dsr: DataSubjectRights
    policies: CedarPolicyEngine
    audit: AuditLog
    gateway: Gateway
    requests: RequestDesk
    authenticator: Authenticator
    payments: Payments
    webhooks: Webhooks
    phone: PhonePayments
    redactions: Redactions
    portal_links: PortalLinks
    staff: StaffDirectory
    clock: Callable[[], dt.datetime] = utcnow

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        key_provider: KeyProvider | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> Services:
        """Every service of one process, built from `settings`. `clock` is the one time every
        part reads (decisions, expiries, records, the local outbox): a test or a replay of
        past traffic fixes it."""
        settings = settings or Settings()
        if not settings.data_dir.exists():  # ours: 0700 whatever the umask (mkdir's is masked)
            settings.data_dir.mkdir(parents=True, mode=0o700)
            settings.data_dir.chmod(0o700)
        data, keys = open_stores(settings)
        try:
            return cls._assembled(settings, data, keys, key_provider, clock)
        except BaseException:
            # A store migrated but a key provider that does not open (or any later failure):
            # nothing of this attempt may keep its connections (a process that retries, or a
            # test run, would run the database out of them).
            data.dispose()
            keys.dispose()
            raise

    @classmethod
    def _assembled(
        cls,
        settings: Settings,
        data: Database,
        keys: Database,
        key_provider: KeyProvider | None,
        clock: Callable[[], dt.datetime],
    ) -> Services:
        if settings.auto_migrate:
            migrate(data, Store.DATA)
            migrate(keys, Store.KEYS)
        provider = key_provider or build_key_provider(settings)
        vault = Vault(
            data=data,
            keys=keys,
            key_provider=provider,
            limits=VaultLimits(
                max_value_bytes=settings.max_value_bytes, max_batch_items=settings.max_batch_items
            ),
            cache_ttl=settings.key_cache_ttl_seconds,
            default_region=settings.default_region,
            clock=clock,
        )
        catalogue = Catalogue(data, clock=clock)
        consents = ConsentLedger(data, catalogue, vault=vault, clock=clock)
        receipts = Receipts(vault, catalogue)
        audit = AuditLog(data, vault=vault, clock=clock)
        dsr = DataSubjectRights(
            data, ledger=consents, receipts=receipts, access_history=audit, clock=clock
        )
        policies = CedarPolicyEngine(settings.policy_dir or DEFAULT_POLICY_DIR)
        authenticator = Authenticator(
            db=data,
            vault=vault,
            notifier=Outbox(settings.data_dir / "outbox.jsonl", clock=clock),
            settings=AuthSettings(
                rp_id=settings.webauthn_rp_id,
                origins=tuple(settings.webauthn_origins),
                retention=dt.timedelta(days=settings.auth_retention_days),
                thresholds=(everyone := thresholds_table(settings.auth_thresholds.get("*", {}))),
                tenant_thresholds={
                    tenant: thresholds_table(overrides, everyone)
                    for tenant, overrides in settings.auth_thresholds.items()
                    if tenant != "*"
                },
            ),
            recorder=AuditAuthRecorder(audit),
            clock=clock,
        )
        gateway = Gateway(
            vault=vault,
            catalogue=catalogue,
            consents=consents,
            policies=policies,
            audit=audit,
            sessions=authenticator,
            clock=clock,
        )
        events = AuditSecurityEvents(audit)
        webhooks = Webhooks(
            data, vault, timeout=settings.webhook_timeout_seconds, events=events, clock=clock
        )
        payments = Payments(
            db=data,
            vault=vault,
            processor=HttpProcessor(
                settings.processor_url, timeout=settings.processor_timeout_seconds
            ),
            authenticator=authenticator,
            recorder=PaymentRecorders(
                AuditPaymentRecorder(audit), WebhookPaymentRecorder(webhooks)
            ),
            settings=PaymentsSettings(
                intent_ttl=dt.timedelta(minutes=settings.payment_ttl_minutes),
                link_ttl=dt.timedelta(minutes=settings.payment_link_minutes),
                eur_rates=settings.payment_eur_rates,
            ),
            consents=consents,
            clock=clock,
        )
        # The audit trail, then cards on file, in the transaction that records each choice.
        consents.observer = ConsentObservers(AuditConsentObserver(audit), payments.cards)
        # A key store restored from a backup older than some erasures must not bring those
        # customers back: the erasure journal is applied again before anything is served.
        # Only rows sealed by the service act: a row a data-store writer added destroys
        # nothing and is reported at every start until an operator deals with it.
        replay = vault.reapply_erasures()
        for tenant, count in replay.destroyed.items():
            events.security_event(
                tenant, "erasures_reapplied", {"keys_destroyed": count}, actor="service start"
            )
        for tenant, count in replay.status.forged.items():
            events.security_event(
                tenant, "erasure_journal_forged", {"rows": count}, actor="service start"
            )
        phone = PhonePayments(payments)
        identity = ServiceIdentity(
            data,
            verified_for=settings.api_key_cache_seconds,
            events=events,
            clock=clock,
            region=settings.region,
            region_of=settings.region_of,
        )
        # The customer knows the tenant by its name: the sender of codes, the TOTP issuer.
        authenticator.tenant_name = _tenant_names(identity)
        return cls(
            settings,
            data,
            keys,
            provider,
            vault,
            identity,
            catalogue,
            consents,
            receipts,
            dsr,
            policies,
            audit,
            gateway,
            RequestDesk(gateway=gateway, dsr=dsr, sessions=authenticator),
            authenticator,
            payments,
            webhooks,
            phone,
            Redactions(vault, phone, model=settings.redaction_model, audit=audit),
            PortalLinks(data, vault, authenticator, public_url=settings.public_url, clock=clock),
            StaffDirectory(
                data,
                vault,
                authenticator,
                tenants=identity.get_tenant,
                events=events,
                clock=clock,
            ),
            clock,
        )

    def check_ready(self) -> dict[str, str]:
        """Raise if a dependency is down or the schema is behind; else describe what is up."""
        self.data.ping()
        self.keys.ping()
        for db, store in ((self.data, Store.DATA), (self.keys, Store.KEYS)):
            if current_revision(db) != head_revision(store):
                raise StorageError(
                    f"the {store.value} store is not migrated: run `tessera db upgrade`"
                )
        version = self.key_provider.current_version()
        return {"data": "ok", "keys": "ok", "key_provider": f"{self.key_provider.name} v{version}"}

    # ------------------------------------------------------------------ security events
    def _every_tenant(self, event: str, actor: str, **facts: Any) -> None:
        """Deployment-wide changes are told to every tenant's trail: each DPO sees them."""
        for tenant in self.identity.list_tenants():
            self.identity.events_for_all(tenant.id, event, actor, **facts)

    def rotate_keys(
        self,
        *,
        actor: str,
        batch_size: int = 500,
        pause: float = 0.0,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> RotationReport:
        """Rotate the key-encryption key (or resume a rotation), recorded when it starts and
        when it finishes."""
        self._every_tenant(
            "key_rotation_started",
            actor,
            provider=self.key_provider.name,
            from_version=self.key_provider.current_version(),
        )
        report = rotate_keys(
            self.keys,
            self.key_provider,
            batch_size=batch_size,
            pause=pause,
            on_progress=on_progress,
        )
        journal_keys = self.vault.journal.rewrap()
        self._every_tenant(
            "key_rotation_finished",
            actor,
            to_version=report.target_version,
            rewrapped=report.rewrapped,
            journal_keys_rewrapped=journal_keys,
            resumed=report.resumed,
        )
        return report

    def vouch_for_erasures(self, *, actor: str) -> tuple[dict[str, int], dict[str, int]]:
        """Seal the erasure-journal rows written before the journal was sealed (once, after
        the upgrade to revision 0012), recorded per tenant; rows that would destroy a live
        key are refused, and that is recorded too. Returns both counts per tenant."""
        vouched, refused = self.vault.journal.vouch_unsealed(self.keys)
        for tenant, count in vouched.items():
            self.identity.events_for_all(tenant, "erasure_journal_vouched", actor, rows=count)
        for tenant, count in refused.items():
            self.identity.events_for_all(tenant, "erasure_journal_vouch_refused", actor, rows=count)
        return vouched, refused

    def announce_policies(self, *, actor: str) -> None:
        """The policy set in force (its digest) and the risk thresholds, in each tenant's
        trail: at every start of the server and after every reload."""
        for tenant in self.identity.list_tenants():
            compiled = self.policies.policies_for(tenant.id)
            thresholds = {
                action.value: [limits.step_up, limits.deny]
                for action, limits in self.authenticator.settings.thresholds_for(tenant.id).items()
            }
            self.identity.events_for_all(
                tenant.id,
                "policies_loaded",
                actor,
                policy_set=compiled.digest,
                policies=len(compiled.policy_ids),
                source=compiled.source,
                thresholds=thresholds,
            )

    def reload_policies(self, *, actor: str) -> None:
        """Load the policy folder anew (on error, the sets in force stay) and record it."""
        self.policies.reload()
        self.announce_policies(actor=actor)

    def close(self) -> None:
        closing = getattr(self.payments.processor, "close", None)
        if closing is not None:
            closing()
        self.webhooks.close()
        self.data.dispose()
        self.keys.dispose()


class Regions:
    """Every region's services, and the one a tenant's data lives in: the router of a
    deployment whose tenants are pinned to regions (`TESSERA_REGIONS`, `TESSERA_TENANT_REGIONS`).

    Each region has its own stores and key provider, built from its settings; a tenant's
    requests, records and keys go only to its region's. Without regions, it holds this
    deployment's services alone."""

    def __init__(self, home: Services, others: dict[str, Services] | None = None) -> None:
        self.home = home
        self.by_name: dict[str, Services] = {home.settings.region: home, **(others or {})}

    @classmethod
    def around(
        cls,
        home: Services,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        create_keys: bool = False,
    ) -> Regions:
        """The other regions of `home`'s settings, built beside it (each migrated, each with
        its own key provider: `create_keys` makes a keyring that does not exist yet)."""
        others: dict[str, Services] = {}
        try:
            for name in home.settings.regions:
                settings = home.settings.for_region(name)
                provider = build_key_provider(settings, create=True) if create_keys else None
                others[name] = Services.from_settings(
                    settings, key_provider=provider, clock=clock or home.clock
                )
        except BaseException:
            for built in others.values():
                built.close()
            raise
        return cls(home, others)

    @property
    def pinned(self) -> bool:
        return len(self.by_name) > 1

    def region_of(self, tenant: str) -> str:
        return self.home.settings.region_of(tenant)

    def for_tenant(self, tenant: str) -> Services:
        """The services of the tenant's region: where its data and keys are."""
        return self.by_name[self.region_of(tenant)]

    def authenticate(self, presented: str | None) -> tuple[Caller, Services]:
        """The caller of an API key, and its tenant's region: a key is kept in its tenant's
        region, so each region is asked in turn (this deployment's own first)."""
        refused: AuthenticationRequired | None = None
        for services in self.by_name.values():
            known = services.identity.verified(presented)
            if known is not None:
                return self._in_its_region(known, services)
        for services in self.by_name.values():
            try:
                caller = services.identity.authenticate(presented)
            except AuthenticationRequired as exc:
                refused = exc
                continue
            return self._in_its_region(caller, services)
        assert refused is not None
        raise refused

    def _in_its_region(self, caller: Caller, services: Services) -> tuple[Caller, Services]:
        """A key is honoured only in the region that keeps its tenant: one found elsewhere (a
        row written into another region's store, or a key issued before the tenant was
        pinned) would let its tenant's data be written outside its region."""
        if self.for_tenant(caller.tenant) is not services:
            raise AuthenticationRequired(
                "a valid API key is required (Authorization: Bearer tsk_…)"
            )
        return caller, services

    def __iter__(self) -> Iterator[Services]:
        return iter(self.by_name.values())

    def close(self) -> None:
        """Close the regions built here (not `home`, its owner's)."""
        for services in self.by_name.values():
            if services is not self.home:
                services.close()
