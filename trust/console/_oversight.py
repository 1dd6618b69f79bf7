"""Verification and the record of processing: the consent chain and the audit log checked on
demand, with a visible result (intact up to which entry, the last signed checkpoint and its
time, or the first entry that fails), against a checkpoint the DPO kept; and the record of
processing (Art. 30) generated from what is enforced, as a page that prints well."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tessera import TesseraError
from tessera.consent import ChainBroken, InvalidReceipt, verify_head
from tessera.policies import Action
from tessera.trust._errors import AuditTampered
from tessera.trust.processing import as_csv, as_html, as_json, processing_record
from tessera.trust.web import ServicesDep, security_headers
from tessera.vault import InvalidValue

from ._guard import Desk
from ._render import guarded, page, problem_page
from ._signin import Posted, posted, signed_in

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = ["KEPT_FORMAT", "router"]

router = APIRouter(prefix="/console/{tenant}", include_in_schema=False)
KEPT_FORMAT = "tessera-console-checkpoint/1"


@router.get("/verify")
def verify_page(request: Request, tenant: str, services: ServicesDep) -> Response:
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    return page(request, services, tenant, "verify.html", desk=desk, result=None)


def _kept(services: Services, tenant: str, text: str) -> tuple[dict[str, Any], tuple[int, str]]:
    """A checkpoint the DPO kept: the audit log's signed checkpoint and the ledger's signed
    head, both of this tenant, both checked against its keys."""
    try:
        kept = json.loads(text)
    except ValueError:
        raise AuditTampered("the checkpoint you gave is not JSON") from None
    if not isinstance(kept, dict) or kept.get("format") != KEPT_FORMAT:
        raise AuditTampered("this is not a checkpoint downloaded from the console")
    audit, consent = kept.get("audit"), kept.get("consent")
    if not isinstance(audit, dict) or not isinstance(consent, str):
        raise AuditTampered("the checkpoint holds no audit checkpoint or ledger head")
    try:
        head = verify_head(consent, services.receipts.public_jwk(tenant))
    except InvalidReceipt as exc:
        raise ChainBroken(f"the ledger head you kept does not verify: {exc}", seq=0) from None
    if head.get("tenant") != tenant:
        raise ChainBroken("the ledger head you kept belongs to another tenant", seq=0)
    return audit, (int(head["seq"]), str(head["hash"]))


@router.post("/verify")
async def verify(request: Request, tenant: str, services: ServicesDep) -> Response:
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    desk, form = done.desk, done.form
    text = form.get("kept", "").strip()

    def act() -> Response:
        services.gateway.oversee(
            desk.caller,
            Action.VERIFY_LOGS,
            "log:consent",
            auth=desk.auth,
            facts={"against_kept": bool(text)},
        )
        result: dict[str, Any] = {"kept": None}
        trusted_audit: dict[str, Any] | None = None
        trusted_head: tuple[int, str] | None = None
        if text:
            try:
                trusted_audit, trusted_head = _kept(services, tenant, text)
                result["kept"] = "used"
            except (AuditTampered, ChainBroken) as exc:
                # Said as such; the logs are still checked, without claiming they extend it.
                result["kept"], result["kept_error"] = "refused", str(exc)
        try:
            report = services.consents.verify(tenant, trusted=trusted_head)
            result["consent"] = {"ok": True, "events": report.events, "head": report.head}
        except ChainBroken as exc:
            result["consent"] = {"ok": False, "detail": str(exc), "seq": exc.seq}
        try:
            audited = services.audit.verify(tenant, trusted=trusted_audit)
            at = audited["checkpoint"].get("at")
            signed_at = dt.datetime.fromisoformat(at) if isinstance(at, str) else None
            result["audit"] = {"ok": True, **audited, "signed_at": signed_at}
        except AuditTampered as exc:
            result["audit"] = {"ok": False, "detail": str(exc), "seq": exc.seq}
        return page(request, services, tenant, "verify.html", desk=desk, result=result)

    return guarded(request, services, tenant, desk, act)


@router.get("/verify/checkpoint")
def download_checkpoint(request: Request, tenant: str, services: ServicesDep) -> Response:
    """A checkpoint to keep (outside Tessera): the log must extend it when checked later."""
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk

    def act() -> Response:
        services.gateway.oversee(
            desk.caller,
            Action.VERIFY_LOGS,
            "log:access",
            auth=desk.auth,
            facts={"checkpoint": "download"},
        )
        checkpoint = services.audit.checkpoint(tenant)
        seq, head = services.consents.head(tenant)
        kept = {
            "format": KEPT_FORMAT,
            "tenant": tenant,
            "audit": checkpoint,
            "consent": services.receipts.sign_head(tenant, seq, head),
        }
        headers = {
            **security_headers(),
            "Content-Disposition": f'attachment; filename="checkpoint-{tenant}-'
            f'{checkpoint["size"]}.json"',
        }
        return Response(json.dumps(kept, indent=2), media_type="application/json", headers=headers)

    return guarded(request, services, tenant, desk, act)


@router.get("/record")
def record_page(request: Request, tenant: str, services: ServicesDep) -> Response:
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    try:
        services.gateway.oversee(
            desk.caller, Action.READ_RECORD, "record:processing", auth=desk.auth
        )
        record = processing_record(services, tenant)
    except TesseraError as exc:
        return problem_page(request, services, tenant, desk, exc)
    return page(request, services, tenant, "record.html", desk=desk, record=record)


_FORMATS = {
    "html": ("text/html; charset=utf-8", as_html),
    "json": ("application/json", lambda record: json.dumps(as_json(record), indent=2)),
    "csv": ("text/csv; charset=utf-8", as_csv),
}


@router.get("/record/download")
def record_download(request: Request, tenant: str, services: ServicesDep) -> Response:
    """The record as a file to keep or send (the HTML prints on its own)."""
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    chosen = request.query_params.get("format", "html")

    def act() -> Response:
        if chosen not in _FORMATS:
            raise InvalidValue("format is html, json or csv")
        services.gateway.oversee(
            desk.caller,
            Action.READ_RECORD,
            "record:processing",
            auth=desk.auth,
            facts={"format": chosen},
        )
        media, render = _FORMATS[chosen]
        headers = {
            **security_headers(),
            "Content-Disposition": f'attachment; filename="record-of-processing-{tenant}.{chosen}"',
        }
        return Response(
            render(processing_record(services, tenant)), media_type=media, headers=headers
        )

    return guarded(request, services, tenant, desk, act)
