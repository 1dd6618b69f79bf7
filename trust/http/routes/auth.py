"""HTTP API of invisible strong authentication: `/v1/auth/*`.

Channels (scope `auth`) assess sign-ins, run step-ups and enrol factors for their customers;
operators (scope `auth:manage`) bind code destinations and caller numbers and read decisions.
Session ids are bearer secrets: they travel in bodies, never in URLs.
"""

from __future__ import annotations

import base64
import datetime as dt
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from tessera.auth import (
    STRONG_METHODS,
    Assessment,
    DeviceProof,
    IssuedSession,
    SessionInfo,
)
from tessera.policies import Assurance
from tessera.trust.http._dependencies import CallerDep, ServicesDep, Strict
from tessera.trust.http._models import ChallengeOut, FromDomain, ObservationIn, SubjectPath
from tessera.trust.http._pages import CursorQuery, LimitQuery, Page, page_of
from tessera.trust.identity import Scope
from tessera.vault import InvalidValue

__all__ = ["router"]

router = APIRouter(prefix="/v1/auth", tags=["auth"])

Short = Field(default=None, max_length=512)
StepUpFactor = Literal["totp", "webauthn", "otp", "app"]


class DeviceProofIn(Strict):
    key_id: StrictStr = Field(max_length=40)
    nonce_id: StrictStr = Field(max_length=40)
    signature: StrictStr = Field(max_length=400)


class AssessIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": "cust_12345",
                    "action": "login",
                    "observation": {
                        "channel": "app",
                        "ip": "86.200.12.34",
                        "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
                        "device_id": "install-7f3c2a9e",
                    },
                },
                {
                    "subject": "cust_12345",
                    "action": "pay",
                    "scope": "payment",
                    "observation": {
                        "channel": "voice_agent",
                        "caller_number": "+33612345678",
                        "attestation": "A",
                        "sim_swapped": False,
                    },
                },
            ]
        }
    )

    subject: StrictStr = Field(max_length=128)
    action: Literal["login", "read", "detokenize", "pay"] = "login"
    scope: Literal["account", "payment"] = "account"
    observation: ObservationIn
    device_proof: DeviceProofIn | None = None


class SessionOut(BaseModel):
    session_id: str
    subject: str
    assurance: str
    scope: str
    expires_at: dt.datetime
    idle_timeout_s: int


class AssessOut(BaseModel):
    decision_id: str
    decision: str
    score: float
    explanation: str
    contributions: dict[str, float]
    step_up_factors: list[str] = Field(
        description="what the customer can step up with; never a factor that travels over a "
        "channel the risk is about (no code by SMS after a SIM swap)"
    )
    next_step: Literal["agent_checks"] | None = Field(
        default=None,
        description="after a denial, where the customer can still go: an agent's stronger "
        "checks when every factor they hold travels over the channel at risk",
    )
    session: SessionOut | None


class StrongAuthIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": "cust_12345",
                    "method": "passkey",
                    "authenticated_at": "2026-11-30T08:12:44+01:00",
                    "event_id": "idp-evt-7c1f0a",
                    "observation": {
                        "channel": "web",
                        "ip": "86.200.12.34",
                        "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1",
                        "device_id": "cookie-5d1e",
                    },
                }
            ]
        }
    )

    subject: StrictStr = Field(max_length=128)
    method: Literal[STRONG_METHODS] = Field(  # type: ignore[valid-type]
        description="how the provider authenticated: two factors or a phishing-resistant one"
    )
    authenticated_at: Annotated[AwareDatetime, Field(strict=False)] = Field(
        description="when (ISO 8601 with its offset); not in the future, within the retention"
    )
    event_id: StrictStr | None = Field(
        default=None, max_length=128, description="the provider's id of the event: counted once"
    )
    observation: ObservationIn


class StrongAuthOut(BaseModel):
    id: str
    subject: str
    profile_sessions: int = Field(description="strong sessions the customer's profile now holds")


class NonceIn(Strict):
    subject: StrictStr = Field(max_length=128)


class BeginIn(Strict):
    decision_id: StrictStr | None = Field(default=None, max_length=40)
    session_id: StrictStr | None = Field(default=None, max_length=128)
    target: Literal["substantial", "high"] | None = None
    channel: Literal["sms", "email", "messaging"] | None = None
    locale: Literal["en", "fr"] = Field(
        default="en", description="the customer's language, for a one-time code's message"
    )


class CompleteIn(Strict):
    challenge_id: StrictStr = Field(max_length=40)
    code: StrictStr | None = Field(default=None, max_length=12)
    credential: dict[str, Any] | None = None


class SessionStateOut(BaseModel):
    subject: str
    assurance: str
    scope: str
    factors: list[str]
    expires_at: dt.datetime
    last_seen_at: dt.datetime


class CompleteOut(BaseModel):
    session: SessionOut | None  # a new session, when the step-up answered a risk decision
    state: SessionStateOut


class SessionIn(Strict):
    session_id: StrictStr = Field(max_length=128)


class EnrolIn(Strict):
    session_id: StrictStr = Field(max_length=128)
    label: StrictStr = Field(default="", max_length=100)


class TotpOut(BaseModel):
    factor_id: str
    otpauth_uri: str
    secret: str
    qr_svg: str


class TotpConfirmIn(Strict):
    session_id: StrictStr = Field(max_length=128)
    factor_id: StrictStr = Field(max_length=40)
    code: StrictStr = Field(max_length=12)


class PasskeyCompleteIn(Strict):
    challenge_id: StrictStr = Field(max_length=40)
    credential: dict[str, Any]


class VoicePinIn(Strict):
    session_id: StrictStr = Field(max_length=128)
    pin: StrictStr = Field(
        max_length=12, description="six digits, not one digit repeated nor a run", repr=False
    )


class DeviceKeyIn(Strict):
    session_id: StrictStr = Field(max_length=128)
    public_key: StrictStr = Field(max_length=400, description="DER SubjectPublicKeyInfo, base64")
    label: StrictStr = Field(default="app", max_length=100)


class FactorOut(FromDomain):
    id: str
    kind: str
    label: str
    status: str
    channel: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class DestinationIn(Strict):
    subject: StrictStr = Field(max_length=128)
    channel: Literal["sms", "email", "messaging"]
    token: StrictStr = Field(max_length=64, description="the vault token of a phone or email")
    label: StrictStr = Field(default="", max_length=100)


class BindingIn(Strict):
    subject: StrictStr = Field(max_length=128)
    kind: Literal["caller", "sender"]
    identifier: StrictStr = Field(max_length=256)


class RiskDecisionOut(BaseModel):
    id: str
    subject: str
    action: str
    channel: str
    scope: str
    score: float
    decision: str
    status: str
    explanation: str
    contributions: dict[str, float]
    created_at: dt.datetime
    resolved_at: dt.datetime | None


class ThresholdsOut(BaseModel):
    step_up: float
    deny: float


def _session_out(issued: IssuedSession | None) -> SessionOut | None:
    if issued is None:
        return None
    return SessionOut(
        session_id=issued.id,
        subject=issued.subject,
        assurance=issued.assurance.name.lower(),
        scope=issued.scope,
        expires_at=issued.expires_at,
        idle_timeout_s=issued.idle_timeout_s,
    )


def _state_out(info: SessionInfo) -> SessionStateOut:
    return SessionStateOut(
        subject=info.subject,
        assurance=info.assurance.name.lower(),
        scope=info.scope,
        factors=list(info.factors),
        expires_at=info.expires_at,
        last_seen_at=info.last_seen_at,
    )


def _assess_out(result: Assessment) -> AssessOut:
    return AssessOut(
        decision_id=result.decision_id,
        decision=result.decision.value,
        score=round(result.score, 3),
        explanation=result.explanation,
        contributions={k: round(v, 3) for k, v in result.contributions.items()},
        step_up_factors=list(result.factors),
        next_step=result.next_step,  # type: ignore[arg-type]
        session=_session_out(result.session),
    )


@router.post("/assess", response_model=AssessOut)
async def assess(
    body: AssessIn, request: Request, who: CallerDep, services: ServicesDep
) -> AssessOut:
    """Score a sign-in or sensitive action: allow silently, ask for a step-up, or deny."""
    who.require(Scope.AUTH)
    seen = body.observation
    proof = body.device_proof
    run = partial(
        services.authenticator.assess,
        who.tenant,
        body.subject,
        seen.observed(services.clock()),
        action=body.action,
        scope=body.scope,
        device_proof=DeviceProof(proof.key_id, proof.nonce_id, proof.signature) if proof else None,
    )
    # As the gateway's access: on SQLite the few statements of a decision take less than a hop
    # to a worker thread (and the GIL contention of many), so it runs right here.
    result = run() if request.app.state.access_on_event_loop else await run_in_threadpool(run)
    return _assess_out(result)


@router.post("/strong-authentications", response_model=StrongAuthOut, status_code=201)
def report_strong_authentication(
    body: StrongAuthIn, who: CallerDep, services: ServicesDep
) -> StrongAuthOut:
    """Report a strong authentication your own identity provider did (scope `auth:assert`).

    Profiles learn only from strong authentications: a step-up passed here, or one reported
    this way, with the signals of that session and its time. A login history can be loaded by
    reporting its strong sessions; a low-risk sign-in that was let through teaches nothing.
    """
    who.require(Scope.AUTH_ASSERT)
    report = services.authenticator.report_strong_authentication(
        who.tenant,
        body.subject,
        body.observation.observed(body.authenticated_at),
        method=body.method,
        event_id=body.event_id,
    )
    return StrongAuthOut(id=report.id, subject=report.subject, profile_sessions=report.sessions)


@router.post("/device-nonce", response_model=ChallengeOut)
def device_nonce(body: NonceIn, who: CallerDep, services: ServicesDep) -> ChallengeOut:
    """A single-use nonce for the app's device-bound key to sign (2 minutes)."""
    who.require(Scope.AUTH)
    return ChallengeOut.of(services.authenticator.device_nonce(who.tenant, body.subject))


@router.post("/step-up/{factor}/begin", response_model=ChallengeOut)
def begin_step_up(
    factor: StepUpFactor,
    body: BeginIn,
    who: CallerDep,
    services: ServicesDep,
) -> ChallengeOut:
    """Start a second factor for a risk decision, or to raise a session's assurance."""
    who.require(Scope.AUTH)
    challenge = services.authenticator.begin_step_up(
        who.tenant,
        factor,
        decision_id=body.decision_id,
        session_id=body.session_id,
        target=Assurance.parse(body.target) if body.target else None,
        channel=body.channel,
        locale=body.locale,
    )
    return ChallengeOut.of(challenge)


@router.post("/step-up/{factor}/complete", response_model=CompleteOut)
def complete_step_up(
    factor: StepUpFactor,
    body: CompleteIn,
    who: CallerDep,
    services: ServicesDep,
) -> CompleteOut:
    """Answer a step-up challenge; the session's assurance rises when the answer is right."""
    who.require(Scope.AUTH)
    if factor in ("webauthn", "app") and body.credential is None:
        raise InvalidValue(
            f"a {factor} step-up is completed with a credential"
            + (" (key_id and signature)" if factor == "app" else "")
        )
    if factor in ("totp", "otp") and body.code is None:
        raise InvalidValue(f"a {factor} step-up is completed with a code")
    issued, info = services.authenticator.complete_step_up(
        who.tenant, body.challenge_id, code=body.code, credential=body.credential, factor=factor
    )
    return CompleteOut(session=_session_out(issued), state=_state_out(info))


@router.post("/sessions/inspect", response_model=SessionStateOut)
def inspect_session(body: SessionIn, who: CallerDep, services: ServicesDep) -> SessionStateOut:
    """The session's assurance and expiry; counts as activity."""
    who.require(Scope.AUTH)
    return _state_out(services.authenticator.session(who.tenant, body.session_id))


@router.post("/sessions/end", status_code=204)
def end_session(body: SessionIn, who: CallerDep, services: ServicesDep) -> None:
    """End the end user's session: its assurance no longer counts for any access."""
    who.require(Scope.AUTH)
    services.authenticator.end_session(who.tenant, body.session_id)


@router.post("/factors/totp", response_model=TotpOut, status_code=201)
def enrol_totp(body: EnrolIn, who: CallerDep, services: ServicesDep) -> TotpOut:
    """A pending TOTP factor (QR code included); a first code confirms it."""
    who.require(Scope.AUTH)
    enrolment = services.authenticator.enrol_totp(
        who.tenant, body.session_id, body.label or "authenticator app"
    )
    return TotpOut(
        factor_id=enrolment.factor_id,
        otpauth_uri=enrolment.uri,
        secret=enrolment.secret,
        qr_svg=enrolment.qr_svg,
    )


@router.post("/factors/totp/confirm", response_model=FactorOut)
def confirm_totp(body: TotpConfirmIn, who: CallerDep, services: ServicesDep) -> FactorOut:
    """Confirm an authenticator app with its first code; only then does it count as a factor."""
    who.require(Scope.AUTH)
    return FactorOut.model_validate(
        services.authenticator.confirm_totp(who.tenant, body.session_id, body.factor_id, body.code)
    )


@router.post("/factors/passkey/begin", response_model=ChallengeOut)
def begin_passkey(body: EnrolIn, who: CallerDep, services: ServicesDep) -> ChallengeOut:
    """Begin a passkey registration: the options the customer's browser signs."""
    who.require(Scope.AUTH)
    return ChallengeOut.of(
        services.authenticator.begin_passkey(who.tenant, body.session_id, body.label or "passkey")
    )


@router.post("/factors/passkey/complete", response_model=FactorOut, status_code=201)
def complete_passkey(body: PasskeyCompleteIn, who: CallerDep, services: ServicesDep) -> FactorOut:
    """Complete a passkey registration with the browser's attestation."""
    who.require(Scope.AUTH)
    return FactorOut.model_validate(
        services.authenticator.complete_passkey(who.tenant, body.challenge_id, body.credential)
    )


@router.post("/factors/device", response_model=FactorOut, status_code=201)
def register_device(body: DeviceKeyIn, who: CallerDep, services: ServicesDep) -> FactorOut:
    """Bind an app installation's Ed25519 or P-256 key (needs a fresh strong session)."""
    who.require(Scope.AUTH)
    try:
        der = base64.b64decode(body.public_key, validate=True)
    except ValueError:
        raise InvalidValue("public_key must be base64 (DER SubjectPublicKeyInfo)") from None
    return FactorOut.model_validate(
        services.authenticator.register_device_key(who.tenant, body.session_id, der, body.label)
    )


@router.post("/factors/voice-pin", response_model=FactorOut, status_code=201)
def set_voice_pin(body: VoicePinIn, who: CallerDep, services: ServicesDep) -> FactorOut:
    """Set the customer's voice PIN (from a fresh strong session): the knowledge of a payment
    made by voice, kept as an argon2id hash sealed under the customer's key."""
    who.require(Scope.AUTH)
    return FactorOut.model_validate(
        services.authenticator.set_voice_pin(who.tenant, body.session_id, body.pin)
    )


@router.post("/destinations", response_model=FactorOut, status_code=201)
def register_destination(body: DestinationIn, who: CallerDep, services: ServicesDep) -> FactorOut:
    """Bind the customer's vaulted phone or email as a one-time-code destination."""
    who.require(Scope.AUTH_MANAGE)
    return FactorOut.model_validate(
        services.authenticator.register_destination(
            who.tenant, body.subject, body.channel, body.token, body.label
        )
    )


@router.post("/bindings", response_model=FactorOut, status_code=201)
def bind(body: BindingIn, who: CallerDep, services: ServicesDep) -> FactorOut:
    """Register the customer's caller number (voice) or messaging sender id (kept hashed)."""
    who.require(Scope.AUTH_MANAGE)
    return FactorOut.model_validate(
        services.authenticator.bind_caller(who.tenant, body.subject, body.kind, body.identifier)
    )


class FactorPage(Page[FactorOut]):
    pass


@router.get("/subjects/{subject_id}/factors", response_model=FactorPage)
def list_factors(
    subject_id: SubjectPath,
    who: CallerDep,
    services: ServicesDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """The customer's registered factors, never their secrets."""
    who.require(Scope.AUTH_MANAGE)
    factors = services.authenticator.factors(who.tenant, subject_id)
    return page_of([FactorOut.model_validate(f) for f in factors], limit, cursor)


@router.delete("/subjects/{subject_id}/factors/{factor_id}", status_code=204)
def revoke_factor(
    subject_id: SubjectPath, factor_id: str, who: CallerDep, services: ServicesDep
) -> None:
    """Revoke one of the customer's factors; it no longer answers a step-up."""
    who.require(Scope.AUTH_MANAGE)
    services.authenticator.revoke_factor(who.tenant, subject_id, factor_id)


@router.get("/decisions/{decision_id}", response_model=RiskDecisionOut)
def explain_decision(decision_id: str, who: CallerDep, services: ServicesDep) -> RiskDecisionOut:
    """Why a sign-in was allowed, stepped up or denied, in words and per signal."""
    who.require(Scope.AUTH_MANAGE)
    d = services.authenticator.decision(who.tenant, decision_id)
    return RiskDecisionOut(
        id=d.id,
        subject=d.subject,
        action=d.action,
        channel=d.channel,
        scope=d.scope,
        score=d.score,
        decision=d.decision,
        status=d.status,
        explanation=d.explanation,
        contributions=d.contributions,
        created_at=d.created_at,
        resolved_at=d.resolved_at,
    )


@router.get("/thresholds", response_model=dict[str, ThresholdsOut])
def thresholds(who: CallerDep, services: ServicesDep) -> dict[str, ThresholdsOut]:
    """The caller's tenant's risk thresholds per action (TESSERA_AUTH_THRESHOLDS)."""
    who.require(Scope.AUTH_MANAGE)
    table = services.authenticator.settings.thresholds_for(who.tenant)
    return {a.value: ThresholdsOut(step_up=t.step_up, deny=t.deny) for a, t in table.items()}
