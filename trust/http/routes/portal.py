"""HTTP API of the customer portal: `/v1/portal/links`, a link sent to a customer in a
conversation (chat, call, messaging) that opens their privacy space; the step-up still follows.

The caller (an agent desktop, a bot; scope `auth`) names the customer and the channel; the
link goes to the customer's registered destination, and the caller learns only where it went,
masked: it never holds the link.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field, StrictStr

from tessera.trust.http._dependencies import CallerDep, ServicesDep, Strict
from tessera.trust.identity import Scope
from tessera.trust.portal import link_message

__all__ = ["router"]

router = APIRouter(prefix="/v1/portal", tags=["portal"])


class LinkIn(Strict):
    subject: StrictStr = Field(max_length=128)
    channel: Literal["sms", "email", "messaging"]
    language: Literal["fr", "en"] = "fr"


class PortalLinkOut(BaseModel):
    sent_to: str
    expires_at: dt.datetime


@router.post("/links", response_model=PortalLinkOut, status_code=status.HTTP_201_CREATED)
def send_link(body: LinkIn, caller: CallerDep, services: ServicesDep) -> PortalLinkOut:
    """Send the customer a single-use link (15 minutes) to their privacy space."""
    caller.require(Scope.AUTH)
    message = link_message(body.language)
    sent = services.portal_links.send(caller.tenant, body.subject, body.channel, message=message)
    return PortalLinkOut(sent_to=sent.sent_to, expires_at=sent.expires_at)
