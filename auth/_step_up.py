"""Step-ups and transaction authentication: challenges, their completion, and the lockout after
consecutive failures (RTS Art. 4(3)(b))."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from tessera import Assurance
from tessera.vault import InvalidValue, check_subject, check_tenant

from ._common import _session_info, _sha256, _signals_from
from ._errors import FactorWithheld, ReplayedCode, StepUpFailed
from ._factors import _FactorChecks
from ._offer import FACTORS, SAFE_FROM_CHANNELS, channel_words
from ._rows import StoredChallenge, StoredFailure
from ._types import Challenge, IssuedSession, SessionInfo, TransactionAuth, VoicePossession

__all__ = ["_StepUps"]

# The stored kind of a factor, where it is not the factor's own name: the app's approval is
# signed by its device key.
_KIND = {"app": "device"}
_TRANSACTION_FACTORS = ("webauthn", "otp", "app", "voice_pin")
# The SCA elements each proves (PSD2 Art. 4(30)): a passkey with user verification, the app's
# key behind its unlock, a code to a registered device, a PIN with the voice line or assistant.
_ELEMENTS = {
    "webauthn": ("possession", "inherence"),
    "app": ("possession", "inherence"),
    "otp": ("knowledge", "possession"),
    "voice_pin": ("knowledge", "possession"),
}


class _StepUps(_FactorChecks):
    """Part of `Authenticator`, built on the parts below it (_FactorChecks)."""

    # ------------------------------------------------------------------ step-up
    def begin_step_up(
        self,
        tenant: str,
        factor: str,
        *,
        decision_id: str | None = None,
        session_id: str | None = None,
        target: Assurance | None = None,
        channel: str | None = None,
        message: str | None = None,
        locale: str | None = None,
    ) -> Challenge:
        """Start a second factor, for a risk decision that asked for one or to raise a session;
        a one-time code is worded in `locale` (en, fr) and signed with the tenant's name."""
        check_tenant(tenant)
        if (decision_id is None) == (session_id is None):
            raise InvalidValue("name a decision_id or a session_id, exactly one")
        if factor not in FACTORS:
            raise InvalidValue(f"factor must be one of: {', '.join(FACTORS)}")
        session_hash = None
        with self.db.read() as conn:
            if decision_id is not None:
                decision = self._pending_decision(conn, tenant, decision_id)
                subject = decision.subject_id
                withheld = frozenset(json.loads(decision.signals).get("withheld", ()))
                if withheld and factor not in SAFE_FROM_CHANNELS:
                    raise FactorWithheld(
                        f"this risk involves {channel_words(withheld)}: a {factor} step-up "
                        "travels over it; use a passkey, TOTP or the app"
                    )
            else:
                row = self._live_session(conn, tenant, str(session_id))
                subject, session_hash = row.subject_id, row.id_sha256
            self._check_lock(conn, tenant, subject)
            factors = self._active_factors(conn, tenant, subject, _KIND.get(factor, factor))
        return self._challenge(
            tenant,
            subject,
            factor,
            factors,
            kind=f"step-up-{factor}",
            target=target,
            channel=channel,
            message=message,
            locale=locale,
            decision_id=decision_id,
            session_hash=session_hash,
        )

    def begin_transaction(
        self,
        tenant: str,
        subject: str,
        factor: str,
        *,
        binding: bytes,
        message: str,
        channel: str | None = None,
        possession: VoicePossession | None = None,
        locale: str | None = None,
    ) -> Challenge:
        """Authenticate one transaction, bound to what it is (PSD2 RTS Art. 5, dynamic linking).

        `binding` names the transaction (for a payment: its id, amount, currency, payee and a
        nonce). A passkey signs a challenge derived from it, as Secure Payment Confirmation
        does; a one-time code is sent with `message` stating the amount and the payee. Either
        completes only against the same binding: a changed amount or payee is refused. By
        voice (`voice_pin`), `message` is what the dialogue speaks back, the PIN is the
        knowledge and `possession` what the voice channel shows of possession.
        """
        check_tenant(tenant)
        subject = check_subject(subject)
        if factor not in _TRANSACTION_FACTORS:
            raise InvalidValue(
                f"a transaction is authenticated with one of: {', '.join(_TRANSACTION_FACTORS)}"
            )
        if not isinstance(binding, bytes) or not binding or len(binding) > 4096:
            raise InvalidValue("a transaction binding is required")
        proof = (
            self._voice_possession(tenant, subject, possession) if factor == "voice_pin" else None
        )
        with self.db.read() as conn:
            self._check_lock(conn, tenant, subject)
            factors = self._active_factors(conn, tenant, subject, _KIND.get(factor, factor))
        return self._challenge(
            tenant,
            subject,
            factor,
            factors,
            kind=f"transaction-{factor}",
            target=Assurance.HIGH if factor == "webauthn" else None,
            channel=channel,
            message=message,
            binding=binding,
            possession=proof,
            locale=locale,
        )

    def complete_transaction(
        self,
        tenant: str,
        challenge_id: str,
        *,
        binding: bytes,
        code: str | None = None,
        credential: Mapping[str, Any] | str | None = None,
        decision_id: str | None = None,
    ) -> TransactionAuth:
        """Check the factor and that the transaction is still the one it was bound to.

        `decision_id` names the risk decision that asked for this authentication: once passed,
        its signals teach the customer's profile, as a passed step-up does (a device that
        confirmed a payment strongly is a known device the next time)."""
        check_tenant(tenant)
        with self.db.read() as conn:
            kinds = tuple(f"transaction-{f}" for f in _TRANSACTION_FACTORS)
            row = self._take_challenge(conn, tenant, challenge_id, kinds)
        kind = row.kind.removeprefix("transaction-")
        bound = json.loads(row.payload).get("binding", "")
        try:
            if not hmac.compare_digest(bound, hashlib.sha256(binding).hexdigest()):
                raise StepUpFailed(
                    "the transaction changed since it was authenticated (amount or payee)"
                )
            if kind == "otp":
                granted = self._verify_otp(tenant, row, code)
            elif kind == "app":
                granted = self._verify_app(tenant, row, credential)
            elif kind == "voice_pin":
                granted = self._verify_voice_pin(tenant, row, code, credential)
            else:
                granted = self._verify_webauthn(tenant, row, credential)
        except StepUpFailed as failed:
            self._fail(tenant, row)
            self._record(
                tenant, row.subject_id, event="transaction_auth", factor=kind, outcome="failed"
            )
            raise StepUpFailed(failed.detail, attempts_left=self._attempts_left(row)) from None
        now = self.clock()
        with self.db.begin() as conn:
            self._consume(conn, row.id, now)
            self._reset_failures(conn, tenant, row.subject_id)
            if decision_id is not None:
                self._pass_decision(conn, tenant, row.subject_id, str(decision_id)[:40], now)
        assurance = min(granted, Assurance(row.target))
        self._record(
            tenant,
            row.subject_id,
            event="transaction_auth",
            factor=kind,
            outcome="passed",
            assurance=assurance.name.lower(),
        )
        possession = json.loads(row.payload).get("possession")
        return TransactionAuth(
            row.subject_id,
            kind,
            assurance,
            _ELEMENTS[kind],
            str(possession).split(":")[0] if possession else None,
        )

    def complete_step_up(
        self,
        tenant: str,
        challenge_id: str,
        *,
        code: str | None = None,
        credential: Mapping[str, Any] | str | None = None,
        factor: str | None = None,
    ) -> tuple[IssuedSession | None, SessionInfo]:
        """Check the factor; a passed step-up opens (or raises) the session and teaches the
        profile. Returns the new bearer session for a decision, and the session's state."""
        check_tenant(tenant)
        with self.db.read() as conn:
            kinds = tuple(f"step-up-{f}" for f in FACTORS)
            row = self._take_challenge(
                conn, tenant, challenge_id, (f"step-up-{factor}",) if factor else kinds
            )
        kind = row.kind.removeprefix("step-up-")
        try:
            if kind == "totp":
                granted = self._verify_totp(tenant, row, code)
            elif kind == "otp":
                granted = self._verify_otp(tenant, row, code)
            elif kind == "app":
                granted = self._verify_app(tenant, row, credential)
            else:
                granted = self._verify_webauthn(tenant, row, credential)
        except StepUpFailed as failed:
            self._fail(tenant, row)
            self._record(
                tenant,
                row.subject_id,
                event="step_up",
                factor=kind,
                decision_id=row.decision_id,
                outcome="failed",
            )
            raise StepUpFailed(failed.detail, attempts_left=self._attempts_left(row)) from None
        return self._pass(
            tenant,
            row,
            min(granted, Assurance(row.target)) if kind != "webauthn" else granted,
            kind,
        )

    def _pass_decision(
        self,
        conn: Connection,
        tenant: str,
        subject: str,
        decision_id: str,
        now: dt.datetime,
        *,
        was: str = "pending",
    ) -> str | None:
        """Mark a risk decision passed and let its signals teach the profile (the factor proved
        the customer); its scope, or None if it was not `was`."""
        passed = self.store.pass_decision(conn, tenant, subject, decision_id, now, was=was)
        if passed is None:
            return None
        signals, scope = passed
        self._learn(conn, tenant, subject, _signals_from(json.loads(signals)))
        return scope

    def _attempts_left(self, row: StoredChallenge) -> int:
        return max(self.settings.challenge_attempts - int(row.attempts) - 1, 0)

    def _pass(
        self, tenant: str, row: StoredChallenge, assurance: Assurance, kind: str
    ) -> tuple[IssuedSession | None, SessionInfo]:
        now = self.clock()
        issued = None
        with self.db.begin() as conn:
            self._consume(conn, row.id, now)
            self._reset_failures(conn, tenant, row.subject_id)
            if kind == "otp" and row.factor_id is not None:  # TOTP and passkeys note their own
                self.store.factor_used(conn, row.factor_id, now)
            if row.decision_id is not None:
                scope = self._pass_decision(conn, tenant, row.subject_id, row.decision_id, now)
                if scope is None:
                    raise ReplayedCode("this decision was already resolved")
                issued = self._open_session(
                    conn,
                    tenant,
                    row.subject_id,
                    assurance,
                    scope,
                    ("risk", kind),
                    row.decision_id,
                )
                session_hash = _sha256(issued.id)
            else:
                session_hash = str(row.session_sha256)
                current = self.store.session(conn, session_hash)
                if current is None:
                    raise ReplayedCode("the session of this step-up no longer exists")
                if current.decision_id is not None:
                    # A session the risk let in silently, proven now: the sign-in it began
                    # with teaches the profile (once; a second step-up finds it passed).
                    self._pass_decision(
                        conn, tenant, row.subject_id, current.decision_id, now, was="allowed"
                    )
                factors = ",".join(dict.fromkeys([*current.factors.split(","), kind]))
                self.store.raise_session(
                    conn,
                    session_hash,
                    assurance=max(int(assurance), current.assurance),
                    factors=factors[:200],
                    now=now,
                )
            fresh = self.store.session(conn, session_hash)
            assert fresh is not None  # read in the transaction that wrote it
            self._record_in(  # the raised session and its record commit together
                conn,
                tenant,
                row.subject_id,
                event="step_up",
                factor=kind,
                decision_id=row.decision_id,
                outcome="passed",
                assurance=Assurance(fresh.assurance).name.lower(),
            )
        return issued, _session_info(fresh)

    def _fail(self, tenant: str, row: StoredChallenge) -> None:
        """Count a failed attempt on the challenge, the account, its device and network."""
        now = self.clock()
        signals: dict[str, Any] = {}
        with self.db.begin() as conn:
            spent = row.attempts + 1 >= self.settings.challenge_attempts
            self.store.count_attempt(conn, row.id, spent_at=now if spent else None)
            if row.decision_id:
                found = self.store.decision_signals(conn, row.decision_id)
                signals = json.loads(found) if found else {}
            keys = self._failure_keys(tenant, row.subject_id, signals)
            known = self.store.failures(conn, tenant, keys)
            for key in keys:
                count = (known[key].consecutive if key in known else 0) + 1
                locked = (
                    now + self.settings.lock_for
                    if key.startswith("account:") and count >= self.settings.max_failures
                    else (known[key].locked_until if key in known else None)
                )
                self.store.put_failure(
                    conn,
                    StoredFailure(
                        tenant_id=tenant,
                        key=key,
                        consecutive=count,
                        last_at=now,
                        locked_until=locked,
                    ),
                )

    def _reset_failures(self, conn: Connection, tenant: str, subject: str) -> None:
        self.store.clear_failures(conn, tenant, self._account_key(tenant, subject))
