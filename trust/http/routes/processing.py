"""HTTP API of the record of processing activities (GDPR Art. 30): `/v1/processing-record`,
generated from the purposes, policies, data and audit trail of the caller's tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from tessera.trust.http._dependencies import CallerDep, ServicesDep
from tessera.trust.identity import Scope
from tessera.trust.processing import as_csv, as_html, as_json, processing_record

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["processing record"])


_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the record, in the format asked",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
}


@router.get("/processing-record", response_model=None, responses=_FORMATS)
def get_processing_record(
    caller: CallerDep,
    services: ServicesDep,
    format: Literal["json", "csv", "html"] = "json",
    days: int = Query(default=365, ge=1, le=3660),
) -> dict[str, Any] | Response:
    """The tenant's record of processing, derived from what is enforced (scope `audit:read`)."""
    caller.require(Scope.AUDIT)
    record = processing_record(
        services, caller.tenant, since=services.clock() - dt.timedelta(days=days)
    )
    if format == "csv":
        return PlainTextResponse(as_csv(record), media_type="text/csv; charset=utf-8")
    if format == "html":
        return HTMLResponse(as_html(record))
    return as_json(record)
