"""The console's home: what needs the DPO now (open and overdue requests), the way to each
page their role opens, and adding a passkey for high assurance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tessera.trust.web import ServicesDep

from ._guard import Desk
from ._render import PAGES_OF, page
from ._signin import signed_in

__all__ = ["router"]

router = APIRouter(prefix="/console/{tenant}", include_in_schema=False)


@router.get("/")
def home(request: Request, tenant: str, services: ServicesDep) -> Response:
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    pages = PAGES_OF.get(desk.member.role.value, ())
    counts = None
    if "requests" in pages:
        now = desk.now()
        open_ = [
            r
            for r in services.dsr.list(tenant)
            if r.state.value in ("received", "identity_verified", "in_progress")
        ]
        counts = {"open": len(open_), "overdue": sum(1 for r in open_ if r.overdue(now))}
    passkeys = [
        f
        for f in services.authenticator.factors(tenant, desk.member.subject)
        if f.kind == "webauthn"
    ]
    return page(
        request,
        services,
        tenant,
        "home.html",
        desk=desk,
        pages=pages,
        counts=counts,
        has_passkey=any(f.status == "active" for f in passkeys),
        notice_passkey=request.query_params.get("passkey") == "1",
    )
