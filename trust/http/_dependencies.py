"""What every router shares: the calling service, the services, strict request bodies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from tessera.trust._services import Services
from tessera.trust.identity import Caller
from tessera.trust.telemetry import TENANT

__all__ = ["CallerDep", "ServicesDep", "Strict", "caller_of"]


def _no_nul(value: Any) -> Any:
    """A NUL character is text no store keeps (PostgreSQL refuses it) and no field needs."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _no_nul(item)
    return value


class Strict(BaseModel):
    """Request bodies: unknown fields and loose types are errors, not guesses; no text holds
    a NUL character."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _text_without_nul(cls, value: Any) -> Any:
        return _no_nul(value)


# The dependencies are async: FastAPI runs a sync dependency in the thread pool, and each hop
# there (a handoff and a wake-up under the GIL) cost more than the work of these two.
async def _services(request: Request) -> Services:
    """This deployment's services; with regions, those of the tenant's region: the caller's
    (its API key is kept there), or the one a page's path names."""
    regions = request.app.state.regions
    if regions is None:
        services: Services = request.app.state.services
        return services
    routed: Services | None = getattr(request.state, "services", None)
    if routed is not None:
        return routed
    tenant = request.path_params.get("tenant")
    if isinstance(tenant, str):
        return regions.for_tenant(tenant)  # type: ignore[no-any-return]
    if _bearer(request) is not None:
        await _caller(request)
        return request.state.services  # type: ignore[no-any-return]
    return request.app.state.services  # type: ignore[no-any-return]


def _bearer(connection: HTTPConnection) -> str | None:
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def caller_of(connection: HTTPConnection) -> Caller:
    """The calling service, from `Authorization: Bearer tsk_…` (a request or a WebSocket);
    with regions, its region's services are then `connection.state.services`."""
    regions = connection.app.state.regions
    if regions is None:
        caller: Caller = connection.app.state.services.identity.authenticate(_bearer(connection))
    else:
        caller, connection.state.services = regions.authenticate(_bearer(connection))
    connection.app.state.rate_limiter.take(caller.key_id)
    return caller


class _ApiKey(HTTPBearer):
    """The caller, from its API key: a security scheme to FastAPI, so that the OpenAPI document
    declares the key on every operation that reads one (and nowhere else)."""

    def __init__(self) -> None:
        super().__init__(
            scheme_name="apiKey",
            bearerFormat="tsk_…",
            description="A tenant's API key (`tessera apikeys create`): its scopes and caller "
            "kind decide what it may ask, the policies what it is given.",
            auto_error=False,
        )

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        """A key verified moments ago is answered here; otherwise it is read, off the loop."""
        if request.app.state.regions is not None:
            known_here: Caller | None = getattr(request.state, "caller", None)
            if known_here is not None:  # `_services` authenticated it to find its region
                return known_here
            caller_in_region: Caller = await run_in_threadpool(caller_of, request)
            request.state.caller = caller_in_region
            TENANT.set(caller_in_region.tenant)
            return caller_in_region
        identity = request.app.state.services.identity
        presented = _bearer(request)
        known: Caller | None = identity.verified(presented)
        caller: Caller = (
            known
            if known is not None
            else await run_in_threadpool(identity.authenticate, presented)
        )
        request.app.state.rate_limiter.take(caller.key_id)
        TENANT.set(caller.tenant)  # for the request's log lines
        return caller


_caller = _ApiKey()


CallerDep = Annotated[Caller, Depends(_caller)]
ServicesDep = Annotated[Services, Depends(_services)]
