"""The authenticator end to end in-process: a usual sign-in passes silently, an unusual one is
stepped up and explained, and every factor resists replay, brute force and forgery."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tessera.auth import (
    AccountLocked,
    Authenticator,
    ChallengeExpired,
    DeviceProof,
    FactorNotEnrolled,
    InvalidSignal,
    Outbox,
    ReplayedCode,
    RiskDecision,
    SessionExpired,
    StepUpFailed,
    StrongAuthRequired,
    UnknownSession,
)
from tessera.auth.softkey import SoftPasskey
from tessera.policies import Assurance
from tessera.vault import InvalidValue, UnknownSubject
from tests.auth.conftest import (
    GOOGLE_US,
    ORIGIN,
    OVH_FR,
    RP_ID,
    at_home,
    learn_home,
    risky,
    strong_session,
    with_otp_pass,
    with_phone,
)
from tests.conftest import Clock


def test_a_usual_sign_in_passes_silently_and_an_unusual_one_is_explained(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-1")
    learn_home(authenticator, tenant, "cust-1", clock)
    usual = authenticator.assess(tenant, "cust-1", at_home(clock))
    assert usual.decision is RiskDecision.ALLOW
    assert usual.session is not None and usual.session.assurance is Assurance.LOW
    assert usual.explanation == "usual device, network and habits"

    clock.advance(hours=2)
    odd = authenticator.assess(
        tenant,
        "cust-1",
        at_home(clock, ip=GOOGLE_US, device_id="stranger", user_agent="curl/8.0"),
    )
    assert odd.decision in (RiskDecision.STEP_UP, RiskDecision.DENY)
    assert odd.session is None
    assert "new device" in odd.explanation
    record = authenticator.decision(tenant, odd.decision_id)
    assert record.explanation == odd.explanation and record.status in ("pending", "denied")
    # The impossible trip from France to the US within two hours is its own reason.
    assert "impossible_travel" in record.contributions


def test_a_hosting_network_is_never_excused_by_habits(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-2")
    learn_home(authenticator, tenant, "cust-2", clock)
    result = authenticator.assess(tenant, "cust-2", at_home(clock, ip=OVH_FR))
    assert result.decision is not RiskDecision.ALLOW
    assert "hosting" in result.explanation


def test_garbage_and_missing_signals_are_unknown_not_safe(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-3")
    learn_home(authenticator, tenant, "cust-3", clock)
    garbage = authenticator.assess(
        tenant,
        "cust-3",
        at_home(clock, ip="not-an-ip", user_agent="\x00\x01", device_id=None, typing_ms="fast"),
    )
    assert garbage.decision is not RiskDecision.ALLOW
    assert "unknown" in garbage.explanation


def test_only_a_passed_step_up_teaches_the_profile(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-4")
    learn_home(authenticator, tenant, "cust-4", clock)
    new_phone = {
        "device_id": "new-phone",
        "user_agent": "Mozilla/5.0 (Linux; Android 14)",
        "ip": "88.160.5.5",  # and a new home network
    }
    for _ in range(5):  # attacks that fail their step-up never become "usual"
        clock.advance(minutes=1)
        attempt = authenticator.assess(tenant, "cust-4", at_home(clock, **new_phone))
        assert attempt.decision is RiskDecision.STEP_UP
    with_otp_pass(authenticator, tenant, attempt.decision_id)
    clock.advance(days=1)
    again = authenticator.assess(tenant, "cust-4", at_home(clock, **new_phone))
    assert again.score < attempt.score


def test_a_low_risk_allow_teaches_nothing_and_proof_does(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    """Only a strong authentication teaches: an attacker let through once by a low score must
    not teach the profile their device. A silent session stepped up later teaches, once."""
    with_phone(authenticator, tenant, "cust-40")
    learn_home(authenticator, tenant, "cust-40", clock)
    seen = authenticator.report_strong_authentication(
        tenant, "cust-40", at_home(clock), method="passkey"
    ).sessions
    for _ in range(3):
        clock.advance(hours=1)
        allowed = authenticator.assess(tenant, "cust-40", at_home(clock))
        assert allowed.decision is RiskDecision.ALLOW
    clock.advance(minutes=1)
    after = authenticator.report_strong_authentication(
        tenant, "cust-40", at_home(clock), method="totp"
    ).sessions
    assert after == seen + 1  # the three allows taught nothing
    assert allowed.session is not None
    challenge = authenticator.begin_step_up(tenant, "otp", session_id=allowed.session.id)
    code = authenticator.notifier.last().message.split(": ")[1][:6]
    authenticator.complete_step_up(tenant, challenge.id, code=code)
    assert authenticator.decision(tenant, allowed.decision_id).status == "passed"
    proven = authenticator.report_strong_authentication(
        tenant, "cust-40", at_home(clock), method="totp"
    ).sessions
    assert proven == after + 2  # the proven sign-in, and this report


def test_reported_strong_authentications_are_checked_and_counted_once(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    first = authenticator.report_strong_authentication(
        tenant, "cust-41", at_home(clock), method="passkey", event_id="idp-1"
    )
    assert first.sessions == 1 and first.id.startswith("rep_")
    with pytest.raises(ReplayedCode):  # the provider sent it twice: it counts once
        authenticator.report_strong_authentication(
            tenant, "cust-41", at_home(clock), method="passkey", event_id="idp-1"
        )
    future = at_home(clock)
    future = dataclasses.replace(future, at=clock() + dt.timedelta(minutes=10))
    with pytest.raises(InvalidSignal, match="future"):
        authenticator.report_strong_authentication(tenant, "cust-41", future, method="passkey")
    ancient = dataclasses.replace(future, at=clock() - dt.timedelta(days=400))
    with pytest.raises(InvalidSignal, match="retention"):
        authenticator.report_strong_authentication(tenant, "cust-41", ancient, method="passkey")
    naive = dataclasses.replace(future, at=clock().replace(tzinfo=None))
    with pytest.raises(InvalidSignal, match="time zone"):
        authenticator.report_strong_authentication(tenant, "cust-41", naive, method="passkey")
    with pytest.raises(InvalidValue, match="method"):
        authenticator.report_strong_authentication(
            tenant, "cust-41", at_home(clock), method="password"
        )
    # Nothing of the refused reports was learnt.
    last = authenticator.report_strong_authentication(
        tenant, "cust-41", at_home(clock), method="passkey"
    )
    assert last.sessions == 2
    # An old report loads history without moving "where they last were" back in time.
    clock.advance(hours=1)
    abroad = dataclasses.replace(at_home(clock, ip=GOOGLE_US), at=clock() - dt.timedelta(days=30))
    authenticator.report_strong_authentication(tenant, "cust-41", abroad, method="passkey")
    travel = authenticator.assess(tenant, "cust-41", at_home(clock))
    assert "impossible_travel" not in travel.contributions


def test_otp_step_up_is_single_use_and_brute_force_locks_the_account(
    authenticator: Authenticator, outbox: Outbox, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-5")
    learn_home(authenticator, tenant, "cust-5", clock)
    first = authenticator.assess(tenant, "cust-5", risky(clock, 99))
    assert first.decision is RiskDecision.STEP_UP and first.factors == ("otp",)
    challenge = authenticator.begin_step_up(tenant, "otp", decision_id=first.decision_id)
    assert challenge.sent_to is not None and challenge.sent_to.endswith("78")
    assert "12345" not in challenge.sent_to  # the destination is shown masked
    code = outbox.last().message.split(": ")[1][:6]
    issued, info = authenticator.complete_step_up(tenant, challenge.id, code=code)
    assert issued is not None and info.assurance is Assurance.SUBSTANTIAL
    with pytest.raises(ReplayedCode):
        authenticator.complete_step_up(tenant, challenge.id, code=code)

    # Five consecutive failures (PSD2 RTS Art. 4(3)(b)) block the account for a while.
    failures = 0
    with pytest.raises(AccountLocked) as locked:
        while True:
            clock.advance(minutes=1)
            attempt = authenticator.assess(tenant, "cust-5", risky(clock, failures), action="pay")
            challenge = authenticator.begin_step_up(tenant, "otp", decision_id=attempt.decision_id)
            wrong = "000000" if outbox.last().message.split(": ")[1][:6] != "000000" else "111111"
            with pytest.raises(StepUpFailed):
                authenticator.complete_step_up(tenant, challenge.id, code=wrong)
            failures += 1
            assert failures <= 5
    assert failures == 5
    assert locked.value.retry_after > 0
    with pytest.raises(AccountLocked):
        authenticator.assess(tenant, "cust-5", at_home(clock))
    clock.advance(minutes=31)
    assert authenticator.assess(tenant, "cust-5", at_home(clock)).decision is not None


def test_a_challenge_spends_itself_after_three_wrong_codes(
    authenticator: Authenticator, outbox: Outbox, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-6")
    first = authenticator.assess(tenant, "cust-6", at_home(clock))
    challenge = authenticator.begin_step_up(tenant, "otp", decision_id=first.decision_id)
    right = outbox.last().message.split(": ")[1][:6]
    wrong = "999999" if right != "999999" else "888888"
    for left in (2, 1, 0):
        with pytest.raises(StepUpFailed) as failed:
            authenticator.complete_step_up(tenant, challenge.id, code=wrong)
        assert failed.value.attempts_left == left
    with pytest.raises(ReplayedCode):
        authenticator.complete_step_up(tenant, challenge.id, code=right)


def test_expired_challenges_and_decisions_are_refused(
    authenticator: Authenticator, outbox: Outbox, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-7")
    first = authenticator.assess(tenant, "cust-7", at_home(clock))
    challenge = authenticator.begin_step_up(tenant, "otp", decision_id=first.decision_id)
    code = outbox.last().message.split(": ")[1][:6]
    clock.advance(minutes=6)
    with pytest.raises(ChallengeExpired):
        authenticator.complete_step_up(tenant, challenge.id, code=code)
    clock.advance(minutes=6)
    with pytest.raises(ChallengeExpired):
        authenticator.begin_step_up(tenant, "otp", decision_id=first.decision_id)


def test_totp_enrolment_needs_strong_auth_and_codes_are_accepted_once(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-8")
    learn_home(authenticator, tenant, "cust-8", clock)
    session = strong_session(authenticator, tenant, "cust-8", clock)
    low = authenticator.assess(tenant, "cust-8", at_home(clock))
    assert low.session is not None and low.session.assurance is Assurance.LOW
    with pytest.raises(StrongAuthRequired):
        authenticator.enrol_totp(tenant, low.session.id)
    clock.advance(minutes=11)
    with pytest.raises(StrongAuthRequired):  # strong, but no longer fresh
        authenticator.enrol_totp(tenant, session)
    session = strong_session(authenticator, tenant, "cust-8", clock)
    enrolment = authenticator.enrol_totp(tenant, session, "my phone")
    assert enrolment.uri.startswith("otpauth://totp/") and "<svg" in enrolment.qr_svg
    totp = pyotp.TOTP(enrolment.secret)
    with pytest.raises(StepUpFailed):
        authenticator.confirm_totp(tenant, session, enrolment.factor_id, "12345x")
    active = authenticator.confirm_totp(tenant, session, enrolment.factor_id, totp.at(clock()))
    assert active.status == "active"

    clock.advance(seconds=31)
    attempt = authenticator.assess(tenant, "cust-8", risky(clock, 1), action="pay")
    challenge = authenticator.begin_step_up(tenant, "totp", decision_id=attempt.decision_id)
    code = totp.at(clock())
    _, info = authenticator.complete_step_up(tenant, challenge.id, code=code)
    assert info.assurance is Assurance.SUBSTANTIAL
    # The same code, even on a new challenge, is refused: a TOTP code is accepted once.
    again = authenticator.assess(tenant, "cust-8", risky(clock, 2), action="pay")
    challenge = authenticator.begin_step_up(tenant, "totp", decision_id=again.decision_id)
    with pytest.raises(ReplayedCode):
        authenticator.complete_step_up(tenant, challenge.id, code=code)
    with pytest.raises(ValueError, match="substantial assurance at most"):
        authenticator.begin_step_up(
            tenant, "totp", decision_id=again.decision_id, target=Assurance.HIGH
        )


def test_passkey_registration_and_assertion_with_replay_and_origin_checks(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    session = strong_session(authenticator, tenant, "cust-9", clock)
    key = SoftPasskey(rp_id=RP_ID, origin=ORIGIN)
    registration = authenticator.begin_passkey(tenant, session, "iPhone")
    assert registration.options["rp"]["id"] == RP_ID
    factor = authenticator.complete_passkey(
        tenant, registration.id, key.register(registration.options)
    )
    assert factor.kind == "webauthn"
    with pytest.raises(ReplayedCode):  # the registration challenge is single use
        authenticator.complete_passkey(tenant, registration.id, key.register(registration.options))

    # Raise the session to high assurance with the passkey.
    challenge = authenticator.begin_step_up(tenant, "webauthn", session_id=session)
    assertion = key.assert_(challenge.options)
    issued, info = authenticator.complete_step_up(tenant, challenge.id, credential=assertion)
    assert issued is None and info.assurance is Assurance.HIGH
    assert "webauthn" in info.factors
    with pytest.raises(ReplayedCode):
        authenticator.complete_step_up(tenant, challenge.id, credential=assertion)

    # Wrong origin, wrong relying party, no user verification, a counter going backwards.
    bad_cases = [
        {"origin": "https://evil.example"},
        {"rp_id": "evil.example"},
        {"user_verified": False},
        {"sign_count": 1},
    ]
    for bad in bad_cases:
        challenge = authenticator.begin_step_up(tenant, "webauthn", session_id=session)
        with pytest.raises(StepUpFailed):
            authenticator.complete_step_up(
                tenant, challenge.id, credential=key.assert_(challenge.options, **bad)
            )
        key.sign_count = max(key.sign_count, 10)
    # Four failures so far: a good assertion resets the count before the fifth could lock.
    challenge = authenticator.begin_step_up(tenant, "webauthn", session_id=session)
    authenticator.complete_step_up(tenant, challenge.id, credential=key.assert_(challenge.options))
    # A passkey of someone else is not this customer's.
    stranger = SoftPasskey(rp_id=RP_ID, origin=ORIGIN)
    challenge = authenticator.begin_step_up(tenant, "webauthn", session_id=session)
    with pytest.raises(StepUpFailed):
        authenticator.complete_step_up(
            tenant, challenge.id, credential=stranger.assert_(challenge.options)
        )
    with pytest.raises(StepUpFailed):
        authenticator.complete_step_up(tenant, challenge.id, credential="not json")


def test_payment_sessions_end_after_five_idle_minutes(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-10")
    first = authenticator.assess(tenant, "cust-10", at_home(clock), action="pay", scope="payment")
    challenge = authenticator.begin_step_up(tenant, "otp", decision_id=first.decision_id)
    code = authenticator.notifier.last().message.split(": ")[1][:6]
    issued, _ = authenticator.complete_step_up(tenant, challenge.id, code=code)
    assert issued is not None and issued.idle_timeout_s == 300
    clock.advance(minutes=4)
    assert authenticator.session(tenant, issued.id).scope == "payment"  # activity
    clock.advance(minutes=4)
    assert authenticator.session(tenant, issued.id).assurance is Assurance.SUBSTANTIAL
    clock.advance(minutes=5, seconds=1)
    with pytest.raises(SessionExpired):
        authenticator.session(tenant, issued.id)


def test_sessions_belong_to_their_tenant_and_can_be_ended(
    authenticator: Authenticator, tenant: str, other_tenant: str, clock: Clock
) -> None:
    session = strong_session(authenticator, tenant, "cust-11", clock)
    with pytest.raises(UnknownSession):
        authenticator.session(other_tenant, session)
    with pytest.raises(UnknownSession):
        authenticator.session(tenant, "ses_forged")
    authenticator.end_session(tenant, session)
    with pytest.raises(SessionExpired):
        authenticator.session(tenant, session)


def test_device_keys_prove_possession_and_forgeries_raise_the_risk(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    session = strong_session(authenticator, tenant, "cust-12", clock)
    device = ed25519.Ed25519PrivateKey.generate()
    der = device.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    factor = authenticator.register_device_key(tenant, session, der)

    def proof(signer: ed25519.Ed25519PrivateKey) -> DeviceProof:
        nonce = authenticator.device_nonce(tenant, "cust-12")
        message = f"tessera-device/1|{tenant}|cust-12|{nonce.options['nonce']}".encode()
        signature = base64.urlsafe_b64encode(signer.sign(message)).rstrip(b"=").decode()
        return DeviceProof(factor.id, nonce.id, signature)

    good = authenticator.assess(tenant, "cust-12", at_home(clock), device_proof=proof(device))
    assert good.contributions["device_key"] < 0
    forged = authenticator.assess(
        tenant,
        "cust-12",
        at_home(clock),
        device_proof=proof(ed25519.Ed25519PrivateKey.generate()),
    )
    assert forged.decision is RiskDecision.DENY
    assert "device key" in forged.explanation
    # A nonce is single use: replaying a good proof counts as forged.
    replay = proof(device)
    authenticator.assess(tenant, "cust-12", at_home(clock), device_proof=replay)
    again = authenticator.assess(tenant, "cust-12", at_home(clock), device_proof=replay)
    assert again.contributions["device_key"] > 0


def test_voice_calls_from_the_registered_number_and_a_sim_swap(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    authenticator.bind_caller(tenant, "cust-13", "caller", "06 12 34 56 78")
    call = {"channel": "voice_agent", "ip": None, "user_agent": None, "device_id": None}
    own = authenticator.assess(
        tenant, "cust-13", at_home(clock, caller_number="+33612345678", attestation="A", **call)
    )
    other = authenticator.assess(
        tenant, "cust-13", at_home(clock, caller_number="+447700900123", attestation="C", **call)
    )
    assert own.score < other.score
    assert own.contributions["caller_id"] < 0 < other.contributions["caller_id"]


def test_factors_need_enrolment_and_erasure_shreds_the_totp_seed(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    first = authenticator.assess(tenant, "cust-14", at_home(clock))
    with pytest.raises(FactorNotEnrolled):
        authenticator.begin_step_up(tenant, "totp", decision_id=first.decision_id)
    session = strong_session(authenticator, tenant, "cust-14", clock)
    enrolment = authenticator.enrol_totp(tenant, session)
    authenticator.vault.erase_subject(tenant, "cust-14")
    with pytest.raises(UnknownSubject):
        authenticator.confirm_totp(
            tenant, session, enrolment.factor_id, pyotp.TOTP(enrolment.secret).at(clock())
        )
    authenticator.forget(tenant, "cust-14")
    assert authenticator.factors(tenant, "cust-14") == []


def test_each_tenant_decides_with_its_own_thresholds(
    shared_stores, vault, outbox, clock: Clock, tenant: str, other_tenant: str
) -> None:
    from tessera.auth import AuthSettings, thresholds_table

    # The same deployment: `other_tenant` (a bank, say) refuses a sign-in with no history
    # that `tenant` steps up.
    settings = AuthSettings(
        rp_id=RP_ID,
        origins=(ORIGIN,),
        tenant_thresholds={other_tenant: thresholds_table({"login": {"step_up": 1, "deny": 5}})},
    )
    auth = Authenticator(
        db=shared_stores.data, vault=vault, notifier=outbox, settings=settings, clock=clock
    )
    assert auth.assess(tenant, "first-timer", at_home(clock)).decision is RiskDecision.STEP_UP
    refused = auth.assess(other_tenant, "first-timer", at_home(clock))
    assert refused.decision is RiskDecision.DENY and refused.session is None
    assert auth.decision(other_tenant, refused.decision_id).status == "denied"
    assert settings.thresholds_for("anyone-else") == settings.thresholds


def test_the_local_outbox_keeps_no_contact_value_in_clear(tmp_path) -> None:
    import json

    from tessera.auth import Outbox

    outbox = Outbox(tmp_path / "outbox.jsonl")
    outbox.send("acme", "sms", "+33612345678", "Code: 123456")
    outbox.send("acme", "email", "jean.dupont@example.fr", "Code: 654321")
    stored = (tmp_path / "outbox.jsonl").read_text()
    assert "+33612345678" not in stored and "jean.dupont" not in stored
    assert [json.loads(line)["destination"] for line in stored.splitlines()] == [
        "+33 •••••••78",
        "j•••@example.fr",
    ]
    assert outbox.last("+33612345678").message == "Code: 123456"  # found by its mask


def test_a_decision_that_cannot_be_recorded_is_not_taken(
    shared_stores, vault, clock: Clock, tenant: str
) -> None:
    """The decision, its session and its audit record are one transaction: when the record
    cannot be written, no session opens and no decision is left behind."""
    from sqlalchemy import select

    from tessera.auth import AuthSettings
    from tessera.auth._tables import AuthDecisionRow, AuthSessionRow

    class Unwritable:
        def auth_recorded(self, tenant: str, subject: str, facts: dict) -> None:
            raise RuntimeError("the audit log is unavailable")

        def auth_recorded_in(self, conn, tenant: str, subject: str, facts: dict) -> None:
            raise RuntimeError("the audit log is unavailable")

    auth = Authenticator(
        db=shared_stores.data,
        vault=vault,
        notifier=Outbox(),
        settings=AuthSettings(rp_id=RP_ID, origins=(ORIGIN,)),
        recorder=Unwritable(),
        clock=clock,
    )
    with pytest.raises(RuntimeError, match="unavailable"):
        auth.assess(tenant, "cust-unrecorded", at_home(clock))
    with shared_stores.data.read() as conn:
        for table in (AuthDecisionRow, AuthSessionRow):
            rows = conn.execute(
                select(table.__table__).where(
                    table.__table__.c.tenant_id == tenant,
                    table.__table__.c.subject_id == "cust-unrecorded",
                )
            ).all()
            assert rows == [], table
