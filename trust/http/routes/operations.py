"""Liveness and readiness, for the orchestrator in front of the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from tessera.trust.http._dependencies import ServicesDep

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, services: ServicesDep) -> dict[str, Any]:
    """Readiness: both stores reachable and migrated, key provider answering (each region's,
    when tenants are pinned to regions)."""
    regions = request.app.state.regions
    if regions is None:
        return {"status": "ready", "checks": services.check_ready()}
    checks = {each.settings.region: each.check_ready() for each in regions}
    return {"status": "ready", "checks": checks}
