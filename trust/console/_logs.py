"""The consent log and the access log: searched by what a DPO asks ("this customer's consents
for marketing by SMS last month", "every refusal under this policy"), newest first behind a
cursor; each search is an act of oversight, decided and recorded before anything is shown.
The DPO exports either as CSV, streamed a page at a time, at high assurance."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from tessera import TesseraError
from tessera.consent import Channel, ConsentQuery, EventKind, InvalidEvent
from tessera.policies import Action, CallerKind
from tessera.trust._errors import StepUpRequired
from tessera.trust.audit import OUTCOMES, AccessQuery
from tessera.trust.web import ServicesDep, redirect, security_headers

from ._filters import cursor, is_identifier, period, subjects_of_identifier, text, who_of
from ._guard import Desk, base
from ._render import page, problem_page
from ._signin import Posted, posted, signed_in

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = ["router"]

router = APIRouter(prefix="/console/{tenant}", include_in_schema=False)
_PAGE = 50


def _consent_query(
    services: Services, tenant: str, form: dict[str, str]
) -> tuple[ConsentQuery, dict[str, Any], str]:
    who = who_of(services, tenant, form.get("who", ""))
    since, until = period(form)
    query = ConsentQuery(
        subjects=who.subjects,
        purpose=text(form, "purpose", 64),
        channel=text(form, "channel", 32),
        kind=text(form, "kind", 16),
        since=since,
        until=until,
        before=cursor(form),
        limit=_PAGE,
    )
    asked = {
        "who": who.given_as,
        "purpose": query.purpose,
        "channel": query.channel,
        "kind": query.kind,
        "since": form.get("since") or None,
        "until": form.get("until") or None,
        "before": query.before,
    }
    return query, {k: v for k, v in asked.items() if v is not None}, who.one


def _access_query(
    services: Services, tenant: str, form: dict[str, str]
) -> tuple[AccessQuery, dict[str, Any], str]:
    who = who_of(services, tenant, form.get("who", ""))
    since, until = period(form)
    query = AccessQuery(
        subjects=who.subjects,
        caller=text(form, "caller"),
        caller_kind=text(form, "caller_kind", 16),
        action=text(form, "action", 32),
        outcome=text(form, "outcome", 16),
        policy=text(form, "policy"),
        since=since,
        until=until,
        before=cursor(form),
        limit=_PAGE,
    )
    asked = {
        "who": who.given_as,
        "caller": query.caller,
        "caller_kind": query.caller_kind,
        "action": query.action,
        "outcome": query.outcome,
        "policy": query.policy,
        "since": form.get("since") or None,
        "until": form.get("until") or None,
        "before": query.before,
    }
    return query, {k: v for k, v in asked.items() if v is not None}, who.one


def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k != "lang"}


def _next_link(request: Request, form: dict[str, str], next_cursor: int | None) -> str | None:
    if next_cursor is None:
        return None
    return f"{request.url.path}?{urlencode({**form, 'before': next_cursor})}"


def _search_page(
    request: Request,
    services: Services,
    tenant: str,
    *,
    where: str,
    overseen: str,
    build: Callable[[Services, str, dict[str, str]], tuple[Any, dict[str, Any], str]],
    search: Callable[[Any], tuple[list[Any], int | None]],
    choices: dict[str, Any],
) -> Response:
    """A log's page: the search read from the address, decided and recorded as an act of
    oversight, then answered (or the problem said on the same page, nothing found)."""
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    form = _form(request)
    context: dict[str, Any] = {"form": form, **choices}
    try:
        query, asked, subject = build(services, tenant, form)
        services.gateway.oversee(
            desk.caller, Action.SEARCH_LOGS, overseen, auth=desk.auth, subject=subject, facts=asked
        )
        found, next_cursor = search(query)
    except TesseraError as exc:
        return problem_page(
            request, services, tenant, desk, exc, template=f"{where}.html", found=[], **context
        )
    return page(
        request,
        services,
        tenant,
        f"{where}.html",
        desk=desk,
        found=found,
        next_page=_next_link(request, form, next_cursor),
        export=f"{base(tenant)}/{where}.csv?{urlencode(form)}",
        **context,
    )


@router.get("/consents")
def consent_log(request: Request, tenant: str, services: ServicesDep) -> Response:
    return _search_page(
        request,
        services,
        tenant,
        where="consents",
        overseen="log:consent",
        build=_consent_query,
        search=lambda query: services.consents.search(tenant, query),
        choices={
            "purposes": sorted(services.catalogue.purposes(tenant)),
            "channels": [c.value for c in Channel],
            "kinds": [k.value for k in EventKind],
        },
    )


@router.get("/accesses")
def access_log(request: Request, tenant: str, services: ServicesDep) -> Response:
    return _search_page(
        request,
        services,
        tenant,
        where="accesses",
        overseen="log:access",
        build=_access_query,
        search=lambda query: services.audit.search(tenant, query),
        choices={
            "caller_kinds": [k.value for k in CallerKind],
            "actions": [a.value for a in Action],
            "outcomes": list(OUTCOMES),
        },
    )


async def _find(request: Request, tenant: str, services: Services, where: str) -> Response:
    """A search posted from the form: an e-mail or phone number is matched here, through the
    blind index, and the page comes back with the subject it names in its address (a personal
    value never is). Several customers sharing it are listed to choose from; none, said."""
    done = await posted(request, services, tenant)
    if not isinstance(done, Posted):
        return done
    wanted = {k: v for k, v in done.form.items() if k != "csrf" and v}
    given = wanted.get("who", "")
    if is_identifier(given):
        subjects = subjects_of_identifier(services, tenant, given)
        if len(subjects) != 1:
            return page(
                request,
                services,
                tenant,
                "choose.html",
                desk=done.desk,
                where=where,
                choices=[
                    f"{base(tenant)}/{where}?{urlencode({**wanted, 'who': s})}" for s in subjects
                ],
                subjects=subjects,
            )
        wanted["who"] = subjects[0]
    return redirect(f"{base(tenant)}/{where}?{urlencode(wanted)}")


@router.post("/consents")
async def consent_log_find(request: Request, tenant: str, services: ServicesDep) -> Response:
    return await _find(request, tenant, services, "consents")


@router.post("/accesses")
async def access_log_find(request: Request, tenant: str, services: ServicesDep) -> Response:
    return await _find(request, tenant, services, "accesses")


# ---------------------------------------------------------------------- exports
_CONSENT_COLUMNS = (
    "seq",
    "occurred_at",
    "recorded_at",
    "subject",
    "purpose",
    "kind",
    "channel",
    "notice_version",
    "expires_at",
    "evidence",
    "hash",
)
_ACCESS_COLUMNS = (
    "seq",
    "recorded_at",
    "kind",
    "subject",
    "caller",
    "caller_kind",
    "action",
    "purpose",
    "channel",
    "categories",
    "tokens",
    "outcome",
    "reason",
    "policies",
    "assurance",
)


def _csv(columns: tuple[str, ...], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV a line at a time (the browser shows the download's progress as it comes)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(columns)
    yield flush()
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % 200 == 0:
            yield flush()
    yield flush()


def _export(
    request: Request,
    services: Services,
    tenant: str,
    overseen: str,
    build: Callable[[Services, str, dict[str, str]], tuple[Any, dict[str, Any], str]],
    stream: Callable[[Any], Iterator[str]],
    filename: str,
) -> Response:
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    form = _form(request)
    try:
        query, asked, subject = build(services, tenant, form)
        services.gateway.oversee(
            desk.caller,
            Action.EXPORT_LOGS,
            overseen,
            auth=desk.auth,
            subject=subject,
            facts=asked,
        )
    except StepUpRequired:
        back_to = f"{request.url.path}?{urlencode(form)}"
        return redirect(f"{base(tenant)}/confirm?{urlencode({'next': back_to})}")
    except TesseraError as exc:
        return problem_page(request, services, tenant, desk, exc)
    headers = {
        **security_headers(),
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    return StreamingResponse(stream(query), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/consents.csv")
def consent_export(request: Request, tenant: str, services: ServicesDep) -> Response:
    def rows(query: ConsentQuery) -> Iterator[str]:
        events = services.consents.search_all(tenant, query)
        return _csv(
            _CONSENT_COLUMNS,
            (
                (
                    e.seq,
                    e.occurred_at.isoformat(),
                    e.recorded_at.isoformat(),
                    e.subject,
                    e.purpose,
                    e.kind.value,
                    e.channel.value,
                    e.notice_version,
                    e.expires_at.isoformat() if e.expires_at else "",
                    json.dumps(e.evidence, sort_keys=True),
                    e.hash,
                )
                for e in events
            ),
        )

    return _export(
        request,
        services,
        tenant,
        "log:consent",
        _consent_query,
        rows,
        f"consent-log-{tenant}.csv",
    )


@router.get("/accesses.csv")
def access_export(request: Request, tenant: str, services: ServicesDep) -> Response:
    def rows(query: AccessQuery) -> Iterator[str]:
        def every() -> Iterator[list[Any]]:
            page_query = query
            while True:
                entries, next_cursor = services.audit.search(tenant, page_query)
                for entry in entries:
                    b = entry.body
                    yield [
                        entry.seq,
                        entry.recorded_at.isoformat(),
                        b.get("kind"),
                        b.get("subject"),
                        b.get("caller"),
                        b.get("caller_kind"),
                        b.get("action"),
                        b.get("purpose"),
                        b.get("channel"),
                        " ".join(b.get("categories") or []),
                        " ".join(b.get("tokens") or []),
                        b.get("outcome"),
                        b.get("reason"),
                        " ".join(b.get("policies") or []),
                        b.get("assurance"),
                    ]
                if next_cursor is None:
                    return
                page_query = replace(query, before=next_cursor, limit=200)

        return _csv(_ACCESS_COLUMNS, every())

    return _export(
        request,
        services,
        tenant,
        "log:access",
        _access_query,
        rows,
        f"access-log-{tenant}.csv",
    )


@router.get("/consents/{seq}/receipt")
def consent_receipt(request: Request, tenant: str, seq: str, services: ServicesDep) -> Response:
    """The signed receipt of one event, as the customer was given it (a compact JWS)."""
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    try:
        if not seq.isdigit() or len(seq) > 18:
            raise InvalidEvent("an event is named by its number")
        wanted = int(seq)
        found, _ = services.consents.search(tenant, ConsentQuery(before=wanted + 1, limit=1))
        if not found or found[0].seq != wanted:
            raise InvalidEvent(f"there is no event {wanted}")
        event = found[0]
        services.gateway.oversee(
            desk.caller,
            Action.SEARCH_LOGS,
            "log:consent",
            auth=desk.auth,
            subject=event.subject,
            facts={"receipt": wanted},
        )
        receipt = services.receipts.issue(tenant, event)
    except TesseraError as exc:
        return problem_page(request, services, tenant, desk, exc)
    headers = {
        **security_headers(),
        "Content-Disposition": f'attachment; filename="receipt-{tenant}-{wanted}.jws"',
    }
    return Response(receipt, media_type="application/jose", headers=headers)
