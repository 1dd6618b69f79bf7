"""Factors chosen by the risk: when the risk is about a channel (a SIM swap, a weakly attested
call, a messaging account bound days ago), no factor travelling over it is offered or accepted;
the app's approval, a passkey or TOTP are; with none of them, a denial with a way forward."""

from __future__ import annotations

import base64
import dataclasses

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tessera.auth import (
    Authenticator,
    FactorWithheld,
    Observation,
    ReplayedCode,
    RiskDecision,
    Signals,
    StepUpFailed,
)
from tessera.auth._offer import offered_factors, withheld_channels
from tessera.policies import Assurance
from tests.auth.conftest import learn_home, strong_session, with_phone
from tests.conftest import Clock

LINE = "+33 6 12 34 56 78"


def _call(clock: Clock, **changes: object) -> Observation:
    values: dict[str, object] = {
        "channel": "voice_agent",
        "at": clock(),
        "caller_number": LINE,
        "attestation": "A",
        "sim_swapped": True,
    }
    values.update(changes)
    return Observation(**values)  # type: ignore[arg-type]


def _known_caller(authenticator: Authenticator, tenant: str, subject: str, clock: Clock) -> None:
    with_phone(authenticator, tenant, subject)
    authenticator.bind_caller(tenant, subject, "caller", LINE)
    learn_home(authenticator, tenant, subject, clock)


def _sign(key: ed25519.Ed25519PrivateKey, message: str) -> str:
    return base64.urlsafe_b64encode(key.sign(message.encode())).rstrip(b"=").decode()


def test_the_withheld_channels_and_the_factors_left() -> None:
    swapped = Signals(channel="voice_agent", sim_swapped=True, attestation="A")
    assert withheld_channels(swapped) == {"phone"}
    assert withheld_channels(Signals(channel="voice_ivr", attestation="C")) == {"phone"}
    assert withheld_channels(Signals(channel="voice_ivr", attestation="A")) == set()
    assert withheld_channels(Signals(channel="messaging", sender_bound=False)) == {"messaging"}
    recent = Signals(channel="messaging", sender_bound=True, sender_recent=True)
    assert withheld_channels(recent) == {"messaging"}
    held = ["otp", "device", "totp", "caller"]
    assert offered_factors(held) == ("app", "otp", "totp")
    assert offered_factors(held, frozenset({"phone"})) == ("app", "totp")
    assert offered_factors(["otp"], frozenset({"messaging"})) == ()


def test_a_sim_swap_caller_holding_only_sms_codes_is_refused_with_a_way_forward(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    _known_caller(authenticator, tenant, "cust-sim-1", clock)
    result = authenticator.assess(tenant, "cust-sim-1", _call(clock), action="read")
    assert result.decision is RiskDecision.DENY
    assert result.factors == () and result.next_step == "agent_checks"
    assert "SIM change" in result.explanation and "the phone line" in result.explanation
    # Not a decision to step up: no code goes to the swapped SIM.
    sent = len(authenticator.notifier.messages)
    with pytest.raises(Exception, match="denied"):
        authenticator.begin_step_up(tenant, "otp", decision_id=result.decision_id)
    assert len(authenticator.notifier.messages) == sent


def test_a_sim_swap_caller_is_offered_totp_and_a_code_by_sms_is_refused(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    _known_caller(authenticator, tenant, "cust-sim-2", clock)
    session = strong_session(authenticator, tenant, "cust-sim-2", clock)
    enrolment = authenticator.enrol_totp(tenant, session)
    totp = pyotp.TOTP(enrolment.secret)
    authenticator.confirm_totp(tenant, session, enrolment.factor_id, totp.at(clock()))
    clock.advance(seconds=31)
    result = authenticator.assess(tenant, "cust-sim-2", _call(clock), action="read")
    assert result.decision is RiskDecision.STEP_UP and result.factors == ("totp",)
    sent = len(authenticator.notifier.messages)
    with pytest.raises(FactorWithheld, match="phone line"):
        authenticator.begin_step_up(tenant, "otp", decision_id=result.decision_id)
    assert len(authenticator.notifier.messages) == sent  # nothing went to the line
    challenge = authenticator.begin_step_up(tenant, "totp", decision_id=result.decision_id)
    issued, info = authenticator.complete_step_up(tenant, challenge.id, code=totp.at(clock()))
    assert issued is not None and info.assurance is Assurance.SUBSTANTIAL
    # The same call on a well-attested line with no SIM change is offered the code again.
    clock.advance(minutes=5)
    calm = authenticator.assess(
        tenant, "cust-sim-2", _call(clock, sim_swapped=False, attestation="B"), action="pay"
    )
    assert "otp" not in calm.factors  # B is partial attestation: the line is not trusted
    calm = authenticator.assess(tenant, "cust-sim-2", _call(clock, sim_swapped=False), action="pay")
    assert calm.decision is RiskDecision.ALLOW or "otp" in calm.factors


def test_the_apps_approval_is_signed_by_its_device_key_once(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    _known_caller(authenticator, tenant, "cust-sim-3", clock)
    session = strong_session(authenticator, tenant, "cust-sim-3", clock)
    device = ed25519.Ed25519PrivateKey.generate()
    der = device.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    key = authenticator.register_device_key(tenant, session, der)
    result = authenticator.assess(tenant, "cust-sim-3", _call(clock), action="read")
    assert result.decision is RiskDecision.STEP_UP and result.factors == ("app",)
    challenge = authenticator.begin_step_up(tenant, "app", decision_id=result.decision_id)
    assert challenge.options is not None and challenge.options["key_ids"] == [key.id]
    message = challenge.options["approval"]
    assert message.startswith("tessera-approval/1|") and challenge.id in message
    forged = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(StepUpFailed, match="does not verify"):
        authenticator.complete_step_up(
            tenant, challenge.id, credential={"key_id": key.id, "signature": _sign(forged, message)}
        )
    with pytest.raises(StepUpFailed, match="key_id and a signature"):
        authenticator.complete_step_up(tenant, challenge.id, credential={"key_id": key.id})
    signed = {"key_id": key.id, "signature": _sign(device, message)}
    issued, info = authenticator.complete_step_up(tenant, challenge.id, credential=signed)
    assert issued is not None and info.factors == ("risk", "app")
    with pytest.raises(ReplayedCode):  # the same signed approval again
        authenticator.complete_step_up(tenant, challenge.id, credential=signed)


def test_an_app_approval_binds_the_transaction(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    _known_caller(authenticator, tenant, "cust-sim-4", clock)
    session = strong_session(authenticator, tenant, "cust-sim-4", clock)
    device = ed25519.Ed25519PrivateKey.generate()
    der = device.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    key = authenticator.register_device_key(tenant, session, der)
    binding = b"pay_1|4500|EUR|Boutique Lumiere|nonce"
    challenge = authenticator.begin_transaction(
        tenant, "cust-sim-4", "app", binding=binding, message="Payer 45,00 € à Boutique Lumière ?"
    )
    assert challenge.options is not None
    signed = {"key_id": key.id, "signature": _sign(device, challenge.options["approval"])}
    with pytest.raises(StepUpFailed, match="changed"):
        authenticator.complete_transaction(
            tenant, challenge.id, binding=binding.replace(b"4500", b"9900"), credential=signed
        )
    done = authenticator.complete_transaction(
        tenant, challenge.id, binding=binding, credential=signed
    )
    assert done.factor == "app" and done.subject == "cust-sim-4"


def test_a_messaging_account_bound_days_ago_is_not_a_route_for_codes(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-msg-1")
    learn_home(authenticator, tenant, "cust-msg-1", clock)
    authenticator.bind_caller(tenant, "cust-msg-1", "sender", "whatsapp:+33699999999")
    seen = Observation(channel="messaging", at=clock(), sender_id="whatsapp:+33699999999")
    result = authenticator.assess(tenant, "cust-msg-1", seen)
    assert "sender_recent" in result.contributions
    assert result.decision is not RiskDecision.ALLOW and "otp" not in result.factors
    clock.advance(days=8)
    settled = authenticator.assess(tenant, "cust-msg-1", dataclasses.replace(seen, at=clock()))
    assert settled.contributions.get("sender") == -1.5


def test_the_registered_number_defaults_to_the_customers_vaulted_phone(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    with_phone(authenticator, tenant, "cust-line-1")  # vaults +33 6 12 34 56 78, binds no line
    learn_home(authenticator, tenant, "cust-line-1", clock)
    calm = {"sim_swapped": False}
    theirs = authenticator.assess(tenant, "cust-line-1", _call(clock, **calm))
    assert theirs.contributions["caller_id"] < 0
    other = authenticator.assess(
        tenant, "cust-line-1", _call(clock, caller_number="+33 7 00 00 00 01", **calm)
    )
    assert other.contributions["caller_id"] > 0
    # No phone vaulted at all: unknown, not a mismatch.
    nobody = authenticator.assess(tenant, "cust-line-2", _call(clock, **calm))
    assert "caller_id" not in nobody.contributions


def test_codes_are_worded_in_the_customers_language_from_the_tenants_name(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    authenticator.tenant_name = lambda t: "Banque Lumière" if t == tenant else t
    with_phone(authenticator, tenant, "cust-words")
    first = authenticator.assess(tenant, "cust-words", _call(clock, sim_swapped=False))
    authenticator.begin_step_up(tenant, "otp", decision_id=first.decision_id, locale="fr-FR")
    sent = authenticator.notifier.last()
    assert sent is not None
    assert sent.message.startswith("Votre code de vérification : ")
    assert "(Banque Lumière)" in sent.message and "Ne le donnez à personne" in sent.message
    session = strong_session(authenticator, tenant, "cust-words", clock)
    assert "Votre" not in authenticator.notifier.last().message  # English by default
    enrolment = authenticator.enrol_totp(tenant, session)
    assert "issuer=Banque%20Lumi%C3%A8re" in enrolment.uri
