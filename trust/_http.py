"""What every router shares: the calling service, the services, strict request bodies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from ._identity import Caller
from ._services import Services

__all__ = ["CallerDep", "ServicesDep", "Strict"]


class Strict(BaseModel):
    """Request bodies: unknown fields and loose types are errors, not guesses."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _caller(request: Request) -> Caller:
    """The calling service, from `Authorization: Bearer tsk_…`."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    caller = _services(request).identity.authenticate(
        credentials.strip() if scheme.lower() == "bearer" else None
    )
    request.app.state.rate_limiter.take(caller.key_id)
    return caller


CallerDep = Annotated[Caller, Depends(_caller)]
ServicesDep = Annotated[Services, Depends(_services)]
