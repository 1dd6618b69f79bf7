"""Data-subject requests (GDPR Art. 15-21) as gateway actions.

Every step, opening, verifying the requester's identity, extending, rejecting, carrying out and
downloading the export, is decided by Cedar (purpose `dsr`) and recorded in the audit log
before it happens; a refusal is recorded too. The identity is verified by authentication: a
live session of the same subject at substantial assurance or above, or, for a request made on
paper or by phone, a DPO's verification by hand that names its evidence. The export's values
and an erasure go through `Gateway.access` (`export`, `erase`), decided and recorded again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tessera import Assurance, Channel
from tessera.auth import Authenticator, StrongAuthRequired
from tessera.consent import (
    DataSubjectRights,
    DsrKind,
    DsrRequest,
    IdentityNotVerified,
    InvalidEvent,
)
from tessera.policies import AccessContext, Action, PolicyOutcome, Resource
from tessera.trust._errors import AuthContextRequired
from tessera.trust.audit import AuditRecord
from tessera.trust.identity import Caller, Scope
from tessera.vault import DataCategory, mask

from ._gateway import (
    AccessRequest,
    AccessResult,
    AuthContext,
    Gateway,
    _parse,
    decision_facts,
    refused,
)

__all__ = ["RequestDesk"]

DSR_PURPOSE = "dsr"
_MAX_EVIDENCE = 500


class RequestDesk:
    """The one way in to data-subject requests: `DataSubjectRights` keeps their state; this
    decides who may move them, records each step, and lends the gateway for their data."""

    def __init__(
        self, *, gateway: Gateway, dsr: DataSubjectRights, sessions: Authenticator | None
    ) -> None:
        self.gateway = gateway
        self.dsr = dsr
        self.sessions = sessions

    # ------------------------------------------------------------------ the steps
    def open(
        self,
        caller: Caller,
        subject: str,
        kind: DsrKind | str,
        *,
        channel: Channel | str,
        details: Mapping[str, Any] | None = None,
        auth: AuthContext | None = None,
        idempotency_key: str | None = None,
    ) -> DsrRequest:
        """A retry with the same `idempotency_key` and request answers the request opened the
        first time (no second one, no second record); another request under it is a 409."""
        caller.require(Scope.DSR)
        kind = _parse(DsrKind, kind, "request kind")
        if idempotency_key is not None:
            seen = self.dsr.replayed(caller.tenant, idempotency_key, subject, kind, details or {})
            if seen is not None:
                return seen
        dsr_id = self.dsr.new_id()
        self._decide(caller, Action.OPEN_REQUEST, subject, kind, dsr_id, "open", channel, auth)
        return self.dsr.open(
            caller.tenant,
            subject,
            kind,
            details=details,
            request_id=dsr_id,
            idempotency_key=idempotency_key,
        )

    def verify_by_session(
        self, caller: Caller, dsr_id: str, session_id: str, *, channel: Channel | str
    ) -> DsrRequest:
        """The requester proved who they are by authenticating: a live session of the same
        subject at substantial assurance or above (any step-up factor they hold)."""
        caller.require(Scope.DSR)
        request = self.dsr.get(caller.tenant, dsr_id)
        if self.sessions is None:
            raise AuthContextRequired("sessions are not available in this deployment")
        info = self.sessions.session(caller.tenant, session_id)
        facts = {
            "method": "session",
            "session_assurance": info.assurance.name.lower(),
            "factors": list(info.factors),
        }
        if info.subject != request.subject:
            self._record_session_proof(
                caller,
                request,
                channel,
                PolicyOutcome.DENY,
                "the session belongs to another subject",
                facts,
            )
            raise IdentityNotVerified("the session belongs to another customer than the request's")
        if info.assurance < Assurance.SUBSTANTIAL:
            self._record_session_proof(
                caller,
                request,
                channel,
                PolicyOutcome.DENY,
                "the session is below substantial",
                facts,
            )
            raise StrongAuthRequired(
                "verifying a request's identity needs a session stepped up to substantial"
            )
        self._record_session_proof(caller, request, channel, PolicyOutcome.ALLOW, "allowed", facts)
        factors = ", ".join(info.factors) or "none"
        return self.dsr.verify_identity(
            caller.tenant,
            dsr_id,
            verified_by=f"session at {info.assurance.name.lower()} ({factors})",
        )

    def verify_by_hand(
        self,
        caller: Caller,
        dsr_id: str,
        evidence: str,
        *,
        channel: Channel | str,
        auth: AuthContext | None,
    ) -> DsrRequest:
        """A request received on paper or by phone: the DPO verifies the identity themselves,
        naming the evidence (never a copy of it), under policy and at high assurance."""
        caller.require(Scope.DSR)
        if not isinstance(evidence, str) or not evidence.strip():
            raise InvalidEvent("a verification by hand names its evidence")
        if len(evidence) > _MAX_EVIDENCE:
            raise InvalidEvent(f"the evidence is described in at most {_MAX_EVIDENCE} characters")
        request = self.dsr.get(caller.tenant, dsr_id)
        self._decide(
            caller,
            Action.VERIFY_IDENTITY,
            request.subject,
            request.kind,
            dsr_id,
            "verify",
            channel,
            auth,
            {"method": "by_hand", "evidence": evidence.strip()},
        )
        return self.dsr.verify_identity(
            caller.tenant, dsr_id, verified_by=f"by hand ({caller.key_id}): {evidence.strip()}"
        )

    def extend(
        self,
        caller: Caller,
        dsr_id: str,
        reason: str,
        *,
        channel: Channel | str,
        auth: AuthContext | None,
    ) -> DsrRequest:
        request = self._manage(caller, dsr_id, "extend", channel, auth)
        return self.dsr.extend(caller.tenant, request.id, reason=reason)

    def reject(
        self,
        caller: Caller,
        dsr_id: str,
        reason: str,
        *,
        channel: Channel | str,
        auth: AuthContext | None,
    ) -> DsrRequest:
        request = self._manage(caller, dsr_id, "reject", channel, auth)
        return self.dsr.reject(caller.tenant, request.id, reason=reason)

    def execute(
        self, caller: Caller, dsr_id: str, *, channel: Channel | str, auth: AuthContext | None
    ) -> dict[str, Any]:
        caller.require(Scope.DSR)
        request = self.dsr.get(caller.tenant, dsr_id)
        if request.identity_verified_at is None:
            raise IdentityNotVerified(
                "the requester's identity is not verified: nothing is released or changed"
            )
        self._decide(
            caller,
            Action.EXECUTE_REQUEST,
            request.subject,
            request.kind,
            dsr_id,
            "execute",
            channel,
            auth,
        )
        return self.dsr.execute(
            caller.tenant, dsr_id, data=_ThroughTheGateway(self, caller, channel, auth)
        )

    def export(
        self, caller: Caller, dsr_id: str, *, channel: Channel | str, auth: AuthContext | None
    ) -> dict[str, Any]:
        """The export of an access or portability request, released once, through the
        gateway's `export` (the subject's own session, or a DPO at high assurance)."""
        caller.require(Scope.DSR)
        return self.dsr.export(
            caller.tenant, dsr_id, data=_ThroughTheGateway(self, caller, channel, auth)
        )

    # ------------------------------------------------------------------ decisions
    def _manage(
        self,
        caller: Caller,
        dsr_id: str,
        step: str,
        channel: Channel | str,
        auth: AuthContext | None,
    ) -> DsrRequest:
        caller.require(Scope.DSR)
        request = self.dsr.get(caller.tenant, dsr_id)
        self._decide(
            caller,
            Action.MANAGE_REQUEST,
            request.subject,
            request.kind,
            dsr_id,
            step,
            channel,
            auth,
        )
        return request

    def _decide(
        self,
        caller: Caller,
        action: Action,
        subject: str,
        kind: DsrKind,
        dsr_id: str,
        step: str,
        channel: Channel | str,
        auth: AuthContext | None,
        extra: Mapping[str, Any] | None = None,
    ) -> AccessResult:
        """Decide one step by policy and record it (refusals too); raise unless allowed."""
        channel = _parse(Channel, channel, "channel")
        assurance, session_subject = self.gateway.assurance_of(caller, auth)
        facts = {
            "policy_action": action.value,
            "assurance": assurance.name.lower(),
            "session": session_subject is not None,
            **(extra or {}),
        }
        if session_subject is not None and session_subject != subject:
            result = AccessResult(
                PolicyOutcome.DENY,
                "the end user's session belongs to another customer",
                ("session-subject",),
            )
        else:
            result = self.gateway.decide_one(
                caller,
                action,
                Resource(caller.tenant, subject, f"request:{kind.value}"),
                AccessContext(
                    purpose=DSR_PURPOSE,
                    channel=channel.value,
                    assurance=assurance,
                    legal_basis="legal_obligation",
                    lawful=True,
                    hour=self.gateway.clock().hour,
                ),
                session_subject=session_subject,
            )
        seq = self._write(caller, subject, kind, dsr_id, step, channel, result, facts)
        result = replace(result, audit_seq=seq)
        if not result.allowed:
            raise refused(result)
        return result

    def _record_session_proof(
        self,
        caller: Caller,
        request: DsrRequest,
        channel: Channel | str,
        outcome: PolicyOutcome,
        reason: str,
        facts: Mapping[str, Any],
    ) -> int:
        """A verification by session, passed or refused. Not a policy: the proof is the
        authentication itself."""
        result = AccessResult(outcome, reason, ("identity-by-session",))
        return self._write(
            caller,
            request.subject,
            request.kind,
            request.id,
            "verify",
            _parse(Channel, channel, "channel"),
            result,
            facts,
        )

    def _write(
        self,
        caller: Caller,
        subject: str,
        kind: DsrKind,
        dsr_id: str,
        step: str,
        channel: Channel,
        result: AccessResult,
        facts: Mapping[str, Any],
    ) -> int:
        body = {
            "caller": caller.key_id,
            "caller_kind": caller.kind,
            "action": f"dsr_{step}",
            "purpose": DSR_PURPOSE,
            "channel": channel.value,
            "categories": [],
            "tokens": [],
            "request": dsr_id,
            "request_kind": kind.value,
            **facts,
            **decision_facts(result),  # a step releases nothing: its result holds no items
        }
        record = AuditRecord(caller.tenant, "dsr", body, subject=subject)
        return self.gateway.audit.record([record])[0]


class _ThroughTheGateway:
    """`SubjectData` for one caller and authentication: the request's values and erasure go
    through `Gateway.access`, which decides by policy and records before it acts."""

    def __init__(
        self,
        desk: RequestDesk,
        caller: Caller,
        channel: Channel | str,
        auth: AuthContext | None,
    ) -> None:
        self.desk = desk
        self.caller = caller
        self.channel = channel
        self.auth = auth

    def _categories(self, request: DsrRequest) -> tuple[str, ...]:
        held = self.desk.gateway.vault.subject_tokens(self.caller.tenant, request.subject)
        found = sorted({t.category.value for t in held})
        if found:
            return tuple(found)
        purpose = self.desk.gateway.catalogue.get(self.caller.tenant, DSR_PURPOSE)
        return tuple(sorted(purpose.data_categories))

    def _access(self, request: DsrRequest, action: Action) -> AccessResult:
        result = self.desk.gateway.access(
            self.caller,
            AccessRequest(
                action=action,
                purpose=DSR_PURPOSE,
                channel=self.channel,
                subject=request.subject,
                categories=self._categories(request),
                auth=self.auth,
            ),
        )
        if not result.allowed:
            raise refused(result)
        return result

    def release(self, request: DsrRequest) -> list[dict[str, str]]:
        result = self._access(request, Action.EXPORT)
        return [
            {
                "token": item.token,
                "category": item.category,
                # A card number leaves masked, even to its holder (PCI DSS v4.0 3.4.1).
                "value": mask(DataCategory.CARD_PAN, item.value)
                if item.category == DataCategory.CARD_PAN.value
                else item.value,
            }
            for item in result.items
        ]

    def erase(self, request: DsrRequest) -> dict[str, Any]:
        result = self._access(request, Action.ERASE)
        if not result.erasures:
            return {"erased_at": None, "keys_destroyed": 0, "items_destroyed": 0}
        erasure = result.erasures[0]
        return {
            "erased_at": erasure.erased_at.isoformat(),
            "keys_destroyed": erasure.keys_destroyed,
            "items_destroyed": erasure.items_destroyed,
            "audit_seq": result.audit_seq,
        }

    def rectify(self, request: DsrRequest, token: str, value: str) -> dict[str, Any]:
        # Decided and recorded as `execute_request` just before; the new value is not recorded.
        record = self.desk.gateway.vault.rectify(
            self.caller.tenant, token, value, subject=request.subject
        )
        return {"rectified": record.token, "category": record.category.value}
