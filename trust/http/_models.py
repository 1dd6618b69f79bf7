"""Request and response models that several routers share: what a channel observed of the end
user, and a step-up challenge (the auth and payments routers both begin one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from tessera import Assurance, Channel
from tessera.auth import Challenge, Observation
from tessera.trust.gateway import AuthContext
from tessera.vault import InvalidValue

from ._dependencies import Strict

__all__ = [
    "CHANNELS",
    "MAX_POSITION",
    "AuthContextIn",
    "ChallengeOut",
    "FromDomain",
    "ObservationIn",
    "SubjectPath",
    "auth_context_of",
    "one_of",
]

Short = Field(default=None, max_length=512)


def one_of(values: Iterable[str]) -> Callable[[dict[str, Any]], None]:
    """Document a text field's closed list as an enum (its string branch, when it may be
    null). Validation stays the domain's, whose 422 problem names the choices: request bodies
    are strict, and a strict enum field would refuse the JSON text it is sent as."""
    choices = sorted(values)

    def document(schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "array":
                branch = branch["items"]
            if branch.get("type") == "string":
                branch["enum"] = choices

    return document


# Every channel a conversation runs on: one published list, for consent, auth and payments.
CHANNELS = tuple(c.value for c in Channel)

# The largest position or size a query may name: what a JSON number holds exactly.
MAX_POSITION = 2**53 - 1
# A subject id in a path, as the vault accepts it (`tessera.vault.check_subject`): declared,
# so that clients and fuzzers know it and a wrong one is a validation error of the request.
SubjectPath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9_.:\-]{1,128}$",
        description="the customer's id in the tenant's systems (1-128 of A-Z a-z 0-9 _ . : -)",
    ),
]


class FromDomain(BaseModel):
    """A response read off a domain object's attributes of the same names, not copied field by
    field: a field added to both is answered without touching the route."""

    model_config = ConfigDict(from_attributes=True)


class ObservationIn(Strict):
    """What the channel saw of the end user; each field is optional, none is trusted as safe."""

    channel: StrictStr = Field(max_length=32, json_schema_extra=one_of(CHANNELS))
    ip: StrictStr | None = Field(default=None, max_length=64)
    user_agent: StrictStr | None = Short
    device_id: StrictStr | None = Field(default=None, max_length=256)
    caller_number: StrictStr | None = Field(default=None, max_length=32)
    attestation: StrictStr | None = Field(default=None, max_length=1)
    sim_swapped: bool | None = Field(
        default=None, description="a recent SIM change on the calling line, from the operator"
    )
    sender_id: StrictStr | None = Field(default=None, max_length=256)
    typing_ms: StrictFloat | StrictInt | None = None

    def observed(self, at: dt.datetime) -> Observation:
        """At `at`, the server's clock (`Services.clock`): a client's time is not evidence."""
        return Observation(
            channel=self.channel,
            at=at,
            ip=self.ip,
            user_agent=self.user_agent,
            device_id=self.device_id,
            caller_number=self.caller_number,
            attestation=self.attestation,
            sim_swapped=self.sim_swapped,
            sender_id=self.sender_id,
            typing_ms=self.typing_ms,
        )


class ChallengeOut(BaseModel):
    challenge_id: str
    factor: str
    target: str
    expires_at: dt.datetime
    options: dict[str, Any] | None = None
    sent_to: str | None = None

    @classmethod
    def of(cls, challenge: Challenge) -> ChallengeOut:
        return cls(
            challenge_id=challenge.id,
            factor=challenge.kind,
            target=challenge.target.name.lower(),
            expires_at=challenge.expires_at,
            options=challenge.options,
            sent_to=challenge.sent_to,
        )


class AuthContextIn(Strict):
    session_id: StrictStr | None = Field(
        default=None, max_length=128, description="the end user's session (from /v1/auth)"
    )
    assurance: StrictStr | None = Field(
        default=None, description="low, substantial or high; only with the auth:assert scope"
    )


def auth_context_of(body: AuthContextIn | None) -> AuthContext | None:
    """The end user's authentication as the gateway takes it."""
    if body is None:
        return None
    level = None
    if body.assurance is not None:
        try:
            level = Assurance.parse(body.assurance)
        except ValueError as exc:
            raise InvalidValue(str(exc)) from None
    if level is None and body.session_id is None:
        raise InvalidValue("auth_context needs a session_id (or an asserted assurance)")
    return AuthContext(assurance=level, session_id=body.session_id)
