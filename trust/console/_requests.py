"""The data-subject requests queue: every request with its kind, state, received and due
dates and the days left, overdue ones first; and the DPO's steps (verify the identity by hand
naming the evidence, extend or reject with a reason, execute), each through the request desk,
so decided by policy and recorded before it happens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tessera import Channel, TesseraError
from tessera.consent import DsrRequest
from tessera.policies import Action
from tessera.trust._errors import StepUpRequired
from tessera.trust.web import ServicesDep, language_of, redirect, status_of
from tessera.vault import InvalidValue

from ._guard import Desk, base
from ._render import message_for, page, problem_page
from ._signin import Posted, posted, signed_in

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = ["router"]

router = APIRouter(prefix="/console/{tenant}", include_in_schema=False)
_STEPS = ("verify", "extend", "reject", "execute")
_OPEN = ("received", "identity_verified", "in_progress")


@dataclass(frozen=True, slots=True)
class QueueRow:
    request: DsrRequest
    open: bool
    overdue: bool
    days_left: int | None  # negative once overdue; None once closed

    @property
    def order(self) -> tuple[int, float]:
        """Open ones first, the most urgent first; closed ones after, the latest first."""
        if self.open:
            return (0, self.request.due_at.timestamp())
        return (1, -self.request.received_at.timestamp())


def queue_order(requests: list[DsrRequest], at: dt.datetime) -> list[QueueRow]:
    rows = []
    for r in requests:
        open_ = r.state.value in _OPEN
        days = (r.due_at.date() - at.date()).days if open_ else None
        rows.append(QueueRow(r, open_, r.overdue(at), days))
    return sorted(rows, key=lambda row: row.order)


def _queue(
    request: Request, services: Services, desk: Desk, *, status: int = 200, **context: Any
) -> Response:
    services.gateway.oversee(desk.caller, Action.SEARCH_LOGS, "log:requests", auth=desk.auth)
    rows = queue_order(services.dsr.list(desk.tenant), desk.now())
    return page(
        request,
        services,
        desk.tenant,
        "requests.html",
        desk=desk,
        rows=rows,
        status=status,
        **context,
    )


@router.get("/requests")
def requests_queue(request: Request, tenant: str, services: ServicesDep) -> Response:
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    try:
        done = request.query_params.get("done", "")
        return _queue(request, services, desk, done=done if done in _STEPS else None)
    except TesseraError as exc:
        return problem_page(request, services, tenant, desk, exc)


@router.post("/requests/{dsr_id}/{step}")
async def request_step(
    request: Request, tenant: str, dsr_id: str, step: str, services: ServicesDep
) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    desk, form = done.desk, done.form
    desk_ = services.requests
    try:
        if step not in _STEPS:
            raise InvalidValue("unknown step")
        text = form.get("text", "").strip()
        if step in ("extend", "reject") and not text:
            raise InvalidValue("say why")
        if len(text) > 500:
            raise InvalidValue("at most 500 characters")
        dsr_id = dsr_id[:40]
        if step == "verify":
            desk_.verify_by_hand(desk.caller, dsr_id, text, channel=Channel.WEB, auth=desk.auth)
        elif step == "extend":
            desk_.extend(desk.caller, dsr_id, text, channel=Channel.WEB, auth=desk.auth)
        elif step == "reject":
            desk_.reject(desk.caller, dsr_id, text, channel=Channel.WEB, auth=desk.auth)
        else:
            desk_.execute(desk.caller, dsr_id, channel=Channel.WEB, auth=desk.auth)
    except StepUpRequired:
        return redirect(f"{base(tenant)}/confirm?next={base(tenant)}/requests")
    except TesseraError as exc:
        try:
            said = message_for(language_of(request), exc)
            return _queue(request, services, desk, status=status_of(exc), error=said)
        except TesseraError as again:
            return problem_page(request, services, tenant, desk, again)
    return redirect(f"{base(tenant)}/requests?done={step}")
