"""The portal's routes in one router, and its own static files (no CDN, nothing third-party)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from . import _devices, _history, _pages, _requests, _signin
from ._guard import security_headers
from ._render import ProblemOf, use_problems

__all__ = ["portal_router"]

_STATIC = Path(__file__).parent / "static"
_FILES = {"portal.css": "text/css", "portal.js": "text/javascript"}

router = APIRouter(include_in_schema=False)


@router.get("/portal/static/{name}")
def static(name: str) -> Response:
    if name not in _FILES:
        return Response(status_code=404, headers=security_headers())
    headers = {**security_headers(), "Cache-Control": "public, max-age=3600"}
    return FileResponse(_STATIC / name, media_type=_FILES[name], headers=headers)


@router.get("/portal/{tenant}")
def bare(tenant: str) -> Response:
    return RedirectResponse(f"/portal/{tenant}/", status_code=308)


router.include_router(_signin.router)
router.include_router(_pages.router)
router.include_router(_requests.router)
router.include_router(_history.router)
router.include_router(_devices.router)


def portal_router(problem_of: ProblemOf) -> APIRouter:
    """The portal's pages; `problem_of` maps an error to the (status, slug) of its problem."""
    use_problems(problem_of)
    return router
