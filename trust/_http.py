"""What every router shares: the calling service, the services, strict request bodies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict
from starlette.requests import HTTPConnection

from ._identity import Caller
from ._services import Services

__all__ = ["CallerDep", "ServicesDep", "Strict", "caller_of"]


class Strict(BaseModel):
    """Request bodies: unknown fields and loose types are errors, not guesses."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def caller_of(connection: HTTPConnection) -> Caller:
    """The calling service, from `Authorization: Bearer tsk_…` (a request or a WebSocket)."""
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    caller = connection.app.state.services.identity.authenticate(
        credentials.strip() if scheme.lower() == "bearer" else None
    )
    connection.app.state.rate_limiter.take(caller.key_id)
    return caller


def _caller(request: Request) -> Caller:
    return caller_of(request)


CallerDep = Annotated[Caller, Depends(_caller)]
ServicesDep = Annotated[Services, Depends(_services)]
