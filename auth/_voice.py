"""Strong customer authentication by voice (a callbot, a voice assistant): no screen for a
passkey, and no code read out into a recording.

Knowledge is a voice PIN, set in the portal or the app, kept as an argon2id hash sealed by the
vault under the customer's key (a database reader sees neither; erasing the customer shreds
it). Possession comes from the voice channel itself: the registered calling line with full
STIR/SHAKEN attestation and no recent SIM change, or a voice-assistant account linked to the
customer whose device-bound key signs the transaction. Either way the challenge is bound to
the amount and payee that were spoken back (PSD2 RTS Art. 5, dynamic linking).
"""

from __future__ import annotations

import itertools

from tessera.vault import InvalidValue, check_tenant

from ._enrolment import _Enrolment
from ._factors import PIN_HASHER
from ._types import VOICE_PIN_DIGITS, FactorInfo

__all__ = ["_VoicePins", "check_voice_pin"]


def check_voice_pin(pin: object) -> str:
    """A voice PIN as it may be set: six digits, not one digit repeated nor a run."""
    if not isinstance(pin, str) or len(pin) != VOICE_PIN_DIGITS or not pin.isdigit():
        raise InvalidValue(f"a voice PIN is {VOICE_PIN_DIGITS} digits")
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if len(set(pin)) == 1 or steps in ({1}, {-1}):
        raise InvalidValue("this voice PIN is too easy to guess (a repeated digit or a run)")
    return pin


class _VoicePins(_Enrolment):
    """Part of `Authenticator`, built on the parts below it (_Enrolment)."""

    def set_voice_pin(self, tenant: str, session_id: str, pin: str) -> FactorInfo:
        """Set (or replace) the customer's voice PIN, from a fresh strong session."""
        check_tenant(tenant)
        session = self._strong_session(tenant, session_id)
        subject = session.subject_id
        hashed = PIN_HASHER.hash(check_voice_pin(pin)).encode()
        sealed = self.vault.seal_secret(tenant, subject, "voice-pin", hashed)
        with self.db.read() as conn:
            old = self._active_factors(conn, tenant, subject, "voice_pin")
        factor = self._add_factor(tenant, subject, "voice_pin", label="voice PIN", secret=sealed)
        for previous in old:
            self.revoke_factor(tenant, subject, previous.id)
        self._record(tenant, subject, event="factor_enrolled", factor=factor.id, kind="voice_pin")
        return factor
