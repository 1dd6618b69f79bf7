"""Checking a second factor: TOTP, one-time codes, WebAuthn assertions, the app's approval,
and by voice a PIN with the possession the voice channel gives."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tessera import Assurance
from tessera.vault import InvalidValue

from ._challenges import _Challenges, approval_message
from ._common import _credential, _short, _unb64url, device_signed
from ._errors import FactorNotEnrolled, FactorWithheld, ReplayedCode, StepUpFailed
from ._rows import StoredChallenge, StoredFactor
from ._signals import keyed, phone_e164
from ._types import VOICE_PIN_DIGITS, VoicePossession

__all__ = ["PIN_HASHER", "_FactorChecks"]

PIN_HASHER = PasswordHasher()  # argon2id with the library's defaults (RFC 9106's second choice)


class _FactorChecks(_Challenges):
    """Part of `Authenticator`, built on the parts below it (_Challenges)."""

    # ------------------------------------------------------------------ TOTP
    def _verify_totp(self, tenant: str, row: StoredChallenge, code: str | None) -> Assurance:
        factor = self._factor_row(tenant, row.factor_id)
        step = self._totp_step(tenant, factor, code)
        with self.db.begin() as conn:
            moved = self.store.advance_totp(conn, factor.id, step, self.clock())
        if not moved:
            raise ReplayedCode("this code was already used; wait for the next one")
        return Assurance.SUBSTANTIAL

    def _totp_step(self, tenant: str, factor: StoredFactor, code: str | None) -> int:
        if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
            raise StepUpFailed("the code must be 6 digits")
        if factor.secret is None:
            raise FactorNotEnrolled("the factor holds no TOTP seed")
        seed = self.vault.open_secret(
            tenant, factor.subject_id, f"totp:{factor.id}", bytes(factor.secret)
        )
        totp = pyotp.TOTP(seed.decode())
        now = self.clock()
        current = totp.timecode(now)
        for step in (current, current - 1, current + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                if step <= factor.last_step:
                    raise ReplayedCode("this code was already used; wait for the next one")
                return step
        raise StepUpFailed("the code is wrong or out of date")

    def _factor_row(self, tenant: str, factor_id: str | None) -> StoredFactor:
        with self.db.read() as conn:
            row = self.store.factor(conn, tenant, str(factor_id))
        if row is None or row.status == "revoked":
            raise FactorNotEnrolled("the factor no longer exists")
        return row

    def _verify_otp(self, tenant: str, row: StoredChallenge, code: str | None) -> Assurance:
        if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
            raise StepUpFailed("the code must be 6 digits")
        if not hmac.compare_digest(self._code_hash(tenant, row.id, code), row.secret):
            raise StepUpFailed("the code is wrong")
        return Assurance.SUBSTANTIAL

    # ------------------------------------------------------------------ the app's approval
    def _verify_app(
        self, tenant: str, row: StoredChallenge, credential: Mapping[str, Any] | str | None
    ) -> Assurance:
        """The customer approved in their app: one of their registered device keys signed the
        approval message of this challenge (and of its transaction's binding)."""
        parsed = _credential(credential)
        key_id, signature = parsed.get("key_id"), parsed.get("signature")
        if not isinstance(key_id, str) or not isinstance(signature, str) or len(signature) > 400:
            raise StepUpFailed("an app approval is a key_id and a signature")
        with self.db.read() as conn:
            keys = self.store.factors(
                conn, tenant, row.subject_id, kinds=("device",), active=True, only=key_id[:40]
            )
        if not keys or keys[0].public_key is None:
            raise StepUpFailed("this device key is not registered for this customer")
        binding = json.loads(row.payload).get("binding", "")
        message = approval_message(tenant, row.subject_id, row.id, row.secret, binding)
        if not device_signed(bytes(keys[0].public_key), message, signature):
            raise StepUpFailed("the app's approval does not verify")
        with self.db.begin() as conn:
            self.store.factor_used(conn, keys[0].id, self.clock())
        return Assurance.SUBSTANTIAL

    # ------------------------------------------------------------------ WebAuthn
    def _verify_webauthn(
        self, tenant: str, row: StoredChallenge, credential: Mapping[str, Any] | str | None
    ) -> Assurance:
        from webauthn import verify_authentication_response
        from webauthn.helpers.exceptions import WebAuthnException

        parsed = _credential(credential)
        credential_id = str(parsed.get("rawId") or parsed.get("id") or "")
        with self.db.read() as conn:
            factor = self.store.active_credential(conn, tenant, "webauthn", credential_id)
        if factor is None or factor.subject_id != row.subject_id or factor.public_key is None:
            raise StepUpFailed("this passkey is not registered for this customer")
        require_uv = json.loads(row.payload).get("uv", False)
        try:
            verified = verify_authentication_response(
                credential=dict(parsed),
                expected_challenge=_unb64url(row.secret),
                expected_rp_id=self.settings.rp_id,
                expected_origin=list(self.settings.origins),
                credential_public_key=bytes(factor.public_key),
                credential_current_sign_count=factor.sign_count,
                require_user_verification=require_uv,
            )
        except WebAuthnException as failed:
            raise StepUpFailed(f"the passkey assertion does not verify: {_short(failed)}") from None
        except (ValueError, TypeError, KeyError):
            raise StepUpFailed("the passkey assertion is malformed") from None
        with self.db.begin() as conn:
            moved = self.store.advance_sign_count(
                conn, factor.id, verified.new_sign_count, self.clock()
            )
        if not moved:
            raise StepUpFailed("the passkey's counter went backwards (a cloned authenticator?)")
        return Assurance.HIGH if verified.user_verified else Assurance.SUBSTANTIAL

    # ------------------------------------------------------------------ voice
    def _voice_possession(
        self, tenant: str, subject: str, possession: VoicePossession | None
    ) -> str:
        """How possession is proven for this voice transaction ("line", or "device:<key id>"
        to be signed at completion); refused when the line cannot stand for it."""
        if possession is None:
            raise InvalidValue("a voice PIN needs the possession the voice channel gives")
        if possession.device_key_id is not None:
            with self.db.read() as conn:
                keys = self.store.factors(
                    conn,
                    tenant,
                    subject,
                    kinds=("device",),
                    active=True,
                    only=str(possession.device_key_id)[:40],
                )
            if not keys:
                raise FactorNotEnrolled("no such linked voice assistant for this customer")
            return f"device:{keys[0].id}"
        key = self._key(tenant)
        with self.db.read() as conn:
            held = self._active_factors(conn, tenant, subject, "caller")
        theirs = self._their_line(held, tenant, subject, key, possession.caller_number)
        number, _ = phone_e164(possession.caller_number)
        if number is None or theirs != keyed(key, "phone", number):
            raise FactorWithheld("the call does not come from the customer's registered line")
        if possession.attestation != "A":
            raise FactorWithheld("the calling line is not fully attested (STIR/SHAKEN A)")
        if possession.sim_swapped is not False:
            raise FactorWithheld(
                "the operator does not confirm the line's SIM is unchanged: no possession"
            )
        return "line"

    def _verify_voice_pin(
        self,
        tenant: str,
        row: StoredChallenge,
        code: str | None,
        credential: Mapping[str, Any] | str | None,
    ) -> Assurance:
        """The PIN against its sealed argon2id hash; and the assistant's signature when its
        key stands for possession."""
        if not isinstance(code, str) or len(code) != VOICE_PIN_DIGITS or not code.isdigit():
            raise StepUpFailed(f"the voice PIN is {VOICE_PIN_DIGITS} digits")
        factor = self._factor_row(tenant, row.factor_id)
        if factor.secret is None:
            raise FactorNotEnrolled("no voice PIN is set")
        hashed = self.vault.open_secret(tenant, factor.subject_id, "voice-pin", factor.secret)
        try:
            PIN_HASHER.verify(hashed.decode(), code)
        except (VerificationError, InvalidHashError):
            raise StepUpFailed("the voice PIN is wrong") from None
        possession = str(json.loads(row.payload).get("possession", ""))
        if possession.startswith("device:"):
            parsed = _credential(credential if credential is not None else {})
            if parsed.get("key_id") != possession.removeprefix("device:"):
                raise StepUpFailed("the linked voice assistant must sign this payment")
            self._verify_app(tenant, row, parsed)
        return Assurance.SUBSTANTIAL
