"""The gateway: every access to customer data, in-process or over HTTP, goes through `access`.

caller identity and tenant → purpose limitation → legal basis and consent → policy (Cedar) →
required assurance (a step-up challenge, not a denial) → vault → audit record. The audit record
is written before anything is released: if it cannot be written, nothing is (fail closed).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import trace

from tessera.auth import Authenticator
from tessera.consent import Catalogue, Channel, ConsentLedger
from tessera.policies import (
    AccessContext,
    Action,
    Assurance,
    CallerKind,
    PolicyEngine,
    PolicyOutcome,
    Principal,
    Resource,
)
from tessera.storage import utcnow
from tessera.trust._errors import AccessDenied, AuthContextRequired, StepUpRequired
from tessera.trust.audit import AuditLog, AuditRecord
from tessera.trust.identity import Caller, Scope
from tessera.trust.telemetry import stage
from tessera.vault import (
    Erasure,
    InvalidValue,
    Sealed,
    UnknownSubject,
    Vault,
    mask,
    parse_category,
)

if TYPE_CHECKING:
    from ._reidentify import Form, Reidentified

__all__ = [
    "AccessRequest",
    "AccessResult",
    "AuthContext",
    "Gateway",
    "ReleasedItem",
]

# Actions that change or reveal more than a masked view need the session's assurance.
_NEEDS_AUTH = frozenset({Action.DETOKENIZE, Action.EXPORT, Action.ERASE, Action.PAY})
_MAX_ITEMS = 1000
# What the DPO console's acts of oversight are for (GDPR Art. 5(2), accountability): not a
# purpose of the catalogue, since no customer data is used for it, only the logs about it.
OVERSIGHT_PURPOSE = "oversight"

_tracer = trace.get_tracer("tessera.gateway")


def _stage(name: str) -> AbstractContextManager[None]:
    return stage(_tracer, name)


@dataclass(frozen=True, slots=True)
class AuthContext:
    """The end user's authentication: a Tessera session id (its assurance is looked up), or
    an assurance level asserted by a trusted identity provider (scope `auth:assert`)."""

    assurance: Assurance | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class AccessRequest:
    action: Action | str
    purpose: str
    channel: Channel | str
    subject: str | None = None
    categories: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    auth: AuthContext | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReleasedItem:
    token: str
    category: str
    subject: str | None
    value: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class AccessResult:
    """Released values, or a structured refusal: the reason and the deciding policies."""

    outcome: PolicyOutcome
    reason: str
    policy_ids: tuple[str, ...]
    items: tuple[ReleasedItem, ...] = ()
    required_assurance: Assurance | None = None
    audit_seq: int | None = None
    erasures: tuple[Erasure, ...] = ()  # what an allowed `erase` destroyed, after its record
    subjects: tuple[str, ...] = ()  # whom an allowed decision was about

    @property
    def allowed(self) -> bool:
        return self.outcome is PolicyOutcome.ALLOW


def decision_facts(result: AccessResult) -> dict[str, Any]:
    """How a decision is written in the audit log: outcome, reason, deciding policies, the
    assurance a step-up asks for, and how many values left."""
    return {
        "outcome": result.outcome.value,
        "reason": result.reason,
        "policies": list(result.policy_ids),
        "required_assurance": (
            result.required_assurance.name.lower() if result.required_assurance else None
        ),
        "released": len(result.items),
    }


def principal_of(caller: Caller, session_subject: str | None = None) -> Principal:
    """The caller as Cedar sees it; a customer's principal is the subject of their session."""
    kind = CallerKind(caller.kind)
    subject = session_subject if kind is CallerKind.CUSTOMER and session_subject else ""
    return Principal(
        id=caller.key_id, tenant=caller.tenant, kind=kind, roles=caller.roles, subject=subject
    )


class Gateway:
    def __init__(
        self,
        *,
        vault: Vault,
        catalogue: Catalogue,
        consents: ConsentLedger,
        policies: PolicyEngine,
        audit: AuditLog,
        sessions: Authenticator | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.catalogue = catalogue
        self.consents = consents
        self.policies = policies
        self.audit = audit
        self.clock = clock

    def access(self, caller: Caller, request: AccessRequest) -> AccessResult:
        # No span of its own: its stages sit under the request's span (one span fewer a
        # traced access, of eight).
        result, record = self._decide(caller, request)
        with _stage("gateway.audit"):
            seq = self.audit.record([record])[0]
        return self._carry_out(caller, request, _with_seq(result, seq))

    async def access_soon(self, caller: Caller, request: AccessRequest) -> AccessResult:
        """`access` on an event loop: decided here, its audit record committed with those of
        the loop's other requests decided meanwhile (one transaction for them all)."""
        result, record = self._decide(caller, request)
        with _stage("gateway.audit"):
            seq = await self.audit.record_soon(record)
        return self._carry_out(caller, request, _with_seq(result, seq))

    def reidentify(
        self,
        caller: Caller,
        text: str,
        *,
        purpose: str,
        channel: Channel | str,
        auth: AuthContext | None = None,
        most: Form | str = "clear",
    ) -> Reidentified:
        """A text holding tokens (an AI summary of a tokenized transcript) with each token as
        the caller's policies allow: clear, masked, or left as it is; one recorded access each."""
        from ._reidentify import reidentify

        return reidentify(
            self, caller, text, purpose=purpose, channel=channel, auth=auth, most=most
        )

    def _carry_out(
        self, caller: Caller, request: AccessRequest, result: AccessResult
    ) -> AccessResult:
        """What changes data happens only once its decision is recorded: an erasure."""
        if not result.allowed or _parse(Action, request.action, "action") is not Action.ERASE:
            return result
        erasures = []
        for subject in result.subjects:
            try:
                erasures.append(self.vault.erase_subject(caller.tenant, subject))
            except UnknownSubject:
                continue  # nothing of theirs was left to destroy
        return replace(result, erasures=tuple(erasures))

    def decide_one(
        self,
        caller: Caller,
        action: Action,
        resource: Resource,
        context: AccessContext,
        *,
        session_subject: str | None = None,
    ) -> AccessResult:
        """One policy decision on one resource, in words (not recorded: the caller records)."""
        decision = self.policies.decide(
            principal_of(caller, session_subject), action, [resource], context
        )[0]
        level = decision.required_assurance
        reason = {
            PolicyOutcome.ALLOW: "allowed",
            PolicyOutcome.STEP_UP: f"a step-up to {(level or Assurance.HIGH).name.lower()} "
            "is needed",
            PolicyOutcome.DENY: f"no policy allows {action.value} for this caller",
        }[decision.outcome]
        return AccessResult(decision.outcome, reason, decision.policy_ids, required_assurance=level)

    def declare_telephone_order(
        self, caller: Caller, subject: str, channel: Channel | str
    ) -> AccessResult:
        """A card keyed on a call may be declared a telephone order (MOTO, outside SCA) only by
        a caller a policy allows, on a voice channel; the declaration is recorded either way."""
        channel = _parse(Channel, channel, "channel")
        result = self.decide_one(
            caller,
            Action.DECLARE_TELEPHONE_ORDER,
            Resource(caller.tenant, subject, "card_pan"),
            AccessContext(purpose="payment", channel=channel.value, lawful=True),
        )
        facts = {
            "caller": caller.key_id,
            "caller_kind": caller.kind,
            "action": Action.DECLARE_TELEPHONE_ORDER.value,
            "purpose": "payment",
            "channel": channel.value,
            "categories": ["card_pan"],
            "tokens": [],
            **decision_facts(result),
        }
        seq = self.audit.record([AuditRecord(caller.tenant, "access", facts, subject=subject)])
        return replace(result, audit_seq=seq[0])

    def oversee(
        self,
        caller: Caller,
        action: Action,
        overseen: str,
        *,
        auth: AuthContext | None,
        subject: str = "",
        facts: dict[str, Any] | None = None,
    ) -> AccessResult:
        """One act of oversight at the DPO console (a search, an export, a verification, the
        record of processing), decided by policy on what is overseen (`log:consent`, …) and
        recorded either way, with what was asked (`facts`: filters, never a value in clear).
        Raises the refusal unless allowed: nothing is shown before its record is written."""
        assurance, _ = self.assurance_of(caller, auth)
        result = self.decide_one(
            caller,
            action,
            Resource(caller.tenant, subject, overseen),
            AccessContext(
                purpose=OVERSIGHT_PURPOSE,
                channel=Channel.WEB.value,
                assurance=assurance,
                legal_basis="legal_obligation",
                lawful=True,
                hour=self.clock().hour,
            ),
        )
        body = {
            "caller": caller.key_id,
            "caller_kind": caller.kind,
            "action": action.value,
            "purpose": OVERSIGHT_PURPOSE,
            "channel": Channel.WEB.value,
            "categories": [overseen],
            "tokens": [],
            "assurance": assurance.name.lower(),
            "asked": facts or {},
            **decision_facts(result),
        }
        seq = self.audit.record([AuditRecord(caller.tenant, "oversight", body, subject=subject)])
        result = replace(result, audit_seq=seq[0])
        if not result.allowed:
            raise refused(result)
        return result

    def _decide(self, caller: Caller, request: AccessRequest) -> tuple[AccessResult, AuditRecord]:
        """The result and its audit record; the caller records, then releases the result:
        without the audit record, nothing leaves."""
        tenant = caller.tenant
        action = _parse(Action, request.action, "action")
        channel = _parse(Channel, request.channel, "channel")
        purpose = self.catalogue.get(tenant, request.purpose)
        if action is Action.PAY:
            raise InvalidValue("payments go through the payments API, not the gateway")
        if action in _NEEDS_AUTH and request.auth is None:
            raise AuthContextRequired(
                f"{action.value} needs the end user's auth context (assurance of the session)"
            )
        with _stage("gateway.assurance"):
            assurance, session_subject = self.assurance_of(caller, request.auth)
        with _stage("gateway.vault"):
            sealed = self._targets(tenant, request)
        records = [item.record for item in sealed]
        categories = sorted({r.category.value for r in records} | set(request.categories))
        subjects = sorted(
            {r.subject or "" for r in records} | ({request.subject} if request.subject else set())
        )
        facts = {
            "caller": caller.key_id,
            "caller_kind": caller.kind,
            "action": action.value,
            "purpose": purpose.id,
            "channel": channel.value,
            "categories": categories,
            "tokens": [r.token for r in records],
            "assurance": assurance.name.lower(),
            "session": session_subject is not None,
        }

        def finish(result: AccessResult) -> tuple[AccessResult, AuditRecord]:
            return result, AuditRecord(
                tenant,
                "access",
                {**facts, **decision_facts(result)},
                subject=subjects[0] if len(subjects) == 1 else "",
                request_id=f"{caller.key_id}:{request.request_id}" if request.request_id else None,
            )

        outside = [c for c in categories if c not in purpose.data_categories]
        if outside:
            return finish(
                AccessResult(
                    PolicyOutcome.DENY,
                    f"purpose limitation: {purpose.id} does not use {', '.join(outside)}",
                    ("purpose-limitation",),
                )
            )

        if session_subject is not None and subjects != [session_subject]:
            return finish(
                AccessResult(
                    PolicyOutcome.DENY,
                    "the end user's session belongs to another customer",
                    ("session-subject",),
                )
            )

        principal = principal_of(caller, session_subject)
        policy_ids: set[str] = set()
        contexts: dict[str, AccessContext] = {}
        for subject in subjects:
            with _stage("gateway.consent"):
                decision = self.consents.may_we(tenant, subject, purpose.id)
            if not decision.allowed:
                return finish(
                    AccessResult(
                        PolicyOutcome.DENY,
                        decision.reason,
                        (f"legal-basis:{decision.legal_basis.value}",),
                    )
                )
            latest = decision.deciding_event
            contexts[subject] = AccessContext(
                purpose=purpose.id,
                channel=channel.value,
                assurance=assurance,
                legal_basis=decision.legal_basis.value,
                consent=latest.kind.value if latest else "none",
                lawful=True,
                hour=self.clock().hour,
            )
        for subject in subjects:
            mine = [
                c
                for c in categories
                if any((r.subject or "") == subject and r.category.value == c for r in records)
                or request.subject == subject
            ]
            with _stage("gateway.policy"):
                decisions = self.policies.decide(
                    principal,
                    action,
                    [Resource(tenant, subject, c) for c in mine],
                    contexts[subject],
                )
            denied = [d for d in decisions if d.outcome is PolicyOutcome.DENY]
            if denied:
                ids = tuple(sorted({pid for d in denied for pid in d.policy_ids}))
                return finish(
                    AccessResult(
                        PolicyOutcome.DENY, f"no policy allows {action.value} for this caller", ids
                    )
                )
            stepped = [d for d in decisions if d.outcome is PolicyOutcome.STEP_UP]
            if stepped:
                level = max(d.required_assurance for d in stepped if d.required_assurance)
                ids = tuple(sorted({pid for d in stepped for pid in d.policy_ids}))
                return finish(
                    AccessResult(
                        PolicyOutcome.STEP_UP,
                        f"a step-up to {level.name.lower()} assurance is needed",
                        ids,
                        required_assurance=level,
                    )
                )
            policy_ids.update(pid for d in decisions for pid in d.policy_ids)
        with _stage("gateway.vault"):
            items = self._release(tenant, action, sealed, subjects)
        return finish(
            AccessResult(
                PolicyOutcome.ALLOW,
                "allowed",
                tuple(sorted(policy_ids)),
                items,
                subjects=tuple(s for s in subjects if s),
            )
        )

    def assurance_of(
        self, caller: Caller, auth: AuthContext | None
    ) -> tuple[Assurance, str | None]:
        """The session's assurance (and whose session it is), or a trusted assertion."""
        if auth is None:
            return Assurance.LOW, None
        if auth.session_id is not None:
            if self.sessions is None:
                raise AuthContextRequired("sessions are not available in this deployment")
            info = self.sessions.session(caller.tenant, auth.session_id)
            if info.subject == caller.key_id:
                return info.assurance, None  # a member of staff's own session, not an end user's
            return info.assurance, info.subject
        if auth.assurance is not None and Scope.AUTH_ASSERT in caller.scopes:
            return auth.assurance, None
        raise AuthContextRequired(
            "give the end user's session_id; only an identity provider with the "
            "auth:assert scope may assert an assurance level"
        )

    def _targets(self, tenant: str, request: AccessRequest) -> list[Sealed]:
        """The stored rows the request is about, read once and not decrypted yet."""
        if request.tokens and (request.subject or request.categories):
            raise InvalidValue("ask by tokens, or by subject and categories, not both")
        if request.tokens:
            if len(request.tokens) > _MAX_ITEMS:
                raise InvalidValue(f"at most {_MAX_ITEMS} tokens per access")
            return self.vault.fetch(tenant, list(request.tokens))
        if not request.subject or not request.categories:
            raise InvalidValue("name the tokens, or the subject and the data categories")
        wanted = {parse_category(c) for c in request.categories}
        return self.vault.fetch_subject(tenant, request.subject, wanted)

    def _release(
        self, tenant: str, action: Action, sealed: list[Sealed], subjects: list[str]
    ) -> tuple[ReleasedItem, ...]:
        if action is Action.ERASE:
            return ()  # nothing is opened; `_carry_out` erases, once the decision is recorded
        if not sealed:
            return ()
        opened = self.vault.unseal(tenant, sealed)
        return tuple(
            ReleasedItem(
                d.token,
                d.category.value,
                d.subject,
                mask(d.category, d.value) if action is Action.READ_MASKED else d.value,
            )
            for d in opened
        )


def refused(result: AccessResult) -> AccessDenied:
    """The error that says why, with the deciding policies and the refusal's audit entry."""
    if result.outcome is PolicyOutcome.STEP_UP and result.required_assurance is not None:
        return StepUpRequired(
            result.reason,
            policy_ids=result.policy_ids,
            audit_seq=result.audit_seq,
            required_assurance=result.required_assurance.name.lower(),
        )
    return AccessDenied(result.reason, policy_ids=result.policy_ids, audit_seq=result.audit_seq)


def _with_seq(result: AccessResult, seq: int) -> AccessResult:
    return replace(result, audit_seq=seq)


E = TypeVar("E", bound=enum.Enum)


def _parse(enum_type: type[E], value: object, what: str) -> E:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum_type)
        raise InvalidValue(
            f"unknown {what} {str(value)[:40]!r}; expected one of: {allowed}"
        ) from None
