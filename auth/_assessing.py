"""Assessing a sign-in or an action: device keys, signals, the risk decision; and the strong
authentications a trusted identity provider reports, the other thing a profile learns from."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import replace

from sqlalchemy.exc import IntegrityError

from tessera import Assurance
from tessera.vault import InvalidValue, check_subject, check_tenant

from ._challenges import _Challenges
from ._common import _new_id, _stored_signals, device_signed
from ._errors import InvalidSignal, ReplayedCode
from ._offer import channel_words, offered_factors, withheld_channels
from ._risk import LINES, RiskAction, RiskDecision, assess
from ._rows import StoredDecision
from ._signals import Observation, extract, keyed
from ._types import (
    _SCOPES,
    STRONG_METHODS,
    Assessment,
    Challenge,
    DeviceProof,
    StrongAuthReport,
)

__all__ = ["_Assessing"]

# What `assess` reads of a customer's factors, at once: the bound identifiers it scores and the
# factors it may offer.
_HELD = ("caller", "sender", "totp", "webauthn", "otp", "device")
# A messaging account bound more recently than this may be a takeover's own.
_RECENT_BINDING = dt.timedelta(days=7)

# How far ahead of our clock a provider's may run before its report is "in the future".
_SKEW = dt.timedelta(minutes=2)


class _Assessing(_Challenges):
    """Part of `Authenticator`, built on the parts below it (_Challenges)."""

    # ------------------------------------------------------------------ assess
    def device_nonce(self, tenant: str, subject: str) -> Challenge:
        """A nonce for the app to sign with its device-bound key, single use, 2 minutes."""
        check_tenant(tenant)
        subject = check_subject(subject)
        challenge_id = _new_id("non")
        nonce = secrets.token_urlsafe(24)
        expires = self._store_challenge(
            challenge_id,
            tenant,
            subject,
            "device-nonce",
            target=0,
            secret=nonce,
            ttl=dt.timedelta(minutes=2),
        )
        return Challenge(challenge_id, "device-nonce", expires, Assurance.LOW, {"nonce": nonce})

    def _check_device(self, tenant: str, subject: str, proof: DeviceProof) -> bool:
        """True when a registered device key signed a fresh nonce; False when it did not."""
        now = self.clock()
        with self.db.begin() as conn:
            nonce = self.store.take_device_nonce(conn, tenant, subject, proof.nonce_id, now)
            keys = self.store.factors(
                conn, tenant, subject, kinds=("device",), active=True, only=proof.key_id
            )
        if nonce is None or not keys or keys[0].public_key is None:
            return False
        message = f"tessera-device/1|{tenant}|{subject}|{nonce}"
        return device_signed(bytes(keys[0].public_key), message, proof.signature)

    def assess(
        self,
        tenant: str,
        subject: str,
        observation: Observation,
        *,
        action: RiskAction | str = RiskAction.LOGIN,
        scope: str = "account",
        device_proof: DeviceProof | None = None,
    ) -> Assessment:
        """Score a sign-in or a sensitive action; open a session when the risk is low."""
        check_tenant(tenant)
        subject = check_subject(subject)
        if not subject:
            raise InvalidValue("subject is required")
        try:
            action = RiskAction(action)
        except ValueError:
            raise InvalidValue(
                f"unknown action; expected one of: {', '.join(a.value for a in RiskAction)}"
            ) from None
        if scope not in _SCOPES:
            raise InvalidValue("scope must be account or payment")
        if device_proof is not None:
            ok = self._check_device(tenant, subject, device_proof)
            observation = replace(observation, device_key=ok)
        now = self.clock()
        key = self._key(tenant)
        account = self._account_key(tenant, subject, key)
        with self.db.read() as conn:  # the profile, the factors held, the failures: three reads
            profile, row = self._profile(conn, tenant, subject)
            held = self._active_factors(conn, tenant, subject, *_HELD)
            senders = [f for f in held if f.kind == "sender"]
            draft = extract(
                observation,
                key=key,
                intel=self.intel,
                registered_number=self._their_line(
                    held,
                    tenant,
                    subject,
                    key,
                    observation.caller_number if observation.channel in LINES else None,
                ),
                bound_senders=frozenset(str(f.credential_id) for f in senders),
                recent_senders=frozenset(
                    str(f.credential_id) for f in senders if now - f.created_at < _RECENT_BINDING
                ),
                last_country=row.last_country if row else None,
                last_at=row.last_auth_at if row else None,
            )
            failures = self.store.failures(
                conn, tenant, self._failure_keys(tenant, subject, draft.values(), key)
            )
        self._refuse_if_locked(failures.get(account), now)
        recent = max((f.consecutive for f in failures.values()), default=0)
        signals = replace(draft, recent_failures=recent)
        limits = self.settings.thresholds_for(tenant)
        result = assess(
            signals, profile, self._population(tenant), action=action, thresholds=limits
        )
        withheld = withheld_channels(signals)
        offered = offered_factors((f.kind for f in held), withheld)
        if result.decision is RiskDecision.STEP_UP and withheld and not offered:
            # The only factors this customer holds travel over the channel under attack:
            # stepping up would not stop anyone. Refused, with the way forward.
            result = replace(
                result,
                decision=RiskDecision.DENY,
                explanation=(
                    f"{result.explanation}; no factor safe from {channel_words(withheld)} is "
                    "enrolled: an agent's stronger checks are needed"
                )[:500],
            )
        decision_id = _new_id("dec")
        session = None
        status = {
            RiskDecision.ALLOW: "allowed",
            RiskDecision.STEP_UP: "pending",
            RiskDecision.DENY: "denied",
        }[result.decision]
        with self.db.begin() as conn:
            self.store.add_decision(
                conn,
                StoredDecision(
                    id=decision_id,
                    tenant_id=tenant,
                    subject_id=subject,
                    action=action.value,
                    channel=(signals.channel or "")[:32],
                    scope=scope,
                    score=round(result.score, 4),
                    decision=result.decision.value,
                    contributions=json.dumps(
                        {k: round(v, 3) for k, v in result.contributions.items()}
                    ),
                    explanation=result.explanation[:500],
                    signals=json.dumps(_stored_signals(signals, withheld)),
                    status=status,
                    created_at=now,
                    resolved_at=now if status != "pending" else None,
                ),
            )
            if result.decision is RiskDecision.ALLOW:
                # A low risk opens a session but teaches nothing: only a strong authentication
                # does (a step-up, or one an identity provider reports), or an attacker who got
                # through once would teach the profile their device and network.
                session = self._open_session(
                    conn, tenant, subject, Assurance.LOW, scope, ("risk",), decision_id
                )
            # In the same transaction: no session opens without its record, and one commit
            # serves both (SQLite's commit was a third of a decision's time).
            self._record_in(
                conn,
                tenant,
                subject,
                event="assess",
                decision_id=decision_id,
                action=action.value,
                channel=signals.channel,
                decision=result.decision.value,
                score=round(result.score, 3),
                explanation=result.explanation,
                assurance=Assurance.LOW.name.lower() if session else None,
            )
        return Assessment(
            decision_id,
            result.decision,
            result.score,
            result.explanation,
            result.contributions,
            session,
            offered if result.decision is RiskDecision.STEP_UP else (),
            "agent_checks" if result.decision is RiskDecision.DENY and withheld else None,
        )

    # ------------------------------------------------------------------ reported by an IdP
    def report_strong_authentication(
        self,
        tenant: str,
        subject: str,
        observation: Observation,
        *,
        method: str,
        event_id: str | None = None,
    ) -> StrongAuthReport:
        """A strong authentication an identity provider of the tenant did itself (scope
        `auth:assert`), at `observation.at`: its signals teach the customer's profile as a
        passed step-up would, so profiles can be loaded from a login history. A time in the
        future or beyond the retention is refused; `event_id` (the provider's own id of the
        event) makes a report count once, however often it is sent."""
        check_tenant(tenant)
        subject = check_subject(subject)
        if not subject:
            raise InvalidValue("subject is required")
        if method not in STRONG_METHODS:
            raise InvalidValue(f"method must be one of: {', '.join(STRONG_METHODS)}")
        now = self.clock()
        at = observation.at
        if not isinstance(at, dt.datetime) or at.tzinfo is None:
            raise InvalidSignal("the authentication's time needs a time zone")
        if at > now + _SKEW:
            raise InvalidSignal("the authentication is dated in the future")
        if at < now - self.settings.retention:
            raise InvalidSignal("the authentication is older than the profiles' retention")
        key = self._key(tenant)
        decision_id = (
            _new_id("rep") if event_id is None else f"rep_{keyed(key, 'report', event_id)[:24]}"
        )
        with self.db.read() as conn:
            if event_id is not None and self.store.decision(conn, tenant, decision_id):
                raise ReplayedCode("this authentication was already reported")
        # What a profile learns (devices, networks, habits) does not depend on the customer's
        # bound numbers or senders: the signals are extracted without them.
        signals = extract(observation, key=key, intel=self.intel)
        try:
            with self.db.begin() as conn:
                self.store.add_decision(
                    conn,
                    StoredDecision(
                        id=decision_id,
                        tenant_id=tenant,
                        subject_id=subject,
                        action=RiskAction.LOGIN.value,
                        channel=(signals.channel or "")[:32],
                        scope="account",
                        score=0.0,
                        decision=RiskDecision.ALLOW.value,
                        contributions="{}",
                        explanation=f"strong authentication reported ({method})",
                        signals=json.dumps(_stored_signals(signals)),
                        status="reported",
                        created_at=at,
                        resolved_at=now,
                    ),
                )
                sessions = self._learn(conn, tenant, subject, signals, at=at)
                self._record_in(
                    conn,
                    tenant,
                    subject,
                    event="strong_auth_reported",
                    decision_id=decision_id,
                    method=method,
                    channel=signals.channel,
                )
        except IntegrityError:  # the same event, reported at the same moment by another call
            raise ReplayedCode("this authentication was already reported") from None
        return StrongAuthReport(decision_id, subject, sessions)
