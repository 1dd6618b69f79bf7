"""The signed-in pages about consent: the overview, "my consents" (give, withdraw, object, with
the receipt shown at once), and receipts (shown in plain words, downloaded as JWS, verified)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tessera import Channel, TesseraError
from tessera.consent import (
    ConsentEvent,
    ConsentRequest,
    EventKind,
    LegalBasis,
    Purpose,
    verify_receipt,
)
from tessera.trust._errors import RequestTooLarge
from tessera.vault import InvalidValue, check_tenant

from ._forms import Posted, not_found, posted, problem_page, signed_in
from ._guard import (
    ServicesDep,
    Visit,
    base,
    check_csrf,
    pre_session,
    read_form,
    security_headers,
    session_ref,
    visit_of,
)
from ._i18n import N_, language_of
from ._render import gettext, message_for, page, redirect, status_of
from ._words import (
    A_CHOICE,
    ANOTHER_BASIS,
    ANOTHER_CHANNEL,
    CHANNELS,
    EVENTS,
    LEGAL_BASES,
)

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = ["router"]

router = APIRouter(prefix="/portal/{tenant}", include_in_schema=False)

RECEIPT_LIMIT = 64 * 1024  # a receipt is a few kilobytes
_ORDER = {LegalBasis.CONSENT: 0, LegalBasis.LEGITIMATE_INTEREST: 1}
_CHOICES = {
    "given": EventKind.GIVEN,
    "withdrawn": EventKind.WITHDRAWN,
    "objected": EventKind.OBJECTED,
}


@router.get("/")
def home(request: Request, tenant: str, services: ServicesDep) -> Response:
    visit = signed_in(request, services, tenant)
    if not isinstance(visit, Visit):
        return visit
    return page(request, services, tenant, "home.html", visit=visit)


@dataclass(frozen=True, slots=True)
class PurposeView:
    id: str
    name: str
    description: str
    basis: str
    state: str
    channel: str
    since: Any
    allowed: bool
    renewal: bool
    choices: tuple[tuple[str, str], ...]
    sale_or_sharing: bool
    policy_url: str | None


def _name(texts: dict[str, str], lang: str, fallback: str) -> str:
    return texts.get(lang) or texts.get("en") or fallback


def _purpose_view(services: Services, visit: Visit, purpose: Purpose, lang: str) -> PurposeView:
    decision = services.consents.may_we(visit.tenant, visit.subject, purpose.id)
    event = decision.deciding_event
    consent_based = purpose.legal_basis is LegalBasis.CONSENT
    choices: list[tuple[str, str]] = []
    if consent_based:
        if decision.allowed and not decision.needs_renewal:
            choices.append(("withdrawn", gettext(lang, N_("Withdraw my consent"))))
        else:
            choices.append(("given", gettext(lang, N_("Give my consent"))))
    elif purpose.legal_basis is LegalBasis.LEGITIMATE_INTEREST:
        if event is not None and event.kind is EventKind.OBJECTED:
            choices.append(("given", gettext(lang, N_("Withdraw my objection"))))
        else:
            choices.append(("objected", gettext(lang, N_("Object"))))
    if event is None:
        state = gettext(lang, N_("No choice recorded")) if consent_based else ""
    else:
        state = gettext(lang, EVENTS[event.kind.value])
    return PurposeView(
        id=purpose.id,
        name=_name(purpose.names, lang, purpose.id),
        description=_name(purpose.descriptions, lang, ""),
        basis=gettext(lang, LEGAL_BASES[purpose.legal_basis.value]),
        state=state,
        channel=gettext(lang, CHANNELS.get(event.channel.value, ANOTHER_CHANNEL)) if event else "",
        since=event.occurred_at if event else None,
        allowed=decision.allowed,
        renewal=decision.needs_renewal,
        choices=tuple(choices),
        sale_or_sharing=purpose.sale_or_sharing,
        policy_url=purpose.policy_url,
    )


@router.get("/consents")
def consents(request: Request, tenant: str, services: ServicesDep) -> Response:
    visit = signed_in(request, services, tenant)
    if not isinstance(visit, Visit):
        return visit
    lang = language_of(request)
    gpc = request.headers.getlist("sec-gpc")
    honoured = services.consents.honour_gpc(tenant, visit.subject, channel=Channel.WEB, signals=gpc)
    # The choices to make first, then what can be objected to, then what needs no choice.
    purposes = sorted(
        services.catalogue.purposes(tenant).values(),
        key=lambda p: (_ORDER.get(p.legal_basis, 2), p.names.get(lang, p.id)),
    )
    views = [_purpose_view(services, visit, p, lang) for p in purposes]
    return page(
        request,
        services,
        tenant,
        "consents.html",
        visit=visit,
        purposes=views,
        gpc=any(v.strip() == "1" for v in gpc),
        gpc_recorded=len(honoured),
        form_id=secrets.token_urlsafe(12),
    )


@router.post("/consents")
async def change_consent(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    visit, form = done.visit, done.form
    try:
        kind = _CHOICES.get(form.get("choice", ""))
        if kind is None:
            raise InvalidValue("unknown choice")
        purpose = services.catalogue.get(tenant, form.get("purpose", "")[:64])
        nonce = form.get("form", "")[:24]
        event = services.consents.record(
            tenant,
            ConsentRequest(
                subject=visit.subject,
                purpose=purpose.id,
                kind=kind,
                channel=Channel.WEB,
                evidence={
                    "form_id": "portal/consents",
                    "session_id": session_ref(visit.session_id),
                },
                notice_version=purpose.notice_version,
                # One form, one choice: submitting it twice records it once.
                idempotency_key=f"portal:{visit.subject}:{nonce}" if nonce else None,
            ),
        )
    except TesseraError as exc:
        return problem_page(request, services, visit, exc)
    return redirect(f"{base(tenant)}/receipts/{event.id}?new=1")


# ---------------------------------------------------------------------- receipts
def _own_event(services: Services, visit: Visit, event_id: str) -> ConsentEvent | None:
    if not event_id.startswith("cev_") or len(event_id) > 40:
        return None
    return next(
        (e for e in services.consents.history(visit.tenant, visit.subject) if e.id == event_id),
        None,
    )


@router.get("/receipts")
def receipts(request: Request, tenant: str, services: ServicesDep) -> Response:
    visit = signed_in(request, services, tenant)
    if not isinstance(visit, Visit):
        return visit
    lang = language_of(request)
    events = list(reversed(services.consents.history(tenant, visit.subject)))
    offset = _offset(request)
    shown = events[offset : offset + _PAGE]
    purposes = services.catalogue.purposes(tenant)
    rows = [
        {
            "id": e.id,
            "purpose": _name(purposes[e.purpose].names, lang, e.purpose)
            if e.purpose in purposes
            else e.purpose,
            "kind": gettext(lang, EVENTS[e.kind.value]),
            "channel": gettext(lang, CHANNELS.get(e.channel.value, ANOTHER_CHANNEL)),
            "at": e.occurred_at,
        }
        for e in shown
    ]
    return page(
        request,
        services,
        tenant,
        "receipts.html",
        visit=visit,
        rows=rows,
        older=offset + _PAGE if offset + _PAGE < len(events) else None,
        newer=max(offset - _PAGE, 0) if offset else None,
    )


_PAGE = 25


def _offset(request: Request) -> int:
    given = request.query_params.get("from", "0")
    return min(int(given), 1_000_000) if given.isdigit() else 0


def _receipt_words(
    services: Services, tenant: str, record: dict[str, Any], lang: str
) -> dict[str, Any]:
    """A receipt's record, as a person reads it."""
    import datetime as dt

    event = record.get("event", {})
    service = (record.get("services") or [{}])[0]
    purpose_id = service.get("service", "")
    purposes = services.catalogue.purposes(tenant)
    name = (
        _name(purposes[purpose_id].names, lang, purpose_id)
        if purpose_id in purposes
        else purpose_id
    )
    controllers = record.get("piiControllers") or [{}]
    return {
        "id": record.get("consentReceiptID", ""),
        "controller": controllers[0].get("piiController", ""),
        "purpose": name,
        "kind": gettext(lang, EVENTS.get(str(event.get("type")), A_CHOICE)),
        "channel": gettext(lang, CHANNELS.get(str(event.get("channel")), ANOTHER_CHANNEL)),
        "at": dt.datetime.fromtimestamp(int(record.get("consentTimestamp", 0)), dt.UTC),
        "notice": event.get("noticeVersion"),
        "basis": gettext(lang, LEGAL_BASES.get(str(record.get("lawfulBasis")), ANOTHER_BASIS)),
        "seq": (record.get("ledger") or {}).get("seq"),
    }


@router.get("/receipts/verify")
def verify_page(request: Request, tenant: str, services: ServicesDep) -> Response:
    check_tenant(tenant)
    return page(request, services, tenant, "verify.html", visit=visit_of(request, services, tenant))


@router.post("/receipts/verify")
async def verify(request: Request, tenant: str, services: ServicesDep) -> Response:
    """A receipt pasted or uploaded: checked against this tenant's public key, as anyone could
    offline. Signed in or not: a receipt holds nothing its holder does not already have."""
    check_tenant(tenant)
    lang = language_of(request)
    visit = visit_of(request, services, tenant)
    try:
        text, csrf = await _uploaded(request)
        if visit is not None:
            visit.check({"csrf": csrf or ""})
        else:
            check_csrf(services, tenant, pre_session(request)[0], csrf)
        record = verify_receipt(text.strip(), services.receipts.public_jwk(tenant))
    except TesseraError as exc:  # too large (413), not ours or changed (422), no token (403)
        return page(
            request,
            services,
            tenant,
            "verify.html",
            visit=visit,
            status=status_of(exc),
            error=message_for(lang, exc),
        )
    return page(
        request,
        services,
        tenant,
        "verify.html",
        visit=visit,
        verified=_receipt_words(services, tenant, record, lang),
    )


async def _uploaded(request: Request) -> tuple[str, str | None]:
    """The receipt from a pasted text or an uploaded file (multipart), within the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > RECEIPT_LIMIT:
        raise RequestTooLarge(f"a receipt is at most {RECEIPT_LIMIT} bytes")
    body = await request.body()
    if len(body) > RECEIPT_LIMIT:
        raise RequestTooLarge(f"a receipt is at most {RECEIPT_LIMIT} bytes")
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        text = ""
        if upload is not None and not isinstance(upload, str):
            raw = await upload.read(RECEIPT_LIMIT + 1)
            text = raw.decode("utf-8", "replace")
        pasted = form.get("receipt")
        if not text.strip() and isinstance(pasted, str):
            text = pasted
        csrf = form.get("csrf")
        return text, csrf if isinstance(csrf, str) else None
    fields = await read_form(request, limit=RECEIPT_LIMIT)
    return fields.get("receipt", ""), fields.get("csrf")


@router.get("/receipts/{event_id}")
def receipt(request: Request, tenant: str, event_id: str, services: ServicesDep) -> Response:
    visit = signed_in(request, services, tenant)
    if not isinstance(visit, Visit):
        return visit
    lang = language_of(request)
    event = _own_event(services, visit, event_id)
    if event is None:  # another customer's, or none: the same answer
        return not_found(request, services, visit, N_("We found no such receipt."))
    record = services.receipts.payload(tenant, event)
    return page(
        request,
        services,
        tenant,
        "receipt.html",
        visit=visit,
        receipt=_receipt_words(services, tenant, record, lang),
        new=request.query_params.get("new") == "1",
    )


@router.get("/receipts/{event_id}/download")
def download_receipt(
    request: Request, tenant: str, event_id: str, services: ServicesDep
) -> Response:
    visit = signed_in(request, services, tenant)
    if not isinstance(visit, Visit):
        return visit
    event = _own_event(services, visit, event_id)
    if event is None:
        return not_found(request, services, visit, N_("We found no such receipt."))
    signed = services.receipts.issue(tenant, event)
    headers = {
        **security_headers(),
        "Content-Disposition": f'attachment; filename="receipt-{event.id}.jws"',
    }
    return Response(signed, media_type="application/jose", headers=headers)
