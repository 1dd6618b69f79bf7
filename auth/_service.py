"""The authenticator: risk decisions, sessions with an assurance level, step-ups and enrolments.

Low risk passes silently with a low-assurance session; higher risk asks for a second factor
(TOTP, a passkey, a one-time code to a registered channel) and only a passed step-up teaches
the customer's profile. PSD2 RTS limits apply: 5 consecutive failures block for a while
(Art. 4(3)(b)); a payment session ends after 5 minutes without activity (Art. 4(3)(d)).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import pyotp
import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from tessera import Assurance, b64url_decode, b64url_encode
from tessera.storage import Database, as_utc, utcnow
from tessera.vault import DataCategory, InvalidValue, Vault, check_subject, check_tenant, mask

from ._errors import (
    AccountLocked,
    ChallengeExpired,
    FactorNotEnrolled,
    InvalidSignal,
    ReplayedCode,
    SessionExpired,
    StepUpFailed,
    StrongAuthRequired,
    UnknownChallenge,
    UnknownDecision,
    UnknownSession,
)
from ._notify import Notifier
from ._risk import (
    DEFAULT_THRESHOLDS,
    FEATURES,
    Population,
    Profile,
    RiskAction,
    RiskDecision,
    Signals,
    Thresholds,
    assess,
)
from ._signals import NetworkIntel, Observation, extract, keyed, phone_e164
from ._tables import (
    AuthChallengeRow,
    AuthDecisionRow,
    AuthFactorRow,
    AuthFailureRow,
    AuthPopulationRow,
    AuthProfileRow,
    AuthSessionRow,
)

__all__ = [
    "Assessment",
    "AuthRecorder",
    "AuthSettings",
    "Authenticator",
    "Challenge",
    "DecisionRecord",
    "DeviceProof",
    "FactorInfo",
    "IssuedSession",
    "SessionInfo",
    "TotpEnrolment",
    "TransactionAuth",
]


class AuthRecorder(Protocol):
    """Where decisions and step-up outcomes are answered for (the audit trail, wired by trust)."""

    def auth_recorded(self, tenant: str, subject: str, facts: dict[str, Any]) -> None: ...


_OTP_CHANNELS = {"sms": DataCategory.PHONE, "messaging": DataCategory.PHONE, "email": None}
_FACTOR_CEILING = {"totp": Assurance.SUBSTANTIAL, "otp": Assurance.SUBSTANTIAL}
_SCOPES = frozenset({"account", "payment"})


@dataclass(frozen=True, slots=True)
class AuthSettings:
    rp_id: str = "localhost"
    rp_name: str = "Tessera"
    origins: tuple[str, ...] = ("http://localhost:8000",)
    issuer: str = "Tessera"
    session_idle: dt.timedelta = dt.timedelta(minutes=30)
    payment_idle: dt.timedelta = dt.timedelta(minutes=5)  # PSD2 RTS Art. 4(3)(d)
    session_max: dt.timedelta = dt.timedelta(hours=12)
    max_failures: int = 5  # PSD2 RTS Art. 4(3)(b)
    lock_for: dt.timedelta = dt.timedelta(minutes=30)
    challenge_ttl: dt.timedelta = dt.timedelta(minutes=5)
    challenge_attempts: int = 3
    decision_ttl: dt.timedelta = dt.timedelta(minutes=10)
    enrol_freshness: dt.timedelta = dt.timedelta(minutes=10)
    retention: dt.timedelta = dt.timedelta(days=180)
    thresholds: Mapping[RiskAction, Thresholds] = field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS)
    )
    # Per tenant, whole tables (build them with `thresholds_table`): a bank's contact centre
    # may step up payments sooner than a retailer's sharing the same deployment.
    tenant_thresholds: Mapping[str, Mapping[RiskAction, Thresholds]] = field(default_factory=dict)

    def thresholds_for(self, tenant: str) -> Mapping[RiskAction, Thresholds]:
        return self.tenant_thresholds.get(tenant, self.thresholds)


@dataclass(frozen=True, slots=True)
class DeviceProof:
    """The app's device-bound key signed a nonce Tessera issued (`device_nonce`)."""

    key_id: str
    nonce_id: str
    signature: str  # base64url


@dataclass(frozen=True, slots=True)
class IssuedSession:
    id: str = field(repr=False)
    subject: str
    assurance: Assurance
    scope: str
    expires_at: dt.datetime
    idle_timeout_s: int


@dataclass(frozen=True, slots=True)
class SessionInfo:
    subject: str
    assurance: Assurance
    scope: str
    factors: tuple[str, ...]
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    strong_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Assessment:
    decision_id: str
    decision: RiskDecision
    score: float
    explanation: str
    contributions: dict[str, float]
    session: IssuedSession | None = None
    factors: tuple[str, ...] = ()  # what the customer can step up with


@dataclass(frozen=True, slots=True)
class TransactionAuth:
    """A transaction authenticated by its payer, bound to what it was (dynamic linking)."""

    subject: str
    factor: str
    assurance: Assurance


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    kind: str
    expires_at: dt.datetime
    target: Assurance
    options: dict[str, Any] | None = None  # WebAuthn options for the browser
    sent_to: str | None = None  # masked destination of a one-time code


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    factor_id: str
    uri: str = field(repr=False)
    secret: str = field(repr=False)
    qr_svg: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class FactorInfo:
    id: str
    kind: str
    label: str
    status: str
    channel: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    id: str
    tenant: str
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


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _unb64url(text: str) -> bytes:
    try:
        return b64url_decode(text)
    except (ValueError, TypeError):
        raise InvalidSignal("not base64url") from None


class Authenticator:
    """Invisible strong authentication for one deployment (all tenants)."""

    def __init__(
        self,
        *,
        db: Database,
        vault: Vault,
        notifier: Notifier,
        settings: AuthSettings | None = None,
        intel: NetworkIntel | None = None,
        recorder: AuthRecorder | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.recorder = recorder
        self.db = db
        self.vault = vault
        self.notifier = notifier
        self.settings = settings or AuthSettings()
        self.intel = intel or NetworkIntel()
        self.clock = clock

    # ------------------------------------------------------------------ helpers
    def _record(self, tenant: str, subject: str, **facts: Any) -> None:
        if self.recorder is not None:
            self.recorder.auth_recorded(tenant, subject, facts)

    def _key(self, tenant: str) -> bytes:
        return self.vault.tenant_secret(tenant, "auth-signals")

    def _profile(self, conn: Any, tenant: str, subject: str) -> tuple[Profile, Any]:
        t = AuthProfileRow.__table__
        row = conn.execute(
            select(t).where(t.c.tenant_id == tenant, t.c.subject_id == subject)
        ).first()
        if row is None:
            return Profile(), None
        return Profile(row.sessions, json.loads(row.counts)), row

    def _population(self, conn: Any, tenant: str) -> Population:
        t = AuthPopulationRow.__table__
        row = conn.execute(select(t).where(t.c.tenant_id == tenant)).first()
        if row is None:
            return Population()
        counts = json.loads(row.counts)
        return Population(row.sessions, counts, {f: len(counts.get(f, {})) for f in FEATURES})

    def _failures(self, conn: Any, tenant: str, keys: list[str]) -> dict[str, Any]:
        t = AuthFailureRow.__table__
        rows = conn.execute(select(t).where(t.c.tenant_id == tenant, t.c.key.in_(keys))).all()
        return {row.key: row for row in rows}

    def _failure_keys(self, tenant: str, subject: str, signals: Mapping[str, Any]) -> list[str]:
        keys = [f"account:{keyed(self._key(tenant), 'account', subject)}"]
        if signals.get("device"):
            keys.append(f"device:{signals['device']}")
        if signals.get("network"):
            keys.append(f"net:{keyed(self._key(tenant), 'net', signals['network'])}")
        return keys

    def _check_lock(self, conn: Any, tenant: str, subject: str) -> None:
        account = f"account:{keyed(self._key(tenant), 'account', subject)}"
        row = self._failures(conn, tenant, [account]).get(account)
        now = self.clock()
        if row is not None and row.locked_until and as_utc(row.locked_until) > now:
            wait = int((as_utc(row.locked_until) - now).total_seconds()) + 1
            raise AccountLocked(
                f"blocked after {self.settings.max_failures} failed attempts; try again later",
                retry_after=wait,
            )

    def _put(self, conn: Any, table: Any, key: dict[str, Any], values: dict[str, Any]) -> None:
        statement = self.db.upsert(table, key=list(key), update=list(values))
        conn.execute(statement, [key | values])

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
        ct, ft = AuthChallengeRow.__table__, AuthFactorRow.__table__
        now = self.clock()
        with self.db.begin() as conn:
            taken = conn.execute(
                update(ct)
                .where(
                    ct.c.id == proof.nonce_id,
                    ct.c.tenant_id == tenant,
                    ct.c.subject_id == subject,
                    ct.c.kind == "device-nonce",
                    ct.c.consumed_at.is_(None),
                    ct.c.expires_at > now,
                )
                .values(consumed_at=now)
                .returning(ct.c.secret)
            ).first()
            key = conn.execute(
                select(ft.c.public_key).where(
                    ft.c.id == proof.key_id,
                    ft.c.tenant_id == tenant,
                    ft.c.subject_id == subject,
                    ft.c.kind == "device",
                    ft.c.status == "active",
                )
            ).first()
        if taken is None or key is None:
            return False
        message = f"tessera-device/1|{tenant}|{subject}|{taken.secret}".encode()
        try:
            public = load_der_public_key(key.public_key)
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
                last_at=as_utc(row.last_auth_at) if row and row.last_auth_at else None,
            )
            failures = self._failures(
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
            conn.execute(
                insert(AuthDecisionRow.__table__).values(
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
                )
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

    def _bound_senders(self, conn: Any, tenant: str, subject: str) -> frozenset[str]:
        return frozenset(
            r.credential_id for r in self._active_factors(conn, tenant, subject, "sender")
        )

    def _registered_number(self, conn: Any, tenant: str, subject: str) -> str | None:
        rows = self._active_factors(conn, tenant, subject, "caller")
        return rows[0].credential_id if rows else None

    def _factor_kinds(self, conn: Any, tenant: str, subject: str) -> tuple[str, ...]:
        rows = self._active_factors(conn, tenant, subject, "totp", "webauthn", "otp")
        return tuple(sorted({r.kind for r in rows}))

    def _learn(self, conn: Any, tenant: str, subject: str, signals: Signals) -> None:
        """Teach the profile and the population; only called after a passed authentication."""
        now = self.clock()
        profile, _ = self._profile(conn, tenant, subject)
        learnt = profile.learn(signals)
        pt = AuthProfileRow.__table__
        values = {
            "sessions": learnt.sessions,
            "counts": json.dumps(learnt.counts, sort_keys=True),
            "updated_at": now,
        }
        if signals.country:  # where and when they last authenticated: for impossible travel
            values |= {"last_country": signals.country, "last_auth_at": now}
        self._put(conn, pt, {"tenant_id": tenant, "subject_id": subject}, values)
        population = self._population(conn, tenant).learn(signals)
        self._put(
            conn,
            AuthPopulationRow.__table__,
            {"tenant_id": tenant},
            {
                "sessions": population.sessions,
                "counts": json.dumps(population.counts, sort_keys=True),
                "updated_at": now,
            },
        )

    # ------------------------------------------------------------------ sessions
    def _open_session(
        self,
        conn: Any,
        tenant: str,
        subject: str,
        assurance: Assurance,
        scope: str,
        factors: tuple[str, ...],
        decision_id: str | None,
    ) -> IssuedSession:
        now = self.clock()
        bearer = "ses_" + secrets.token_urlsafe(24)
        expires = now + self.settings.session_max
        conn.execute(
            insert(AuthSessionRow.__table__).values(
                id_sha256=_sha256(bearer),
                tenant_id=tenant,
                subject_id=subject,
                assurance=int(assurance),
                scope=scope,
                factors=",".join(factors),
                decision_id=decision_id,
                created_at=now,
                strong_at=now if assurance > Assurance.LOW else None,
                last_seen_at=now,
                expires_at=expires,
            )
        )
        return IssuedSession(
            bearer, subject, assurance, scope, expires, int(self._idle(scope).total_seconds())
        )

    def _idle(self, scope: str) -> dt.timedelta:
        return self.settings.payment_idle if scope == "payment" else self.settings.session_idle

    def _live_session(self, conn: Any, tenant: str, session_id: str) -> Any:
        if not isinstance(session_id, str) or not session_id.startswith("ses_"):
            raise UnknownSession("no such session")
        t = AuthSessionRow.__table__
        row = conn.execute(
            select(t).where(t.c.id_sha256 == _sha256(session_id), t.c.tenant_id == tenant)
        ).first()
        if row is None:
            raise UnknownSession("no such session")
        now = self.clock()
        if row.ended_at is not None:
            raise SessionExpired("the session was ended")
        if as_utc(row.expires_at) <= now:
            raise SessionExpired("the session is past its maximum age")
        if now - as_utc(row.last_seen_at) > self._idle(row.scope):
            raise SessionExpired(
                f"the session ended after {int(self._idle(row.scope).total_seconds() // 60)} "
                "minutes without activity"
            )
        return row

    def session(self, tenant: str, session_id: str, *, touch: bool = True) -> SessionInfo:
        """The live session behind a bearer id; each use counts as activity."""
        check_tenant(tenant)
        t = AuthSessionRow.__table__
        with self.db.begin() as conn:
            row = self._live_session(conn, tenant, session_id)
            now = self.clock()
            if touch:
                conn.execute(
                    update(t).where(t.c.id_sha256 == row.id_sha256).values(last_seen_at=now)
                )
        return _session_info(row, last_seen=now if touch else None)

    def end_session(self, tenant: str, session_id: str) -> None:
        check_tenant(tenant)
        t = AuthSessionRow.__table__
        with self.db.begin() as conn:
            row = self._live_session(conn, tenant, session_id)
            conn.execute(
                update(t).where(t.c.id_sha256 == row.id_sha256).values(ended_at=self.clock())
            )

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
    ) -> Challenge:
        """Start a second factor, for a risk decision that asked for one or to raise a session."""
        check_tenant(tenant)
        if (decision_id is None) == (session_id is None):
            raise InvalidValue("name a decision_id or a session_id, exactly one")
        if factor not in ("totp", "webauthn", "otp"):
            raise InvalidValue("factor must be totp, webauthn or otp")
        session_hash = None
        with self.db.read() as conn:
            if decision_id is not None:
                subject = self._pending_decision(conn, tenant, decision_id).subject_id
            else:
                row = self._live_session(conn, tenant, str(session_id))
                subject, session_hash = row.subject_id, row.id_sha256
            self._check_lock(conn, tenant, subject)
            factors = self._active_factors(conn, tenant, subject, factor)
        return self._challenge(
            tenant,
            subject,
            factor,
            factors,
            kind=f"step-up-{factor}",
            target=target,
            channel=channel,
            message=message,
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
    ) -> Challenge:
        """Authenticate one transaction, bound to what it is (PSD2 RTS Art. 5, dynamic linking).

        `binding` names the transaction (for a payment: its id, amount, currency, payee and a
        nonce). A passkey signs a challenge derived from it, as Secure Payment Confirmation
        does; a one-time code is sent with `message` stating the amount and the payee. Either
        completes only against the same binding: a changed amount or payee is refused.
        """
        check_tenant(tenant)
        subject = check_subject(subject)
        if factor not in ("webauthn", "otp"):
            raise InvalidValue("a transaction is authenticated with webauthn or otp")
        if not isinstance(binding, bytes) or not binding or len(binding) > 4096:
            raise InvalidValue("a transaction binding is required")
        with self.db.read() as conn:
            self._check_lock(conn, tenant, subject)
            factors = self._active_factors(conn, tenant, subject, factor)
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
            kinds = ("transaction-otp", "transaction-webauthn")
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
            _consume(conn, row.id, now)
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
        return TransactionAuth(row.subject_id, kind, assurance)

    def _challenge(
        self,
        tenant: str,
        subject: str,
        factor: str,
        factors: list[Any],
        *,
        kind: str,
        target: Assurance | None,
        channel: str | None,
        message: str | None,
        decision_id: str | None = None,
        session_hash: str | None = None,
        binding: bytes | None = None,
    ) -> Challenge:
        wanted = target or (Assurance.HIGH if factor == "webauthn" else Assurance.SUBSTANTIAL)
        ceiling = _FACTOR_CEILING.get(factor, Assurance.HIGH)
        if wanted > ceiling:
            raise InvalidValue(f"{factor} gives {ceiling.name.lower()} assurance at most")
        if not factors:
            raise FactorNotEnrolled(f"no {factor} factor is enrolled for this customer")
        challenge_id = _new_id("chl")
        secret, payload, options, sent_to, factor_id = "", {}, None, None, None
        if factor == "totp":
            factor_id = factors[0].id
        elif factor == "otp":
            chosen = [f for f in factors if channel in (None, f.channel)]
            if not chosen:
                raise FactorNotEnrolled(f"no one-time-code destination on {channel}")
            destination = chosen[0]
            factor_id = destination.id
            code = f"{secrets.randbelow(10**6):06d}"
            secret = self._code_hash(tenant, challenge_id, code)
            value = self.vault.detokenize(tenant, destination.destination).value
            minutes = int(self.settings.challenge_ttl.total_seconds() // 60)
            text = message or "Your verification code"
            self.notifier.send(
                tenant,
                destination.channel,
                value,
                f"{text}: {code}. It expires in {minutes} minutes. Never share it.",
            )
            category = DataCategory.EMAIL if destination.channel == "email" else DataCategory.PHONE
            sent_to = mask(category, value)
        else:
            raw = secrets.token_bytes(32)
            if binding is not None:  # derived from the transaction, as SPC does
                raw = hashlib.sha256(binding + raw).digest()
            secret = b64url_encode(raw)
            options = self._webauthn_request(raw, factors, wanted)
            payload = {"uv": wanted >= Assurance.HIGH}
        if binding is not None:
            payload["binding"] = hashlib.sha256(binding).hexdigest()
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
        **links: str | None,
    ) -> dt.datetime:
        """Store one pending challenge (single use, short-lived); returns its expiry."""
        now = self.clock()
        expires = now + (ttl or self.settings.challenge_ttl)
        with self.db.begin() as conn:
            conn.execute(
                insert(AuthChallengeRow.__table__).values(
                    id=challenge_id,
                    tenant_id=tenant,
                    subject_id=subject,
                    kind=kind,
                    target=int(target),
                    secret=secret,
                    payload=json.dumps(payload or {}),
                    attempts=0,
                    created_at=now,
                    expires_at=expires,
                    **links,
                )
            )
        return expires

    def _pending_decision(self, conn: Any, tenant: str, decision_id: str) -> Any:
        t = AuthDecisionRow.__table__
        row = conn.execute(
            select(t).where(t.c.id == str(decision_id)[:40], t.c.tenant_id == tenant)
        ).first()
        if row is None:
            raise UnknownDecision("no such risk decision")
        if row.decision == RiskDecision.DENY.value:
            raise InvalidValue("a denied decision cannot be stepped up")
        if row.status == "allowed":
            raise InvalidValue("this decision allowed the sign-in; step up its session instead")
        if row.status != "pending":
            raise ReplayedCode("this decision was already resolved")
        if self.clock() - as_utc(row.created_at) > self.settings.decision_ttl:
            raise ChallengeExpired("the risk decision expired; assess again")
        return row

    def _active_factors(self, conn: Any, tenant: str, subject: str, *kinds: str) -> list[Any]:
        t = AuthFactorRow.__table__
        return list(
            conn.execute(
                select(t)
                .where(
                    t.c.tenant_id == tenant,
                    t.c.subject_id == subject,
                    t.c.kind.in_(kinds),
                    t.c.status == "active",
                )
                .order_by(t.c.created_at)
            ).all()
        )

    def _code_hash(self, tenant: str, challenge_id: str, code: str) -> str:
        return keyed(self.vault.tenant_secret(tenant, "auth-codes"), challenge_id, code)

    def _take_challenge(self, conn: Any, tenant: str, challenge_id: str, kinds: tuple[str, ...]):  # type: ignore[no-untyped-def]
        t = AuthChallengeRow.__table__
        row = conn.execute(
            select(t).where(t.c.id == str(challenge_id)[:40], t.c.tenant_id == tenant)
        ).first()
        if row is None or row.kind not in kinds:
            raise UnknownChallenge("no such challenge")
        if row.consumed_at is not None:
            raise ReplayedCode("this challenge was already used")
        if as_utc(row.expires_at) <= self.clock():
            raise ChallengeExpired("the challenge expired; begin again")
        self._check_lock(conn, tenant, row.subject_id)
        return row

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
            kinds = ("step-up-totp", "step-up-otp", "step-up-webauthn")
            row = self._take_challenge(
                conn, tenant, challenge_id, (f"step-up-{factor}",) if factor else kinds
            )
        kind = row.kind.removeprefix("step-up-")
        try:
            if kind == "totp":
                granted = self._verify_totp(tenant, row, code)
            elif kind == "otp":
                granted = self._verify_otp(tenant, row, code)
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
        self, conn: Any, tenant: str, subject: str, decision_id: str, now: dt.datetime
    ) -> str | None:
        """Mark a pending risk decision passed and let its signals teach the profile (the
        factor proved the customer); its scope, or None if it was not pending."""
        dt_ = AuthDecisionRow.__table__
        decision = conn.execute(
            update(dt_)
            .where(
                dt_.c.id == decision_id,
                dt_.c.tenant_id == tenant,
                dt_.c.subject_id == subject,
                dt_.c.status == "pending",
            )
            .values(status="passed", resolved_at=now)
            .returning(dt_.c.signals, dt_.c.scope)
        ).first()
        if decision is None:
            return None
        self._learn(conn, tenant, subject, _signals_from(json.loads(decision.signals)))
        return str(decision.scope)

    def _attempts_left(self, row: Any) -> int:
        return max(self.settings.challenge_attempts - row.attempts - 1, 0)

    def _pass(
        self, tenant: str, row: Any, assurance: Assurance, kind: str
    ) -> tuple[IssuedSession | None, SessionInfo]:
        now = self.clock()
        st = AuthSessionRow.__table__
        issued = None
        with self.db.begin() as conn:
            _consume(conn, row.id, now)
            self._reset_failures(conn, tenant, row.subject_id)
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
                session_hash = row.session_sha256
                current = conn.execute(select(st).where(st.c.id_sha256 == session_hash)).first()
                factors = ",".join(dict.fromkeys([*current.factors.split(","), kind]))
                conn.execute(
                    update(st)
                    .where(st.c.id_sha256 == session_hash)
                    .values(
                        assurance=max(int(assurance), current.assurance),
                        factors=factors[:200],
                        strong_at=now,
                        last_seen_at=now,
                    )
                )
            fresh = conn.execute(select(st).where(st.c.id_sha256 == session_hash)).first()
        self._record(
            tenant,
            row.subject_id,
            event="step_up",
            factor=kind,
            decision_id=row.decision_id,
            outcome="passed",
            assurance=Assurance(fresh.assurance).name.lower(),
        )
        return issued, _session_info(fresh)

    def _fail(self, tenant: str, row: Any) -> None:
        """Count a failed attempt on the challenge, the account, its device and network."""
        now = self.clock()
        ct, ft = AuthChallengeRow.__table__, AuthFailureRow.__table__
        signals: dict[str, Any] = {}
        with self.db.begin() as conn:
            values: dict[str, Any] = {"attempts": ct.c.attempts + 1}
            if row.attempts + 1 >= self.settings.challenge_attempts:
                values["consumed_at"] = now  # this challenge is spent
            conn.execute(update(ct).where(ct.c.id == row.id).values(**values))
            if row.decision_id:
                dt_ = AuthDecisionRow.__table__
                found = conn.execute(
                    select(dt_.c.signals).where(dt_.c.id == row.decision_id)
                ).first()
                signals = json.loads(found.signals) if found else {}
            keys = self._failure_keys(tenant, row.subject_id, signals)
            known = self._failures(conn, tenant, keys)
            for key in keys:
                count = (known[key].consecutive if key in known else 0) + 1
                locked = (
                    now + self.settings.lock_for
                    if key.startswith("account:") and count >= self.settings.max_failures
                    else (known[key].locked_until if key in known else None)
                )
                self._put(
                    conn,
                    ft,
                    {"tenant_id": tenant, "key": key},
                    {"consecutive": count, "last_at": now, "locked_until": locked},
                )

    def _reset_failures(self, conn: Any, tenant: str, subject: str) -> None:
        ft = AuthFailureRow.__table__
        account = f"account:{keyed(self._key(tenant), 'account', subject)}"
        conn.execute(delete(ft).where(ft.c.tenant_id == tenant, ft.c.key == account))

    # ------------------------------------------------------------------ TOTP
    def _verify_totp(self, tenant: str, row: Any, code: str | None) -> Assurance:
        factor = self._factor_row(tenant, row.factor_id)
        step = self._totp_step(tenant, factor, code)
        ft = AuthFactorRow.__table__
        with self.db.begin() as conn:
            moved = conn.execute(
                update(ft)
                .where(ft.c.id == factor.id, ft.c.last_step < step)
                .values(last_step=step, last_used_at=self.clock())
            ).rowcount
        if not moved:
            raise ReplayedCode("this code was already used; wait for the next one")
        return Assurance.SUBSTANTIAL

    def _totp_step(self, tenant: str, factor: Any, code: str | None) -> int:
        if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
            raise StepUpFailed("the code must be 6 digits")
        seed = self.vault.open_secret(tenant, factor.subject_id, f"totp:{factor.id}", factor.secret)
        totp = pyotp.TOTP(seed.decode())
        now = self.clock()
        current = totp.timecode(now)
        for step in (current, current - 1, current + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                if step <= factor.last_step:
                    raise ReplayedCode("this code was already used; wait for the next one")
                return step
        raise StepUpFailed("the code is wrong or out of date")

    def _factor_row(self, tenant: str, factor_id: str | None) -> Any:
        t = AuthFactorRow.__table__
        with self.db.read() as conn:
            row = conn.execute(
                select(t).where(t.c.id == str(factor_id), t.c.tenant_id == tenant)
            ).first()
        if row is None or row.status == "revoked":
            raise FactorNotEnrolled("the factor no longer exists")
        return row

    def _verify_otp(self, tenant: str, row: Any, code: str | None) -> Assurance:
        if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
            raise StepUpFailed("the code must be 6 digits")
        if not hmac.compare_digest(self._code_hash(tenant, row.id, code), row.secret):
            raise StepUpFailed("the code is wrong")
        return Assurance.SUBSTANTIAL

    # ------------------------------------------------------------------ WebAuthn
    def _webauthn_request(self, challenge: bytes, factors: list[Any], target: Assurance) -> dict:
        from webauthn import generate_authentication_options, options_to_json
        from webauthn.helpers.structs import (
            PublicKeyCredentialDescriptor,
            UserVerificationRequirement,
        )

        options = generate_authentication_options(
            rp_id=self.settings.rp_id,
            challenge=challenge,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=_unb64url(f.credential_id)) for f in factors
            ],
            user_verification=UserVerificationRequirement.REQUIRED
            if target >= Assurance.HIGH
            else UserVerificationRequirement.PREFERRED,
        )
        return json.loads(options_to_json(options))

    def _verify_webauthn(
        self, tenant: str, row: Any, credential: Mapping[str, Any] | str | None
    ) -> Assurance:
        from webauthn import verify_authentication_response
        from webauthn.helpers.exceptions import WebAuthnException

        parsed = _credential(credential)
        credential_id = str(parsed.get("rawId") or parsed.get("id") or "")
        t = AuthFactorRow.__table__
        with self.db.read() as conn:
            factor = conn.execute(
                select(t).where(
                    t.c.tenant_id == tenant,
                    t.c.credential_id == credential_id,
                    t.c.kind == "webauthn",
                    t.c.status == "active",
                )
            ).first()
        if factor is None or factor.subject_id != row.subject_id:
            raise StepUpFailed("this passkey is not registered for this customer")
        require_uv = json.loads(row.payload).get("uv", False)
        try:
            verified = verify_authentication_response(
                credential=dict(parsed),
                expected_challenge=_unb64url(row.secret),
                expected_rp_id=self.settings.rp_id,
                expected_origin=list(self.settings.origins),
                credential_public_key=factor.public_key,
                credential_current_sign_count=factor.sign_count,
                require_user_verification=require_uv,
            )
        except WebAuthnException as failed:
            raise StepUpFailed(f"the passkey assertion does not verify: {_short(failed)}") from None
        except (ValueError, TypeError, KeyError):
            raise StepUpFailed("the passkey assertion is malformed") from None
        with self.db.begin() as conn:
            moved = conn.execute(
                update(t)
                .where(
                    t.c.id == factor.id,
                    # Authenticators that keep no counter send 0 each time; others must grow.
                    (t.c.sign_count < verified.new_sign_count)
                    | and_(t.c.sign_count == 0, verified.new_sign_count == 0),
                )
                .values(sign_count=verified.new_sign_count, last_used_at=self.clock())
            ).rowcount
        if not moved:
            raise StepUpFailed("the passkey's counter went backwards (a cloned authenticator?)")
        return Assurance.HIGH if verified.user_verified else Assurance.SUBSTANTIAL

    # ------------------------------------------------------------------ enrolment
    def _strong_session(self, tenant: str, session_id: str) -> Any:
        with self.db.read() as conn:
            row = self._live_session(conn, tenant, session_id)
        fresh = (
            row.strong_at and self.clock() - as_utc(row.strong_at) <= self.settings.enrol_freshness
        )
        if row.assurance < Assurance.SUBSTANTIAL or not fresh:
            raise StrongAuthRequired(
                "enrolling a factor needs a strong authentication in the last "
                f"{int(self.settings.enrol_freshness.total_seconds() // 60)} minutes"
            )
        return row

    def enrol_totp(
        self, tenant: str, session_id: str, label: str = "authenticator app"
    ) -> TotpEnrolment:
        """A pending TOTP factor; it becomes active once a first code confirms it."""
        check_tenant(tenant)
        session = self._strong_session(tenant, session_id)
        factor_id = _new_id("fac")
        seed = pyotp.random_base32()
        now = self.clock()
        with self.db.begin() as conn:
            conn.execute(
                insert(AuthFactorRow.__table__).values(
                    id=factor_id,
                    tenant_id=tenant,
                    subject_id=session.subject_id,
                    kind="totp",
                    label=_label(label),
                    status="pending",
                    secret=self.vault.seal_secret(
                        tenant, session.subject_id, f"totp:{factor_id}", seed.encode()
                    ),
                    sign_count=0,
                    last_step=0,
                    created_at=now,
                )
            )
        uri = pyotp.TOTP(seed).provisioning_uri(
            name=_label(label), issuer_name=self.settings.issuer
        )
        svg = segno.make(uri, error="m").svg_inline(scale=4)
        return TotpEnrolment(factor_id, uri, seed, svg)

    def confirm_totp(self, tenant: str, session_id: str, factor_id: str, code: str) -> FactorInfo:
        check_tenant(tenant)
        session = self._strong_session(tenant, session_id)
        factor = self._factor_row(tenant, factor_id)
        if factor.subject_id != session.subject_id or factor.status != "pending":
            raise FactorNotEnrolled("no pending TOTP factor with this id for this customer")
        step = self._totp_step(tenant, factor, code)
        t = AuthFactorRow.__table__
        with self.db.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == factor.id)
                .values(status="active", last_step=step, last_used_at=self.clock())
            )
        return self.factors(tenant, session.subject_id, only=factor.id)[0]

    def begin_passkey(self, tenant: str, session_id: str, label: str = "passkey") -> Challenge:
        from webauthn import generate_registration_options, options_to_json
        from webauthn.helpers.structs import (
            AuthenticatorSelectionCriteria,
            PublicKeyCredentialDescriptor,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        check_tenant(tenant)
        session = self._strong_session(tenant, session_id)
        subject = session.subject_id
        raw = secrets.token_bytes(32)
        with self.db.read() as conn:
            existing = self._active_factors(conn, tenant, subject, "webauthn")
        options = generate_registration_options(
            rp_id=self.settings.rp_id,
            rp_name=self.settings.rp_name,
            # The user handle is a keyed hash: the authenticator never holds our subject id.
            user_id=bytes.fromhex(keyed(self._key(tenant), "user", subject)),
            user_name=_label(label),
            challenge=raw,
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=_unb64url(f.credential_id)) for f in existing
            ],
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
        )
        challenge_id = _new_id("chl")
        expires = self._store_challenge(
            challenge_id,
            tenant,
            subject,
            "enrol-webauthn",
            target=Assurance.HIGH,
            secret=b64url_encode(raw),
            payload={"label": _label(label)},
            session_sha256=session.id_sha256,
        )
        return Challenge(
            challenge_id, "webauthn", expires, Assurance.HIGH, json.loads(options_to_json(options))
        )

    def complete_passkey(
        self, tenant: str, challenge_id: str, credential: Mapping[str, Any] | str
    ) -> FactorInfo:
        from webauthn import verify_registration_response
        from webauthn.helpers.exceptions import WebAuthnException

        check_tenant(tenant)
        with self.db.read() as conn:
            row = self._take_challenge(conn, tenant, challenge_id, ("enrol-webauthn",))
        parsed = _credential(credential)
        try:
            verified = verify_registration_response(
                credential=dict(parsed),
                expected_challenge=_unb64url(row.secret),
                expected_rp_id=self.settings.rp_id,
                expected_origin=list(self.settings.origins),
                require_user_verification=True,
            )
        except WebAuthnException as failed:
            self._spend(row)
            raise StepUpFailed(
                f"the passkey registration does not verify: {_short(failed)}"
            ) from None
        except (ValueError, TypeError, KeyError):
            self._spend(row)
            raise StepUpFailed("the passkey registration is malformed") from None
        now = self.clock()
        factor_id = _new_id("fac")
        with self.db.begin() as conn:
            _consume(conn, row.id, now)
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(AuthFactorRow.__table__).values(
                            id=factor_id,
                            tenant_id=tenant,
                            subject_id=row.subject_id,
                            kind="webauthn",
                            label=json.loads(row.payload).get("label", "passkey"),
                            status="active",
                            credential_id=b64url_encode(verified.credential_id),
                            public_key=verified.credential_public_key,
                            sign_count=verified.sign_count,
                            last_step=0,
                            created_at=now,
                        )
                    )
            except IntegrityError:  # the unique index: a credential registered twice
                raise ReplayedCode("this passkey is already registered") from None
        return self.factors(tenant, row.subject_id, only=factor_id)[0]

    def _spend(self, row: Any) -> None:
        ct = AuthChallengeRow.__table__
        with self.db.begin() as conn:
            conn.execute(update(ct).where(ct.c.id == row.id).values(consumed_at=self.clock()))

    def register_device_key(
        self, tenant: str, session_id: str, public_key_der: bytes, label: str = "app"
    ) -> FactorInfo:
        """Bind an app installation's key (Ed25519 or P-256, DER SubjectPublicKeyInfo)."""
        check_tenant(tenant)
        session = self._strong_session(tenant, session_id)
        try:
            public = load_der_public_key(public_key_der)
        except (ValueError, TypeError):
            raise InvalidValue("the device key must be a DER SubjectPublicKeyInfo") from None
        if not isinstance(public, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
            raise InvalidValue("device keys are Ed25519 or ECDSA P-256")
        return self._add_factor(
            tenant, session.subject_id, "device", label=label, public_key=public_key_der
        )

    def register_destination(
        self, tenant: str, subject: str, channel: str, token: str, label: str = ""
    ) -> FactorInfo:
        """An operator binds a vaulted phone or email as a one-time-code destination."""
        check_tenant(tenant)
        subject = check_subject(subject)
        if channel not in _OTP_CHANNELS:
            raise InvalidValue("channel must be sms, messaging or email")
        record = self.vault.describe(tenant, [token])[0]
        wanted = DataCategory.EMAIL if channel == "email" else DataCategory.PHONE
        if record.category is not wanted or record.subject != subject:
            raise InvalidValue(f"the token must be this subject's {wanted.value}")
        return self._add_factor(
            tenant, subject, "otp", label=label or channel, destination=token, channel=channel
        )

    def bind_caller(self, tenant: str, subject: str, kind: str, identifier: str) -> FactorInfo:
        """An operator registers a caller number (voice) or a messaging sender id."""
        check_tenant(tenant)
        subject = check_subject(subject)
        if kind not in ("caller", "sender"):
            raise InvalidValue("kind must be caller or sender")
        if kind == "caller":
            number, _ = phone_e164(identifier)
            if number is None:
                raise InvalidValue("not a phone number")
            hashed = keyed(self._key(tenant), "phone", number)
        else:
            hashed = keyed(self._key(tenant), "sender", identifier.strip())
        return self._add_factor(tenant, subject, kind, label=kind, credential_id=hashed)

    def _add_factor(self, tenant: str, subject: str, kind: str, **values: Any) -> FactorInfo:
        factor_id = _new_id("fac")
        values["label"] = _label(values.get("label") or kind)
        with self.db.begin() as conn:
            conn.execute(
                insert(AuthFactorRow.__table__).values(
                    id=factor_id,
                    tenant_id=tenant,
                    subject_id=subject,
                    kind=kind,
                    status="active",
                    sign_count=0,
                    last_step=0,
                    created_at=self.clock(),
                    **values,
                )
            )
        return self.factors(tenant, subject, only=factor_id)[0]

    def factors(self, tenant: str, subject: str, *, only: str | None = None) -> list[FactorInfo]:
        t = AuthFactorRow.__table__
        query = select(t).where(t.c.tenant_id == tenant, t.c.subject_id == subject)
        if only:
            query = query.where(t.c.id == only)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(t.c.created_at)).all()
        return [
            FactorInfo(
                r.id,
                r.kind,
                r.label,
                r.status,
                r.channel,
                as_utc(r.created_at),
                as_utc(r.last_used_at) if r.last_used_at else None,
            )
            for r in rows
        ]

    def revoke_factor(self, tenant: str, subject: str, factor_id: str) -> None:
        t = AuthFactorRow.__table__
        with self.db.begin() as conn:
            done = conn.execute(
                update(t)
                .where(t.c.id == factor_id, t.c.tenant_id == tenant, t.c.subject_id == subject)
                .values(status="revoked")
            ).rowcount
        if not done:
            raise FactorNotEnrolled("no such factor for this customer")

    # ------------------------------------------------------------------ records
    def decision(self, tenant: str, decision_id: str) -> DecisionRecord:
        t = AuthDecisionRow.__table__
        with self.db.read() as conn:
            row = conn.execute(
                select(t).where(t.c.id == str(decision_id)[:40], t.c.tenant_id == tenant)
            ).first()
        if row is None:
            raise UnknownDecision("no such risk decision")
        return DecisionRecord(
            row.id,
            row.tenant_id,
            row.subject_id,
            row.action,
            row.channel,
            row.scope,
            row.score,
            row.decision,
            row.status,
            row.explanation,
            json.loads(row.contributions),
            as_utc(row.created_at),
            as_utc(row.resolved_at) if row.resolved_at else None,
        )

    def purge(self, before: dt.datetime | None = None) -> int:
        """Drop decisions and spent challenges past the retention period (fraud records)."""
        cutoff = before or self.clock() - self.settings.retention
        with self.db.begin() as conn:
            n = conn.execute(
                delete(AuthDecisionRow.__table__).where(
                    AuthDecisionRow.__table__.c.created_at < cutoff
                )
            ).rowcount
            conn.execute(
                delete(AuthChallengeRow.__table__).where(
                    AuthChallengeRow.__table__.c.expires_at < self.clock()
                )
            )
        return n

    def forget(self, tenant: str, subject: str) -> None:
        """Erasure: the subject's habits, decisions, sessions and factors go."""
        with self.db.begin() as conn:
            for table in (
                AuthProfileRow,
                AuthDecisionRow,
                AuthSessionRow,
                AuthFactorRow,
                AuthChallengeRow,
            ):
                t = table.__table__
                conn.execute(delete(t).where(t.c.tenant_id == tenant, t.c.subject_id == subject))


def _consume(conn: Any, challenge_id: str, now: dt.datetime) -> None:
    """Mark a challenge used, once: a second use (a replay, a race) is refused."""
    ct = AuthChallengeRow.__table__
    used = conn.execute(
        update(ct)
        .where(ct.c.id == challenge_id, ct.c.consumed_at.is_(None))
        .values(consumed_at=now)
    ).rowcount
    if not used:
        raise ReplayedCode("this challenge was already used")


def _session_info(row: Any, *, last_seen: dt.datetime | None = None) -> SessionInfo:
    return SessionInfo(
        row.subject_id,
        Assurance(row.assurance),
        row.scope,
        tuple(f for f in row.factors.split(",") if f),
        as_utc(row.created_at),
        last_seen or as_utc(row.last_seen_at),
        as_utc(row.expires_at),
        as_utc(row.strong_at) if row.strong_at else None,
    )


def _label(label: str) -> str:
    if not isinstance(label, str):
        raise InvalidValue("label must be text")
    return label.strip()[:100] or "factor"


def _short(error: Exception) -> str:
    return str(error).splitlines()[0][:160] if str(error) else type(error).__name__


def _credential(credential: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError:
            raise StepUpFailed("the credential is not JSON") from None
    if not isinstance(credential, Mapping):
        raise StepUpFailed("a WebAuthn credential (JSON object) is required")
    return credential


def _stored_signals(signals: Signals) -> dict[str, Any]:
    """What the decision keeps to learn from later: the minimized values only."""
    return (
        {k: v for k, v in signals.values().items() if v is not None}
        | ({"hour": signals.hour} if signals.hour is not None else {})
        | ({"weekday": signals.weekday} if signals.weekday is not None else {})
        | ({"typing_ms": signals.typing_ms} if signals.typing_ms is not None else {})
    )


def _signals_from(stored: Mapping[str, Any]) -> Signals:
    return Signals(
        device=stored.get("device"),
        ua_family=stored.get("ua_family"),
        os_family=stored.get("os_family"),
        network=stored.get("network"),
        asn=stored.get("asn"),
        country=stored.get("country"),
        hour=stored.get("hour"),
        weekday=stored.get("weekday"),
        channel=stored.get("channel"),
        typing_ms=stored.get("typing_ms"),
    )
