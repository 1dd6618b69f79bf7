"""Challenges: issuing one for a factor the subject holds, storing it hashed, and taking it back
exactly once."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from tessera import Assurance, b64url_encode
from tessera.vault import DataCategory, InvalidValue, mask

from ._common import _new_id, _unb64url
from ._errors import (
    ChallengeExpired,
    FactorNotEnrolled,
    ReplayedCode,
    UnknownChallenge,
    UnknownDecision,
)
from ._messages import code_message, default_text
from ._risk import RiskDecision
from ._rows import StoredChallenge, StoredDecision, StoredFactor
from ._sessions import _Sessions
from ._signals import keyed
from ._types import _FACTOR_CEILING, VOICE_PIN_DIGITS, Challenge

__all__ = ["_Challenges", "approval_message", "destination_category", "masked_destination"]


def approval_message(
    tenant: str, subject: str, challenge_id: str, nonce: str, binding_sha256: str
) -> str:
    """What the app's device key signs to approve: this challenge of this customer, and the
    transaction's binding when there is one (dynamic linking, as a passkey's challenge)."""
    return f"tessera-approval/1|{tenant}|{subject}|{challenge_id}|{nonce}|{binding_sha256}"


def destination_category(channel: str) -> DataCategory:
    """What a one-time-code destination on `channel` is in the vault."""
    return DataCategory.EMAIL if channel == "email" else DataCategory.PHONE


def masked_destination(channel: str, value: str) -> str:
    return mask(destination_category(channel), value)


class _Challenges(_Sessions):
    """Part of `Authenticator`: the challenges every step-up and enrolment begins with."""

    def _challenge(
        self,
        tenant: str,
        subject: str,
        factor: str,
        factors: list[StoredFactor],
        *,
        kind: str,
        target: Assurance | None,
        channel: str | None,
        message: str | None,
        decision_id: str | None = None,
        session_hash: str | None = None,
        binding: bytes | None = None,
        possession: str | None = None,
        locale: str | None = None,
    ) -> Challenge:
        wanted = target or (Assurance.HIGH if factor == "webauthn" else Assurance.SUBSTANTIAL)
        ceiling = _FACTOR_CEILING.get(factor, Assurance.HIGH)
        if wanted > ceiling:
            raise InvalidValue(f"{factor} gives {ceiling.name.lower()} assurance at most")
        if not factors:
            raise FactorNotEnrolled(f"no {factor} factor is enrolled for this customer")
        challenge_id = _new_id("chl")
        options: dict[str, Any] | None = None
        secret, sent_to, factor_id = "", None, None
        payload: dict[str, Any] = {}
        bound = hashlib.sha256(binding).hexdigest() if binding is not None else ""
        if factor == "totp":
            factor_id = factors[0].id
        elif factor == "otp":
            chosen = [f for f in factors if channel in (None, f.channel)]
            if not chosen:
                raise FactorNotEnrolled(f"no one-time-code destination on {channel}")
            destination = chosen[0]
            factor_id = destination.id
            secret, sent_to = self._send_code(
                tenant,
                challenge_id,
                str(destination.channel),
                str(destination.destination),
                message or default_text("verify", locale),
                locale,
            )
        elif factor == "voice_pin":
            # Spoken back before the PIN is asked for; a linked assistant signs its approval.
            factor_id = factors[0].id
            secret = secrets.token_urlsafe(24)
            payload = {"possession": possession}
            options = {"read_back": message, "digits": VOICE_PIN_DIGITS}
            if possession and possession.startswith("device:"):
                options["approval"] = approval_message(tenant, subject, challenge_id, secret, bound)
        elif factor == "app":
            # The app shows what it is asked to approve and signs it with its device key.
            secret = secrets.token_urlsafe(24)
            options = {
                "approval": approval_message(tenant, subject, challenge_id, secret, bound),
                "key_ids": [f.id for f in factors],
                "message": message or "Approve the sign-in",
            }
        else:
            raw = secrets.token_bytes(32)
            if binding is not None:  # derived from the transaction, as SPC does
                raw = hashlib.sha256(binding + raw).digest()
            secret = b64url_encode(raw)
            options = self._webauthn_request(raw, factors, wanted)
            payload = {"uv": wanted >= Assurance.HIGH}
        if binding is not None:
            payload["binding"] = bound
        expires = self._store_challenge(
            challenge_id,
            tenant,
            subject,
            kind,
            target=wanted,
            secret=secret,
            payload=payload,
            decision_id=decision_id,
            session_sha256=session_hash,
            factor_id=factor_id,
        )
        return Challenge(challenge_id, factor, expires, wanted, options, sent_to)

    def _send_code(
        self,
        tenant: str,
        challenge_id: str,
        channel: str,
        token: str,
        text: str,
        locale: str | None = None,
    ) -> tuple[str, str]:
        """A fresh one-time code to the vaulted destination `token`: the code's keyed hash (what
        the challenge keeps) and the destination, masked (what the page may say)."""
        code = f"{secrets.randbelow(10**6):06d}"
        value = self.vault.detokenize(tenant, token).value
        minutes = int(self.settings.challenge_ttl.total_seconds() // 60)
        self.notifier.send(
            tenant,
            channel,
            value,
            code_message(text, code, self.tenant_name(tenant), minutes, locale),
        )
        return self._code_hash(tenant, challenge_id, code), masked_destination(channel, value)

    def _store_challenge(
        self,
        challenge_id: str,
        tenant: str,
        subject: str,
        kind: str,
        *,
        target: int,
        secret: str,
        payload: Mapping[str, Any] | None = None,
        ttl: dt.timedelta | None = None,
        decision_id: str | None = None,
        session_sha256: str | None = None,
        factor_id: str | None = None,
    ) -> dt.datetime:
        """Store one pending challenge (single use, short-lived); returns its expiry."""
        now = self.clock()
        expires = now + (ttl or self.settings.challenge_ttl)
        with self.db.begin() as conn:
            self.store.add_challenge(
                conn,
                StoredChallenge(
                    id=challenge_id,
                    tenant_id=tenant,
                    subject_id=subject,
                    kind=kind,
                    target=int(target),
                    secret=secret,
                    payload=json.dumps(payload or {}),
                    created_at=now,
                    expires_at=expires,
                    decision_id=decision_id,
                    session_sha256=session_sha256,
                    factor_id=factor_id,
                ),
            )
        return expires

    def _consume(self, conn: Connection, challenge_id: str, now: dt.datetime) -> None:
        """Mark a challenge used, once: a second use (a replay, a race) is refused."""
        if not self.store.consume_challenge(conn, challenge_id, now):
            raise ReplayedCode("this challenge was already used")

    def _pending_decision(self, conn: Connection, tenant: str, decision_id: str) -> StoredDecision:
        row = self.store.decision(conn, tenant, decision_id)
        if row is None:
            raise UnknownDecision("no such risk decision")
        if row.decision == RiskDecision.DENY.value:
            raise InvalidValue("a denied decision cannot be stepped up")
        if row.status == "allowed":
            raise InvalidValue("this decision allowed the sign-in; step up its session instead")
        if row.status != "pending":
            raise ReplayedCode("this decision was already resolved")
        if self.clock() - row.created_at > self.settings.decision_ttl:
            raise ChallengeExpired("the risk decision expired; assess again")
        return row

    def _active_factors(
        self, conn: Connection, tenant: str, subject: str, *kinds: str
    ) -> list[StoredFactor]:
        return self.store.factors(conn, tenant, subject, kinds=kinds, active=True)

    def _code_hash(self, tenant: str, challenge_id: str, code: str) -> str:
        return keyed(self.vault.tenant_secret(tenant, "auth-codes"), challenge_id, code)

    def _take_challenge(
        self, conn: Connection, tenant: str, challenge_id: str, kinds: tuple[str, ...]
    ) -> StoredChallenge:
        row = self.store.challenge(conn, tenant, challenge_id)
        if row is None or row.kind not in kinds:
            raise UnknownChallenge("no such challenge")
        if row.consumed_at is not None:
            raise ReplayedCode("this challenge was already used")
        if row.expires_at <= self.clock():
            raise ChallengeExpired("the challenge expired; begin again")
        self._check_lock(conn, tenant, row.subject_id)
        return row

    def _webauthn_request(
        self, challenge: bytes, factors: list[StoredFactor], target: Assurance
    ) -> dict[str, Any]:
        from webauthn import generate_authentication_options, options_to_json
        from webauthn.helpers.structs import (
            PublicKeyCredentialDescriptor,
            UserVerificationRequirement,
        )

        options = generate_authentication_options(
            rp_id=self.settings.rp_id,
            challenge=challenge,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=_unb64url(str(f.credential_id))) for f in factors
            ],
            user_verification=UserVerificationRequirement.REQUIRED
            if target >= Assurance.HIGH
            else UserVerificationRequirement.PREFERRED,
        )
        options_json: dict[str, Any] = json.loads(options_to_json(options))
        return options_json
