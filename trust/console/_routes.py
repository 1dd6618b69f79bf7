"""The console's routes in one router, and its own static files (no CDN, nothing third-party)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from tessera.trust.web import ProblemOf, security_headers, use_problems

from . import _charts, _home, _logs, _oversight, _requests, _signin

__all__ = ["console_router"]

_STATIC = Path(__file__).parent / "static"
_FILES = {"console.css": "text/css"}  # the passkey script and base styles are the portal's

router = APIRouter(include_in_schema=False)


@router.get("/console/static/{name}")
def static(name: str) -> Response:
    if name not in _FILES:
        return Response(status_code=404, headers=security_headers())
    headers = {**security_headers(), "Cache-Control": "public, max-age=3600"}
    return FileResponse(_STATIC / name, media_type=_FILES[name], headers=headers)


@router.get("/console/{tenant}")
def bare(tenant: str) -> Response:
    return RedirectResponse(f"/console/{tenant}/", status_code=308)


for _room in (_signin, _home, _logs, _requests, _charts, _oversight):
    router.include_router(_room.router)


def console_router(problem_of: ProblemOf) -> APIRouter:
    """The console's pages; `problem_of` maps an error to the (status, slug) of its problem."""
    use_problems(problem_of)
    return router
