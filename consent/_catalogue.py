"""Purpose catalogue per tenant, with versioned notices.

Redefining a purpose publishes a new notice version when anything shown to the customer
changed. The change is *material* (consents given before it need renewal) when the legal
basis, the data categories, the retention, sale/sharing or the consent's validity changed;
wording alone is not material unless the caller says so.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import col, select

from tessera.storage import Database, utcnow
from tessera.vault import DataCategory

from ._errors import CatalogueError, UnknownPurpose
from ._model import LegalBasis, Purpose
from ._tables import ConsentCatalogue, NoticeRow, PurposeRow

__all__ = ["Catalogue", "CatalogueSpec", "ControllerSpec", "PurposeSpec", "load_catalogue_file"]

_MATERIAL_FIELDS = (
    "legal_basis",
    "data_categories",
    "retention_days",
    "sale_or_sharing",
    "consent_validity_days",
)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PurposeSpec(_Spec):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    legal_basis: LegalBasis
    name: dict[str, str]
    description: dict[str, str]
    data_categories: list[str] = Field(min_length=1)
    retention_days: int = Field(gt=0, le=36500)
    sale_or_sharing: bool = False
    consent_validity_days: int | None = Field(default=None, gt=0, le=36500)
    policy_url: str | None = Field(default=None, max_length=500)
    material: bool = Field(default=False, description="Force a material change.")

    @field_validator("name", "description")
    @classmethod
    def _french_and_english(cls, texts: dict[str, str]) -> dict[str, str]:
        missing = {"fr", "en"} - set(texts)
        if missing:
            raise ValueError(f"needs a text in {', '.join(sorted(missing))}")
        if any(not t.strip() or len(t) > 2000 for t in texts.values()):
            raise ValueError("texts must be 1 to 2000 characters")
        return texts

    @field_validator("data_categories")
    @classmethod
    def _known_categories(cls, categories: list[str]) -> list[str]:
        allowed = {c.value for c in DataCategory}
        unknown = [c for c in categories if c not in allowed]
        if unknown:
            raise ValueError(f"unknown data categories {unknown}; expected among {sorted(allowed)}")
        return sorted(set(categories))


class ControllerSpec(_Spec):
    """The data controller, as named on receipts (Kantara: piiControllers)."""

    name: str = Field(min_length=1, max_length=200)
    contact: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=500)
    email: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)
    jurisdiction: str = Field(default="FR", pattern=r"^[A-Z]{2}$")
    policy_url: str = Field(default="", max_length=500)
    # The tenant's own evidence references, beside the shipped vocabulary (a CRM case id, say).
    evidence_fields: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]] = Field(
        default_factory=list, max_length=20
    )


class CatalogueSpec(_Spec):
    controller: ControllerSpec
    purpose: list[PurposeSpec] = Field(min_length=1)


def _explain(exc: ValidationError, *, prefix: str = "") -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{prefix}{where}: {err['msg']}")
    return "; ".join(parts)


def parse_catalogue(data: Any) -> CatalogueSpec:
    try:
        spec = CatalogueSpec.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(f"invalid catalogue: {_explain(exc)}") from None
    ids = [p.id for p in spec.purpose]
    if len(ids) != len(set(ids)):
        raise CatalogueError("invalid catalogue: purpose ids must be unique")
    return spec


def parse_purpose(data: Any) -> PurposeSpec:
    try:
        return PurposeSpec.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(f"invalid purpose: {_explain(exc)}") from None


def load_catalogue_file(path: Path) -> CatalogueSpec:
    """A TOML file: `[controller]` and `[[purpose]]` tables (see README)."""
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read {Path(path).name}: {type(exc).__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{Path(path).name} is not valid TOML: {exc}") from None
    return parse_catalogue(data)


def _definition(spec: PurposeSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude={"id", "material"})


def _purpose(row: PurposeRow) -> Purpose:
    d = json.loads(row.definition)
    return Purpose(
        id=row.id,
        legal_basis=LegalBasis(row.legal_basis),
        names=d["name"],
        descriptions=d["description"],
        data_categories=tuple(d["data_categories"]),
        retention_days=d["retention_days"],
        sale_or_sharing=d["sale_or_sharing"],
        consent_validity_days=d["consent_validity_days"],
        policy_url=d["policy_url"],
        notice_version=row.notice_version,
        material_version=row.material_version,
    )


class Catalogue:
    """Purposes and controller of each tenant; reads are cached for a few seconds."""

    def __init__(
        self, db: Database, *, clock: Callable[[], Any] = utcnow, cache_seconds: float = 5.0
    ) -> None:
        self.db = db
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict[str, Purpose]]] = {}
        self._controllers: dict[str, tuple[float, ControllerSpec]] = {}

    def load(self, tenant: str, spec: CatalogueSpec) -> list[Purpose]:
        self.set_controller(tenant, spec.controller)
        return [self.define(tenant, p) for p in spec.purpose]

    def set_controller(self, tenant: str, controller: ControllerSpec) -> None:
        with self.db.session() as s:
            row = s.get(ConsentCatalogue, tenant) or ConsentCatalogue(
                tenant_id=tenant, controller="", updated_at=self.clock()
            )
            row.controller = controller.model_dump_json()
            row.updated_at = self.clock()
            s.add(row)
        with self._lock:
            self._controllers.pop(tenant, None)

    def controller(self, tenant: str) -> ControllerSpec:
        with self._lock:
            cached = self._controllers.get(tenant)
        if cached and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        with self.db.session() as s:
            row = s.get(ConsentCatalogue, tenant)
        found = (
            ControllerSpec(name=tenant)
            if row is None
            else ControllerSpec.model_validate_json(row.controller)
        )
        with self._lock:
            self._controllers[tenant] = (time.monotonic(), found)
        return found

    def define(self, tenant: str, spec: PurposeSpec) -> Purpose:
        """Create or update a purpose; publish a notice version when its content changed."""
        definition = _definition(spec)
        digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
        now = self.clock()
        with self.db.session() as s:
            row = s.get(PurposeRow, (tenant, spec.id))
            if row is None:
                row = PurposeRow(
                    tenant_id=tenant,
                    id=spec.id,
                    legal_basis=spec.legal_basis.value,
                    definition=json.dumps(definition),
                    notice_version=1,
                    material_version=1,
                    updated_at=now,
                )
                s.add(
                    NoticeRow(
                        tenant_id=tenant,
                        purpose_id=spec.id,
                        version=1,
                        digest=digest,
                        material=True,
                        definition=row.definition,
                        published_at=now,
                    )
                )
            else:
                old = json.loads(row.definition)
                if old == definition and not spec.material:
                    return _purpose(row)
                material = spec.material or any(
                    old.get(f) != definition[f] for f in _MATERIAL_FIELDS
                )
                row.notice_version += 1
                if material:
                    row.material_version = row.notice_version
                row.legal_basis = spec.legal_basis.value
                row.definition = json.dumps(definition)
                row.updated_at = now
                s.add(
                    NoticeRow(
                        tenant_id=tenant,
                        purpose_id=spec.id,
                        version=row.notice_version,
                        digest=digest,
                        material=material,
                        definition=row.definition,
                        published_at=now,
                    )
                )
            s.add(row)
            purpose = _purpose(row)
        self.invalidate(tenant)
        return purpose

    def invalidate(self, tenant: str) -> None:
        with self._lock:
            self._cache.pop(tenant, None)

    def purposes(self, tenant: str) -> dict[str, Purpose]:
        with self._lock:
            cached = self._cache.get(tenant)
        if cached and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        with self.db.session() as s:
            rows = s.exec(select(PurposeRow).where(col(PurposeRow.tenant_id) == tenant)).all()
        purposes = {row.id: _purpose(row) for row in rows}
        with self._lock:
            self._cache[tenant] = (time.monotonic(), purposes)
        return purposes

    def get(self, tenant: str, purpose_id: str) -> Purpose:
        purpose = self.purposes(tenant).get(purpose_id)
        if purpose is None:
            raise UnknownPurpose(f"no purpose {purpose_id[:64]!r} in this tenant's catalogue")
        return purpose

    def notices(self, tenant: str, purpose_id: str) -> list[NoticeRow]:
        self.get(tenant, purpose_id)
        with self.db.session() as s:
            return list(
                s.exec(
                    select(NoticeRow)
                    .where(
                        col(NoticeRow.tenant_id) == tenant, col(NoticeRow.purpose_id) == purpose_id
                    )
                    .order_by(col(NoticeRow.version))
                )
            )
