"""Assessing a sign-in or an action: device keys, signals, the risk decision, and what a passed
step-up teaches the profile."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sqlalchemy import Connection

from tessera import Assurance
from tessera.vault import InvalidValue, check_subject, check_tenant

from ._challenges import _Challenges
from ._common import _new_id, _stored_signals, _unb64url
from ._errors import InvalidSignal
from ._risk import RiskAction, RiskDecision, assess
from ._rows import StoredDecision
from ._signals import Observation, extract
from ._types import _SCOPES, Assessment, Challenge, DeviceProof

__all__ = ["_Assessing"]


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
        message = f"tessera-device/1|{tenant}|{subject}|{nonce}".encode()
        try:
            public = load_der_public_key(bytes(keys[0].public_key))
            signature = _unb64url(proof.signature)
            if isinstance(public, ed25519.Ed25519PublicKey):
                public.verify(signature, message)
            elif isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(signature, message, ec.ECDSA(SHA256()))
            else:
                return False
        except (InvalidSignature, InvalidSignal, ValueError):
            return False
        return True

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
        with self.db.read() as conn:
            self._check_lock(conn, tenant, subject)
            profile, row = self._profile(conn, tenant, subject)
            population = self._population(conn, tenant)
            bound = self._bound_senders(conn, tenant, subject)
            registered = self._registered_number(conn, tenant, subject)
            draft = extract(
                observation,
                key=key,
                intel=self.intel,
                registered_number=registered,
                bound_senders=bound,
                last_country=row.last_country if row else None,
                last_at=row.last_auth_at if row else None,
            )
            failures = self.store.failures(
                conn, tenant, self._failure_keys(tenant, subject, draft.values())
            )
        recent = max((f.consecutive for f in failures.values()), default=0)
        signals = replace(draft, recent_failures=recent)
        limits = self.settings.thresholds_for(tenant)
        result = assess(signals, profile, population, action=action, thresholds=limits)
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
                    signals=json.dumps(_stored_signals(signals)),
                    status=status,
                    created_at=now,
                    resolved_at=now if status != "pending" else None,
                ),
            )
            if result.decision is RiskDecision.ALLOW:
                self._learn(conn, tenant, subject, signals)
                session = self._open_session(
                    conn, tenant, subject, Assurance.LOW, scope, ("risk",), decision_id
                )
            factors = self._factor_kinds(conn, tenant, subject)
        self._record(
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
            factors if result.decision is RiskDecision.STEP_UP else (),
        )

    def _bound_senders(self, conn: Connection, tenant: str, subject: str) -> frozenset[str]:
        return frozenset(
            str(r.credential_id) for r in self._active_factors(conn, tenant, subject, "sender")
        )

    def _registered_number(self, conn: Connection, tenant: str, subject: str) -> str | None:
        rows = self._active_factors(conn, tenant, subject, "caller")
        return rows[0].credential_id if rows else None

    def _factor_kinds(self, conn: Connection, tenant: str, subject: str) -> tuple[str, ...]:
        rows = self._active_factors(conn, tenant, subject, "totp", "webauthn", "otp")
        return tuple(sorted({r.kind for r in rows}))
