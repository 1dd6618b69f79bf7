"""My requests (GDPR Art. 15-21): access and portability (downloaded as JSON or CSV), erasure
(after a warning, a confirmation and a step-up), rectification, restriction and objection; each
with its state and due date. Every step goes through the `RequestDesk` as the customer, with
their own session, so Cedar decides and the audit log records it, exactly as over the API.

A request is made only from a session proven strongly within the RTS inactivity limit: the
customer is sent to confirm it is them first, and comes back to the same form.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tessera import Channel, TesseraError
from tessera.consent import DsrKind, DsrNotFound, LegalBasis, export_csv
from tessera.policies import Action
from tessera.trust.gateway import AccessRequest, AuthContext
from tessera.vault import InvalidValue

from ._forms import Posted, confirm_first, not_found, posted, problem_page, signed_in
from ._guard import SESSION_COOKIE, ServicesDep, Visit, base, security_headers
from ._i18n import N_, language_of
from ._pages import _name
from ._render import gettext, page, redirect
from ._words import CATEGORIES, OTHER_DATA, REQUEST_KINDS, REQUEST_STATES

if TYPE_CHECKING:
    from tessera.consent import DsrRequest
    from tessera.trust._services import Services

__all__ = ["router"]

router = APIRouter(prefix="/portal/{tenant}", include_in_schema=False)

_KINDS = {k.value: k for k in DsrKind}


def _auth(visit: Visit) -> AuthContext:
    return AuthContext(session_id=visit.session_id)


def _rows(services: Services, visit: Visit, lang: str) -> list[dict[str, Any]]:
    rows = []
    for r in reversed(services.dsr.list(visit.tenant, subject=visit.subject)):
        rows.append(
            {
                "id": r.id,
                "kind": gettext(lang, REQUEST_KINDS[r.kind.value]),
                "state": gettext(lang, REQUEST_STATES[r.state.value]),
                "received": r.received_at,
                "due": r.due_at,
                "completed": r.completed_at,
                "exportable": r.kind in (DsrKind.ACCESS, DsrKind.PORTABILITY)
                and r.state.value == "completed"
                and not r.details.get("delivered_at"),
                "delivered": r.details.get("delivered_at"),
            }
        )
    return rows


@router.get("/requests")
def requests_page(request: Request, tenant: str, services: ServicesDep) -> Response:
    visit = signed_in(request, services, tenant)
    if not isinstance(visit, Visit):
        return visit
    lang = language_of(request)
    return page(
        request,
        services,
        tenant,
        "requests.html",
        visit=visit,
        rows=_rows(services, visit, lang),
        kinds=[
            (k, gettext(lang, REQUEST_KINDS[k])) for k in ("access", "portability", "restriction")
        ],
        form_id=secrets.token_urlsafe(12),
    )


def _objectionable(services: Services, tenant: str, lang: str) -> list[tuple[str, str]]:
    return [
        (p.id, _name(p.names, lang, p.id))
        for p in sorted(services.catalogue.purposes(tenant).values(), key=lambda p: p.id)
        if p.legal_basis in (LegalBasis.LEGITIMATE_INTEREST, LegalBasis.CONSENT)
    ]


def _my_data(services: Services, visit: Visit, lang: str) -> list[tuple[str, str]]:
    """The customer's values, masked, to choose which to correct: read through the gateway as
    them (decided and recorded)."""
    held = services.vault.subject_tokens(visit.tenant, visit.subject)
    categories = tuple(sorted({t.category.value for t in held} - {"card_pan"}))
    if not categories:
        return []
    result = services.gateway.access(
        visit.caller,
        AccessRequest(
            action=Action.READ_MASKED,
            purpose="dsr",
            channel=Channel.WEB,
            subject=visit.subject,
            categories=categories,
            auth=_auth(visit),
        ),
    )
    return [
        (i.token, f"{gettext(lang, CATEGORIES.get(i.category, OTHER_DATA))} · {i.value}")
        for i in result.items
    ]


@router.get("/requests/new/{kind}")
def new_request(request: Request, tenant: str, kind: str, services: ServicesDep) -> Response:
    """The form of one kind of request (erasure's with its warning)."""
    visit = signed_in(request, services, tenant)
    if not isinstance(visit, Visit):
        return visit
    lang = language_of(request)
    if kind not in _KINDS:
        return not_found(request, services, visit, N_("We found no such request."))
    confirm = confirm_first(services, visit, request.url.path)
    if confirm is not None:
        return confirm
    try:
        choices = _my_data(services, visit, lang) if kind == "rectification" else []
    except TesseraError as exc:
        return problem_page(request, services, visit, exc)
    return page(
        request,
        services,
        tenant,
        "request_new.html",
        visit=visit,
        kind=kind,
        title=gettext(lang, REQUEST_KINDS[kind]),
        purposes=_objectionable(services, tenant, lang) if kind == "objection" else [],
        data=choices,
        form_id=secrets.token_urlsafe(12),
    )


@router.post("/requests")
async def make_request(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    visit, form, lang = done.visit, done.form, done.lang
    kind = _KINDS.get(form.get("kind", ""))
    try:
        if kind is None:
            raise InvalidValue("unknown request kind")
        confirm = confirm_first(services, visit, f"{base(tenant)}/requests/new/{kind.value}")
        if confirm is not None:
            return confirm
        if kind is DsrKind.ERASURE and form.get("understood") != "yes":
            return page(
                request,
                services,
                tenant,
                "request_new.html",
                visit=visit,
                status=422,
                kind=kind.value,
                title=gettext(lang, REQUEST_KINDS[kind.value]),
                purposes=[],
                data=[],
                form_id=form.get("form", ""),
                error=gettext(lang, N_("Tick the box to say you understand what erasure does.")),
            )
        details = _details(kind, form)
        nonce = form.get("form", "")[:24]
        desk, caller = services.requests, visit.caller
        opened = desk.open(
            caller,
            visit.subject,
            kind,
            channel=Channel.WEB,
            details=details,
            auth=_auth(visit),
            idempotency_key=f"portal:{nonce}" if nonce else None,
        )
        if opened.state.value == "received":
            desk.verify_by_session(caller, opened.id, visit.session_id, channel=Channel.WEB)
            opened = services.dsr.get(tenant, opened.id)
        if opened.state.value in ("identity_verified", "in_progress"):
            desk.execute(caller, opened.id, channel=Channel.WEB, auth=_auth(visit))
    except TesseraError as exc:
        return problem_page(request, services, visit, exc)
    if kind is DsrKind.ERASURE:
        # Everything is gone, the session's customer with it: sign out, and say what was done.
        with contextlib.suppress(TesseraError):  # already ended with the subject's erasure
            services.authenticator.end_session(tenant, visit.session_id)
        response = page(request, services, tenant, "erased.html", status=200)
        response.delete_cookie(SESSION_COOKIE, path=base(tenant))
        return response
    return redirect(f"{base(tenant)}/requests?done={opened.id}")


def _details(kind: DsrKind, form: dict[str, str]) -> dict[str, Any]:
    if kind is DsrKind.RECTIFICATION:
        token, value = form.get("token", ""), form.get("value", "").strip()
        if not token or not value:
            raise InvalidValue("choose what to correct and type the correct value")
        return {"token": token[:80], "value": value[:500]}
    if kind is DsrKind.OBJECTION:
        purpose = form.get("purpose", "")
        if not purpose:
            raise InvalidValue("choose what you object to")
        return {"purposes": [purpose[:64]]}
    return {}


def _own_request(services: Services, visit: Visit, dsr_id: str) -> DsrRequest:
    found = services.dsr.get(visit.tenant, dsr_id[:40])
    if found.subject != visit.subject:
        raise DsrNotFound("no such request")  # another customer's: the same answer as none
    return found


@router.post("/requests/{dsr_id}/export")
async def export(request: Request, tenant: str, dsr_id: str, services: ServicesDep) -> Response:
    """The copy of an access or portability request, downloaded once, as JSON or CSV."""
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    visit, form = done.visit, done.form
    try:
        own = _own_request(services, visit, dsr_id)
        confirm = confirm_first(services, visit, f"{base(tenant)}/requests")
        if confirm is not None:
            return confirm
        data = services.requests.export(
            visit.caller, own.id, channel=Channel.WEB, auth=_auth(visit)
        )
    except TesseraError as exc:
        return problem_page(request, services, visit, exc)
    if form.get("format") == "csv":
        body, media, suffix = export_csv(data), "text/csv; charset=utf-8", "csv"
    else:
        body, media, suffix = (
            json.dumps(data, indent=2, ensure_ascii=False),
            "application/json",
            "json",
        )
    headers = {
        **security_headers(),
        "Content-Disposition": f'attachment; filename="my-data-{own.id}.{suffix}"',
    }
    return Response(body, media_type=media, headers=headers)
