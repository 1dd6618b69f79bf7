"""Enrolling factors: TOTP, passkeys, device keys, code destinations, bound caller numbers."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

import pyotp
import segno
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sqlalchemy.exc import IntegrityError

from tessera import Assurance, b64url_encode
from tessera.vault import InvalidValue, check_subject, check_tenant

from ._challenges import destination_category, masked_destination
from ._common import _credential, _label, _new_id, _short, _unb64url
from ._errors import (
    FactorNotEnrolled,
    ReplayedCode,
    StepUpFailed,
    StrongAuthRequired,
    UnknownChallenge,
)
from ._messages import default_text
from ._rows import StoredChallenge, StoredFactor, StoredSession
from ._signals import keyed, phone_e164
from ._step_up import _StepUps
from ._types import _OTP_CHANNELS, Challenge, FactorInfo, TotpEnrolment

__all__ = ["_Enrolment"]


class _Enrolment(_StepUps):
    """Part of `Authenticator`, built on the parts below it (_StepUps)."""

    # ------------------------------------------------------------------ enrolment
    def _strong_session(self, tenant: str, session_id: str) -> StoredSession:
        with self.db.read() as conn:
            row = self._live_session(conn, tenant, session_id)
        fresh = row.strong_at and self.clock() - row.strong_at <= self.settings.enrol_freshness
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
        return self._new_totp(tenant, session.subject_id, label, status="pending")

    def provision_totp(
        self, tenant: str, subject: str, label: str = "authenticator app"
    ) -> TotpEnrolment:
        """An operator provisions an active TOTP factor for someone who has none yet (a member
        of staff at the console): the seed is shown once, to be handed over in person, and
        the provisioning is recorded."""
        check_tenant(tenant)
        subject = check_subject(subject)
        if not subject:
            raise InvalidValue("subject is required")
        enrolment = self._new_totp(tenant, subject, label, status="active")
        self._record(
            tenant,
            subject,
            event="factor_provisioned",
            factor="totp",
            factor_id=enrolment.factor_id,
        )
        return enrolment

    def _new_totp(self, tenant: str, subject: str, label: str, *, status: str) -> TotpEnrolment:
        factor_id = _new_id("fac")
        seed = pyotp.random_base32()
        now = self.clock()
        with self.db.begin() as conn:
            self.store.add_factor(
                conn,
                StoredFactor(
                    id=factor_id,
                    tenant_id=tenant,
                    subject_id=subject,
                    kind="totp",
                    label=_label(label),
                    status=status,
                    secret=self.vault.seal_secret(
                        tenant, subject, f"totp:{factor_id}", seed.encode()
                    ),
                    created_at=now,
                ),
            )
        uri = pyotp.TOTP(seed).provisioning_uri(
            name=_label(label), issuer_name=self.tenant_name(tenant)
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
        with self.db.begin() as conn:
            self.store.activate_totp(conn, factor.id, step, self.clock())
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
                PublicKeyCredentialDescriptor(id=_unb64url(str(f.credential_id))) for f in existing
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
            self._consume(conn, row.id, now)
            try:
                with conn.begin_nested():
                    self.store.add_factor(
                        conn,
                        StoredFactor(
                            id=factor_id,
                            tenant_id=tenant,
                            subject_id=row.subject_id,
                            kind="webauthn",
                            label=json.loads(row.payload).get("label", "passkey"),
                            status="active",
                            credential_id=b64url_encode(verified.credential_id),
                            public_key=verified.credential_public_key,
                            sign_count=verified.sign_count,
                            created_at=now,
                        ),
                    )
            except IntegrityError:  # the unique index: a credential registered twice
                raise ReplayedCode("this passkey is already registered") from None
        return self.factors(tenant, row.subject_id, only=factor_id)[0]

    def _spend(self, row: StoredChallenge) -> None:
        with self.db.begin() as conn:
            self.store.consume_challenge(conn, row.id, self.clock())

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

    def _check_destination(self, tenant: str, subject: str, channel: str, token: str) -> None:
        """A destination for codes is one of the subject's own vaulted phones or e-mails."""
        if channel not in _OTP_CHANNELS:
            raise InvalidValue("channel must be sms, messaging or email")
        record = self.vault.describe(tenant, [token])[0]
        wanted = destination_category(channel)
        if record.category is not wanted or record.subject != subject:
            raise InvalidValue(f"the token must be this subject's {wanted.value}")

    def register_destination(
        self, tenant: str, subject: str, channel: str, token: str, label: str = ""
    ) -> FactorInfo:
        """An operator binds a vaulted phone or email as a one-time-code destination."""
        check_tenant(tenant)
        subject = check_subject(subject)
        self._check_destination(tenant, subject, channel, token)
        return self._add_factor(
            tenant, subject, "otp", label=label or channel, destination=token, channel=channel
        )

    def begin_destination(
        self, tenant: str, session_id: str, channel: str, token: str, *, message: str | None = None
    ) -> Challenge:
        """The customer adds a number or an address for codes, from a strong session: a first
        code goes to it, and it becomes a factor only once `confirm_destination` checks that
        code (holding it is what it proves; an operator's `register_destination` binds one
        without)."""
        check_tenant(tenant)
        session = self._strong_session(tenant, session_id)
        subject = session.subject_id
        self._check_destination(tenant, subject, channel, token)
        factor_id = _new_id("fac")
        with self.db.begin() as conn:
            self.store.add_factor(
                conn,
                StoredFactor(
                    id=factor_id,
                    tenant_id=tenant,
                    subject_id=subject,
                    kind="otp",
                    label=channel,
                    status="pending",
                    destination=token,
                    channel=channel,
                    created_at=self.clock(),
                ),
            )
        challenge_id = _new_id("chl")
        secret, sent_to = self._send_code(
            tenant, challenge_id, channel, token, message or default_text("destination", None)
        )
        expires = self._store_challenge(
            challenge_id,
            tenant,
            subject,
            "enrol-otp",
            target=Assurance.SUBSTANTIAL,
            secret=secret,
            session_sha256=session.id_sha256,
            factor_id=factor_id,
        )
        return Challenge(challenge_id, "otp", expires, Assurance.SUBSTANTIAL, None, sent_to)

    def confirm_destination(
        self, tenant: str, session_id: str, challenge_id: str, code: str
    ) -> FactorInfo:
        check_tenant(tenant)
        session = self._strong_session(tenant, session_id)
        with self.db.read() as conn:
            row = self._take_challenge(conn, tenant, challenge_id, ("enrol-otp",))
        if row.session_sha256 != session.id_sha256 or row.factor_id is None:
            raise UnknownChallenge("no such challenge")
        try:
            self._verify_otp(tenant, row, code)
        except StepUpFailed as failed:
            self._fail(tenant, row)
            raise StepUpFailed(failed.detail, attempts_left=self._attempts_left(row)) from None
        now = self.clock()
        with self.db.begin() as conn:
            self._consume(conn, row.id, now)
            self.store.activate_factor(conn, row.factor_id, now)
        self._record(tenant, row.subject_id, event="destination_added", factor=row.factor_id)
        return self.factors(tenant, row.subject_id, only=row.factor_id)[0]

    def send_to(self, tenant: str, subject: str, channel: str, message: str) -> str:
        """A message (a portal link, say) to the subject's registered destination on `channel`,
        through the notifier; returns the destination masked. The caller never holds it."""
        check_tenant(tenant)
        subject = check_subject(subject)
        with self.db.read() as conn:
            rows = [
                f
                for f in self._active_factors(conn, tenant, subject, "otp")
                if f.channel == channel
            ]
        if not rows:
            raise FactorNotEnrolled(f"no registered destination on {channel[:16]}")
        value = self.vault.detokenize(tenant, str(rows[0].destination)).value
        self.notifier.send(tenant, channel, value, message)
        self._record(tenant, subject, event="message_sent", channel=channel)
        return masked_destination(channel, value)

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

    def _add_factor(
        self,
        tenant: str,
        subject: str,
        kind: str,
        *,
        label: str,
        public_key: bytes | None = None,
        destination: str | None = None,
        channel: str | None = None,
        credential_id: str | None = None,
        secret: bytes | None = None,
    ) -> FactorInfo:
        factor_id = _new_id("fac")
        with self.db.begin() as conn:
            self.store.add_factor(
                conn,
                StoredFactor(
                    id=factor_id,
                    tenant_id=tenant,
                    subject_id=subject,
                    kind=kind,
                    label=_label(label or kind),
                    status="active",
                    public_key=public_key,
                    destination=destination,
                    channel=channel,
                    credential_id=credential_id,
                    secret=secret,
                    created_at=self.clock(),
                ),
            )
        return self.factors(tenant, subject, only=factor_id)[0]

    def factors(self, tenant: str, subject: str, *, only: str | None = None) -> list[FactorInfo]:
        with self.db.read() as conn:
            rows = self.store.factors(conn, tenant, subject, only=only or None)
        return [
            FactorInfo(r.id, r.kind, r.label, r.status, r.channel, r.created_at, r.last_used_at)
            for r in rows
        ]

    def seal_factors(self, tenant: str) -> int:
        """Seal the tenant's factor rows that have no seal, each in the audit trail as vouched
        for by the operator who runs it; returns how many. For the rows written before seals
        (migration 0015), so run it once, right after the upgrade: a later run would seal
        whatever unsealed rows stand then, one a database writer added included."""
        check_tenant(tenant)
        with self.db.begin() as conn:
            sealed = self.store.seal_unsealed(conn, tenant)
            for factor in sealed:
                self._record_in(
                    conn, tenant, factor.subject_id, event="factor_sealed", factor=factor.id,
                    kind=factor.kind,
                )  # fmt: skip
        return len(sealed)

    def revoke_factor(self, tenant: str, subject: str, factor_id: str) -> None:
        """Revoke one of the subject's factors, answered for first: if the record cannot be
        written, the factor stays."""
        with self.db.read() as conn:
            found = self.store.factor(conn, tenant, factor_id)
        if found is None or found.subject_id != subject:
            raise FactorNotEnrolled("no such factor for this customer")
        self._record(tenant, subject, event="factor_revoked", factor=factor_id, kind=found.kind)
        with self.db.begin() as conn:
            done = self.store.revoke_factor(conn, tenant, subject, factor_id)
        if not done:
            raise FactorNotEnrolled("no such factor for this customer")
