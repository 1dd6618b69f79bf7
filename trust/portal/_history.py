"""Who used my data: the audit trail about the customer, in plain words: when, which kind of
service or person, for which purpose, what was done, allowed or refused, under which policy.
Filtered by period and purpose, a page at a time (it grows with every access)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tessera import TesseraError

from ._forms import signed_in
from ._guard import ServicesDep, Visit
from ._i18n import language_of
from ._pages import _name
from ._render import gettext, message_for, page, status_of
from ._words import (
    ACTIONS,
    CALLERS,
    CATEGORIES,
    OTHER_DATA,
    OUTCOMES,
    RECORDED,
    SOME_SYSTEM,
    SOME_USE,
    policy_words,
)

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = ["router"]

router = APIRouter(prefix="/portal/{tenant}", include_in_schema=False)

PAGE = 25
_PERIODS = {"30": 30, "90": 90, "365": 365}


def _policies(ids: list[str], lang: str) -> str:
    words = []
    for pid in ids:
        known = policy_words(pid)
        words.append(gettext(lang, known) if known else pid.replace("-", " ").replace("_", " "))
    return "; ".join(dict.fromkeys(words))


def _entry(
    services: Services,
    visit: Visit,
    body: dict[str, Any],
    lang: str,
    purposes: dict[str, Any],
    names: dict[str, str],
) -> dict[str, Any]:
    kind = str(body.get("caller_kind", "service"))
    who = gettext(lang, CALLERS.get(kind, SOME_SYSTEM))
    service = names.get(str(body.get("caller", "")))
    purpose_id = str(body.get("purpose", ""))
    purpose = purposes.get(purpose_id)
    categories = [gettext(lang, CATEGORIES.get(c, OTHER_DATA)) for c in body.get("categories", [])]
    return {
        "who": who,
        "service": service if kind != "customer" else None,
        "what": gettext(lang, ACTIONS.get(str(body.get("action", "")), SOME_USE)),
        "categories": ", ".join(categories),
        "purpose": _name(purpose.names, lang, purpose_id) if purpose else purpose_id,
        "outcome": gettext(lang, OUTCOMES.get(str(body.get("outcome", "")), RECORDED)),
        "allowed": body.get("outcome") == "allow",
        "policies": _policies([str(p) for p in body.get("policies", [])], lang),
        "channel": body.get("channel"),
    }


@router.get("/activity")
def activity(request: Request, tenant: str, services: ServicesDep) -> Response:
    visit = signed_in(request, services, tenant)
    if not isinstance(visit, Visit):
        return visit
    lang = language_of(request)
    period = request.query_params.get("period", "")
    purpose = request.query_params.get("purpose", "")
    before_given = request.query_params.get("before", "")
    before = int(before_given) if before_given.isdigit() and len(before_given) < 19 else None
    purposes = services.catalogue.purposes(tenant)
    since = (
        services.authenticator.clock() - dt.timedelta(days=_PERIODS[period])
        if period in _PERIODS
        else None
    )
    try:
        entries, older = services.audit.subject_page(
            tenant,
            visit.subject,
            before=before,
            since=since,
            purpose=purpose if purpose in purposes else None,
            limit=PAGE,
        )
    except TesseraError as exc:  # a forged entry, or the store down: say so, show nothing
        return page(
            request,
            services,
            tenant,
            "message.html",
            visit=visit,
            status=status_of(exc),
            error=message_for(lang, exc),
        )
    names = {k.id: k.name for k in services.identity.list_keys(tenant)}
    rows = [
        {"at": e.recorded_at, **_entry(services, visit, e.body, lang, purposes, names)}
        for e in entries
    ]
    return page(
        request,
        services,
        tenant,
        "activity.html",
        visit=visit,
        rows=rows,
        older=older,
        period=period if period in _PERIODS else "",
        purpose=purpose if purpose in purposes else "",
        purposes=[
            (p.id, _name(p.names, lang, p.id))
            for p in sorted(purposes.values(), key=lambda p: p.id)
        ],
    )
