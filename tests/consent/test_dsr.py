from __future__ import annotations

import datetime as dt

import pytest
from dateutil.relativedelta import relativedelta

from tessera.consent import (
    ConsentLedger,
    ConsentRequest,
    DataSubjectRights,
    DsrKind,
    DsrNotFound,
    DsrState,
    IdentityNotVerified,
    InvalidEvent,
    InvalidTransition,
    due_date,
    export_csv,
    verify_receipt,
)
from tessera.vault import InvalidToken, Vault

S, OTHER = "cust-1", "cust-2"


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2026-01-15T10:00:00+00:00", "2026-02-15T10:00:00+00:00"),
        ("2026-01-31T10:00:00+00:00", "2026-02-28T10:00:00+00:00"),  # no 31 February
        ("2028-01-31T10:00:00+00:00", "2028-02-29T10:00:00+00:00"),  # leap year
        ("2026-12-20T10:00:00+00:00", "2027-01-20T10:00:00+00:00"),
    ],
)
def test_a_request_is_due_one_calendar_month_after_receipt(received: str, due: str) -> None:
    assert due_date(dt.datetime.fromisoformat(received)) == dt.datetime.fromisoformat(due)


@pytest.fixture
def populated(vault: Vault, ledger: ConsentLedger, tenant: str) -> None:
    vault.tokenize(tenant, "jean.dupont@example.fr", category="email", subject=S)
    vault.tokenize(tenant, "06 12 34 56 78", category="phone", subject=S)
    vault.tokenize(tenant, "marie@example.fr", category="email", subject=OTHER)
    ledger.record(
        tenant, ConsentRequest(S, "marketing_sms", "given", "voice_ivr", {"recording_ref": "rec-1"})
    )
    ledger.record(
        tenant, ConsentRequest(S, "marketing_sms", "withdrawn", "chat", {"message_id": "msg-1"})
    )
    ledger.record(
        tenant,
        ConsentRequest(
            OTHER, "analytics", "given", "web", {"form_id": "form-1", "session_id": "sess-1"}
        ),
    )


def verified(dsr: DataSubjectRights, tenant: str, kind: DsrKind, subject: str = S, **details):
    request = dsr.open(tenant, subject, kind, details=details)
    dsr.verify_identity(tenant, request.id, verified_by="agent-7 after step-up")
    return request


def test_access_export_holds_everything_of_the_subject_and_nothing_else(
    dsr: DataSubjectRights, data, populated, receipts, tenant: str
) -> None:
    request = verified(dsr, tenant, DsrKind.ACCESS)
    assert dsr.execute(tenant, request.id, data=data) == {"export": "ready"}
    export = dsr.export(tenant, request.id, data=data)
    assert sorted(v["value"] for v in export["personal_data"]) == [
        "+33612345678",
        "jean.dupont@example.fr",
    ]
    history = export["consents"]["history"]
    assert [(e["kind"], e["channel"]) for e in history] == [
        ("given", "voice_ivr"),
        ("withdrawn", "chat"),
    ]
    assert export["consents"]["current"]["marketing_sms"]["kind"] == "withdrawn"
    for e in history:
        assert verify_receipt(e["receipt"], export["public_key"])["piiPrincipalId"] == S
    assert "marie" not in str(export) and OTHER not in str(export)
    assert dsr.get(tenant, request.id).state is DsrState.COMPLETED
    with pytest.raises(InvalidTransition, match="delivered"):  # released once
        dsr.export(tenant, request.id, data=data)
    csv_text = export_csv(export)
    assert "withdrawn,chat" in csv_text and "jean.dupont@example.fr" in csv_text


def test_nothing_is_released_before_identity_is_verified(
    dsr: DataSubjectRights, data, populated, tenant: str
) -> None:
    request = dsr.open(tenant, S, "portability")
    with pytest.raises(IdentityNotVerified):
        dsr.execute(tenant, request.id, data=data)
    with pytest.raises(IdentityNotVerified):
        dsr.export(tenant, request.id, data=data)
    assert dsr.get(tenant, request.id).state is DsrState.RECEIVED


def test_erasure_request_crypto_shreds(
    dsr: DataSubjectRights, data, populated, vault: Vault, ledger: ConsentLedger, tenant: str
) -> None:
    tokens = [t.token for t in vault.subject_tokens(tenant, S)]
    result = dsr.execute(tenant, verified(dsr, tenant, DsrKind.ERASURE).id, data=data)
    assert result["items_destroyed"] == 2
    with pytest.raises(InvalidToken):
        vault.detokenize(tenant, tokens[0])
    ledger.verify(tenant, deep=True)


def test_restriction_blocks_processing_until_lifted(
    dsr: DataSubjectRights, data, populated, ledger: ConsentLedger, tenant: str
) -> None:
    assert ledger.may_we(tenant, S, "customer_service").allowed
    dsr.execute(tenant, verified(dsr, tenant, DsrKind.RESTRICTION).id, data=data)
    decision = ledger.may_we(tenant, S, "customer_service")
    assert not decision.allowed and "Art. 18" in decision.reason
    dsr.execute(tenant, verified(dsr, tenant, DsrKind.RESTRICTION, lift=True).id, data=data)
    assert ledger.may_we(tenant, S, "customer_service").allowed


def test_objection_records_objected_events(
    dsr: DataSubjectRights, data, populated, ledger: ConsentLedger, tenant: str
) -> None:
    request = verified(dsr, tenant, DsrKind.OBJECTION, purposes=["fraud_prevention"])
    dsr.execute(tenant, request.id, data=data)
    decision = ledger.may_we(tenant, S, "fraud_prevention")
    assert not decision.allowed and "Art. 21" in decision.reason


def test_rectification_keeps_the_token(
    dsr: DataSubjectRights, data, populated, vault: Vault, tenant: str
) -> None:
    email = next(t for t in vault.subject_tokens(tenant, S) if t.category.value == "email")
    request = verified(
        dsr, tenant, DsrKind.RECTIFICATION, token=email.token, value="jean.dupont@example.com"
    )
    dsr.execute(tenant, request.id, data=data)
    assert vault.detokenize(tenant, email.token).value == "jean.dupont@example.com"
    assert vault.find(tenant, "jean.dupont@example.com", category="email")[0].token == email.token


def test_rectification_of_another_subjects_token_is_refused(
    dsr: DataSubjectRights, data, populated, vault: Vault, tenant: str
) -> None:
    theirs = vault.subject_tokens(tenant, OTHER)[0]
    request = verified(dsr, tenant, DsrKind.RECTIFICATION, token=theirs.token, value="x@y.fr")
    with pytest.raises(InvalidToken):
        dsr.execute(tenant, request.id, data=data)
    assert vault.detokenize(tenant, theirs.token).value == "marie@example.fr"


def test_state_machine_refuses_illegal_moves(dsr: DataSubjectRights, tenant: str) -> None:
    request = dsr.open(tenant, S, "access")
    dsr.reject(tenant, request.id, reason="duplicate of another request")
    with pytest.raises(InvalidTransition):
        dsr.verify_identity(tenant, request.id, verified_by="agent")
    with pytest.raises(InvalidTransition):
        dsr.extend(tenant, request.id, reason="complex")
    assert dsr.get(tenant, request.id).rejection_reason == "duplicate of another request"


def test_an_extension_adds_two_months_once_with_a_reason(
    dsr: DataSubjectRights, tenant: str, clock
) -> None:
    request = dsr.open(tenant, S, "access")
    with pytest.raises(InvalidEvent, match="reason"):
        dsr.extend(tenant, request.id, reason=" ")
    extended = dsr.extend(tenant, request.id, reason="many systems to search")
    assert extended.due_at == due_date(request.received_at) + relativedelta(months=2)
    assert extended.extension_reason == "many systems to search"
    with pytest.raises(InvalidTransition, match="only once"):
        dsr.extend(tenant, request.id, reason="again")


def test_overdue_list(dsr: DataSubjectRights, tenant: str, clock) -> None:
    late = dsr.open(tenant, S, "access")
    clock.advance(days=20)
    dsr.open(tenant, OTHER, "access")
    done = dsr.open(tenant, OTHER, "restriction")
    dsr.reject(tenant, done.id, reason="not the subject")
    clock.advance(days=15)
    assert [r.id for r in dsr.list(tenant, overdue=True)] == [late.id]
    assert dsr.list(tenant, overdue=True)[0].overdue(clock.now)


@pytest.mark.parametrize(
    ("kind", "details", "message"),
    [
        ("forget_me", {}, "unknown request kind"),
        ("rectification", {"token": "tok_x"}, "new `value`"),
        ("objection", {"purposes": []}, "purposes"),
        ("access", {"blob": "x" * 9000}, "8 KiB"),
    ],
)
def test_bad_requests_are_refused(
    dsr: DataSubjectRights, tenant: str, kind, details, message
) -> None:
    with pytest.raises(InvalidEvent, match=message):
        dsr.open(tenant, S, kind, details=details)
    assert dsr.list(tenant) == []


def test_another_tenants_request_is_unknown(
    dsr: DataSubjectRights, tenant: str, other_tenant: str
) -> None:
    request = dsr.open(tenant, S, "access")
    with pytest.raises(DsrNotFound):
        dsr.get(other_tenant, request.id)
    with pytest.raises(DsrNotFound):
        dsr.verify_identity(other_tenant, request.id, verified_by="x")


def test_a_rectification_keeps_its_new_value_sealed_until_done(
    dsr: DataSubjectRights, data, populated, vault: Vault, tenant: str, shared_stores
) -> None:
    from sqlalchemy import select

    from tessera.consent._tables import DsrRequestRow

    email = next(t for t in vault.subject_tokens(tenant, S) if t.category.value == "email")
    new = "jean.rectified@example.com"
    request = verified(dsr, tenant, DsrKind.RECTIFICATION, token=email.token, value=new)
    t = DsrRequestRow.__table__
    with shared_stores.data.read() as conn:
        row = conn.execute(
            select(t.c.details, t.c.request_sha256).where(t.c.id == request.id)
        ).one()
    assert new not in row.details and "sealed_value" in row.details
    dsr.execute(tenant, request.id, data=data)
    assert vault.detokenize(tenant, email.token).value == new
    with shared_stores.data.read() as conn:
        details = conn.execute(select(t.c.details).where(t.c.id == request.id)).scalar_one()
    assert "sealed_value" not in details and new not in details


def test_an_idempotent_rectification_is_answered_again_without_storing_its_value(
    dsr: DataSubjectRights, populated, tenant: str
) -> None:
    from tessera.consent import IdempotencyConflict

    asked = {"token": "tok_x", "value": "06 11 22 33 44"}
    first = dsr.open(tenant, S, "rectification", details=asked, idempotency_key="k-rect")
    again = dsr.open(tenant, S, "rectification", details=asked, idempotency_key="k-rect")
    assert again.id == first.id
    with pytest.raises(IdempotencyConflict):
        dsr.open(
            tenant, S, "rectification", details=asked | {"value": "x"}, idempotency_key="k-rect"
        )
