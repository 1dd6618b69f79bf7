"""Factor rows sealed under the tenant's key: a writer of the data store alone cannot add a
device key, a passkey or a calling line of their own to someone's account, nor bring back a
revoked one; rows written before seals are trusted once an operator seals them."""

from __future__ import annotations

import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import insert, select, update

from tessera.auth import Authenticator, RiskDecision, StepUpFailed
from tessera.auth._tables import AuthFactorRow
from tessera.storage import table_of
from tests.auth.conftest import strong_session
from tests.auth.test_factor_choice import _call, _known_caller, _sign
from tests.conftest import Clock

FACTORS = table_of(AuthFactorRow)


def _device(authenticator: Authenticator, tenant: str, session: str):  # type: ignore[no-untyped-def]
    key = ed25519.Ed25519PrivateKey.generate()
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return key, authenticator.register_device_key(tenant, session, der)


def _approve(authenticator: Authenticator, tenant: str, subject: str, clock: Clock, key, key_id):  # type: ignore[no-untyped-def]
    result = authenticator.assess(tenant, subject, _call(clock), action="pay")
    challenge = authenticator.begin_step_up(tenant, "app", decision_id=result.decision_id)
    message = challenge.options["approval"]  # type: ignore[index]
    signed = {"key_id": key_id, "signature": _sign(key, message)}
    return authenticator.complete_step_up(tenant, challenge.id, credential=signed)


def test_a_device_key_a_database_writer_adds_is_neither_offered_nor_accepted(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    """A SIM-swap caller with no factor of their own is denied; the writer's key, inserted
    with or without a seal copied from a real row, changes nothing."""
    _known_caller(authenticator, tenant, "cust-seal-1", clock)
    other = strong_session(authenticator, tenant, "cust-seal-2", clock)
    _, real = _device(authenticator, tenant, other)
    db = authenticator.db
    with db.read() as conn:
        genuine = conn.execute(select(FACTORS).where(FACTORS.c.id == real.id)).one()
    attacker = ed25519.Ed25519PrivateKey.generate()
    der = attacker.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    for mac in (None, genuine.mac):
        with db.begin() as conn:
            conn.execute(
                insert(FACTORS).values(
                    id=f"fac_{secrets.token_hex(8)}", tenant_id=tenant, subject_id="cust-seal-1",
                    kind="device", label="mine", status="active", public_key=der,
                    credential_id=secrets.token_hex(8), created_at=clock(), mac=mac,
                )
            )  # fmt: skip
    result = authenticator.assess(tenant, "cust-seal-1", _call(clock), action="pay")
    assert result.decision is RiskDecision.DENY and result.factors == ()
    assert "device" not in {f.kind for f in authenticator.factors(tenant, "cust-seal-1")}
    with pytest.raises(Exception, match="denied"):
        authenticator.begin_step_up(tenant, "app", decision_id=result.decision_id)


def test_a_revoked_key_set_back_to_active_by_hand_stays_out(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    _known_caller(authenticator, tenant, "cust-seal-3", clock)
    session = strong_session(authenticator, tenant, "cust-seal-3", clock)
    key, device = _device(authenticator, tenant, session)
    issued, _ = _approve(authenticator, tenant, "cust-seal-3", clock, key, device.id)
    assert issued is not None  # the genuine key works
    authenticator.revoke_factor(tenant, "cust-seal-3", device.id)
    with authenticator.db.begin() as conn:
        conn.execute(update(FACTORS).where(FACTORS.c.id == device.id).values(status="active"))
    clock.advance(minutes=5)
    result = authenticator.assess(tenant, "cust-seal-3", _call(clock), action="pay")
    assert result.decision is RiskDecision.DENY and "app" not in result.factors
    assert device.id not in {f.id for f in authenticator.factors(tenant, "cust-seal-3")}


def test_a_key_moved_to_another_customer_by_hand_does_not_follow(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    _known_caller(authenticator, tenant, "cust-seal-4", clock)
    session = strong_session(authenticator, tenant, "cust-seal-4", clock)
    _, device = _device(authenticator, tenant, session)
    with authenticator.db.begin() as conn:
        conn.execute(
            update(FACTORS).where(FACTORS.c.id == device.id).values(subject_id="cust-seal-5")
        )
    assert device.id not in {f.id for f in authenticator.factors(tenant, "cust-seal-5")}
    result = authenticator.assess(tenant, "cust-seal-5", _call(clock), action="pay")
    assert "app" not in result.factors
    # Nor is it the first customer's any more; their own line still is.
    assert "device" not in {f.kind for f in authenticator.factors(tenant, "cust-seal-4")}


def test_rows_from_before_seals_are_trusted_once_an_operator_seals_them(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    _known_caller(authenticator, tenant, "cust-seal-6", clock)
    session = strong_session(authenticator, tenant, "cust-seal-6", clock)
    key, device = _device(authenticator, tenant, session)
    with authenticator.db.begin() as conn:  # as migration 0015 leaves a row written before
        conn.execute(update(FACTORS).where(FACTORS.c.tenant_id == tenant).values(mac=None))
    refused = authenticator.assess(tenant, "cust-seal-6", _call(clock), action="pay")
    assert refused.decision is RiskDecision.DENY
    sealed = authenticator.seal_factors(tenant)
    assert sealed >= 2  # the device key and the bound calling line, at least
    assert authenticator.seal_factors(tenant) == 0  # once
    clock.advance(minutes=5)
    issued, info = _approve(authenticator, tenant, "cust-seal-6", clock, key, device.id)
    assert issued is not None and info.factors == ("risk", "app")


def test_a_wrong_signature_still_fails_on_a_sealed_key(
    authenticator: Authenticator, tenant: str, clock: Clock
) -> None:
    _known_caller(authenticator, tenant, "cust-seal-7", clock)
    session = strong_session(authenticator, tenant, "cust-seal-7", clock)
    _, device = _device(authenticator, tenant, session)
    with pytest.raises(StepUpFailed, match="does not verify"):
        _approve(
            authenticator, tenant, "cust-seal-7", clock, ed25519.Ed25519PrivateKey.generate(),
            device.id,
        )  # fmt: skip
