from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tessera.consent import (
    Catalogue,
    ChainBroken,
    Channel,
    ConsentLedger,
    ConsentRequest,
    EventKind,
    IdempotencyConflict,
    InvalidEvent,
    LegalBasis,
    UnknownPurpose,
    parse_purpose,
)
from tessera.vault import Vault
from tests.conftest import Stores, bypass_append_only

S = "cust-1"


def give(
    ledger: ConsentLedger,
    tenant: str,
    purpose: str = "marketing_sms",
    channel: str = "voice_ivr",
    subject: str = S,
    **kw,
) -> object:
    kw.setdefault("evidence", EVIDENCE.get(channel, {}))
    return ledger.record(tenant, ConsentRequest(subject, purpose, "given", channel, **kw))


# What each channel's events carry in these tests (the proof Art. 7(1) asks for).
EVIDENCE = {
    "voice_ivr": {"recording_ref": "rec-1"},
    "voice_agent": {"recording_ref": "rec-1", "agent_id": "agent-7"},
    "chat": {"message_id": "msg-1"},
    "sms": {"message_id": "msg-1"},
    "web": {"form_id": "form-1", "session_id": "sess-1"},
    "app": {"form_id": "form-1", "session_id": "sess-1"},
}


def tamper(stores: Stores):
    return bypass_append_only(stores, "consent_events")


def test_given_by_ivr_and_withdrawn_in_chat_is_withdrawn_everywhere(ledger, tenant) -> None:
    given = give(ledger, tenant, evidence={"recording_ref": "rec-778", "ivr_menu": "3-1"})
    assert ledger.may_we(tenant, S, "marketing_sms").allowed
    withdrawn = ledger.record(
        tenant, ConsentRequest(S, "marketing_sms", "withdrawn", "chat", {"message_id": "msg-42"})
    )
    decision = ledger.may_we(tenant, S, "marketing_sms")
    assert not decision.allowed
    assert decision.reason == "consent withdrawn on chat"
    assert decision.deciding_event.seq == withdrawn.seq
    assert decision.deciding_event.hash == withdrawn.hash
    assert [e.channel for e in ledger.history(tenant, S)] == [Channel.VOICE_IVR, Channel.CHAT]
    assert withdrawn.prev_hash == given.hash


@pytest.mark.parametrize(
    ("purpose", "events", "allowed", "reason"),
    [
        ("marketing_sms", [], False, "no consent recorded"),
        ("marketing_sms", ["given"], True, "consent given on web"),
        ("marketing_sms", ["given", "refused"], False, "consent refused on web"),
        ("marketing_sms", ["withdrawn", "given"], True, "consent given on web"),
        ("customer_service", [], True, "legal basis: contract"),
        ("customer_service", ["objected"], True, "legal basis: contract"),
        ("fraud_prevention", [], True, "legal basis: legitimate interest"),
        ("fraud_prevention", ["objected"], False, "the subject objected on web (Art. 21)"),
    ],
)
def test_may_we_by_legal_basis(ledger, tenant, purpose, events, allowed, reason) -> None:
    for kind in events:
        ledger.record(
            tenant,
            ConsentRequest(S, purpose, kind, "web", {"form_id": "form-1", "session_id": "sess-1"}),
        )
    decision = ledger.may_we(tenant, S, purpose)
    assert (decision.allowed, decision.reason) == (allowed, reason)


@pytest.mark.parametrize("with_state", [False, True])
def test_a_restriction_stops_every_basis_of_that_subject_only(
    ledger, tenant, with_state: bool
) -> None:
    """With or without a recorded choice for the purpose (one query reads both)."""
    if with_state:
        give(ledger, tenant, purpose="customer_service")
        give(ledger, tenant, purpose="customer_service", subject="cust-2")
    ledger.restrict(tenant, S)
    restricted = ledger.may_we(tenant, S, "customer_service")
    assert not restricted.allowed and "Art. 18" in restricted.reason
    assert ledger.may_we(tenant, "cust-2", "customer_service").allowed
    ledger.lift_restriction(tenant, S)
    decision = ledger.may_we(tenant, S, "customer_service")
    assert decision.allowed
    assert (decision.deciding_event is not None) is with_state


def test_the_later_choice_wins_even_when_reported_late(ledger, tenant, clock) -> None:
    """An IVR batch uploaded after a chat withdrawal must not resurrect an older consent."""
    earlier = clock.now - dt.timedelta(hours=2)
    ledger.record(
        tenant, ConsentRequest(S, "marketing_sms", "withdrawn", "chat", {"message_id": "msg-1"})
    )
    give(ledger, tenant, occurred_at=earlier)
    assert not ledger.may_we(tenant, S, "marketing_sms").allowed


def test_consent_expires_after_its_validity(ledger, tenant, clock) -> None:
    event = give(ledger, tenant)
    assert event.expires_at == event.occurred_at + dt.timedelta(days=395)
    clock.advance(days=396)
    decision = ledger.may_we(tenant, S, "marketing_sms")
    assert (decision.allowed, decision.reason) == (False, "consent expired")


def test_a_material_notice_change_asks_for_renewal(ledger, catalogue: Catalogue, tenant) -> None:
    give(ledger, tenant)
    spec = catalogue.get(tenant, "marketing_sms")
    base = {
        "legal_basis": "consent",
        "name": spec.names,
        "description": spec.descriptions,
        "data_categories": list(spec.data_categories),
        "retention_days": spec.retention_days,
        "consent_validity_days": spec.consent_validity_days,
    }
    reworded = catalogue.define(
        tenant,
        parse_purpose(
            {
                **base,
                "id": "marketing_sms",
                "description": {**spec.descriptions, "en": "Our offers, by SMS."},
            }
        ),
    )
    assert (reworded.notice_version, reworded.material_version) == (2, 1)
    assert ledger.may_we(tenant, S, "marketing_sms").allowed
    widened = catalogue.define(
        tenant,
        parse_purpose(
            {**base, "id": "marketing_sms", "data_categories": ["phone", "person_name", "email"]}
        ),
    )
    assert (widened.notice_version, widened.material_version) == (3, 3)
    decision = ledger.may_we(tenant, S, "marketing_sms")
    assert (decision.allowed, decision.needs_renewal) == (False, True)
    give(ledger, tenant, channel="app")
    assert ledger.may_we(tenant, S, "marketing_sms").allowed


def test_withdrawal_of_a_consent_never_given_is_recorded(ledger, tenant) -> None:
    """Documented choice: the customer's stated refusal is kept, and honoured from then on."""
    event = ledger.record(
        tenant, ConsentRequest(S, "analytics", "withdrawn", "sms", {"message_id": "msg-1"})
    )
    assert event.seq == 1
    assert ledger.may_we(tenant, S, "analytics").reason == "consent withdrawn on sms"


@pytest.mark.parametrize(
    ("request_kw", "error", "message"),
    [
        ({"purpose": "no_such"}, UnknownPurpose, "no purpose"),
        ({"channel": "fax"}, InvalidEvent, "unknown channel"),
        ({"kind": "maybe"}, InvalidEvent, "unknown event kind"),
        ({"subject": "bad subject"}, InvalidEvent, "subject"),
        ({"evidence": {"colour": "blue"}}, InvalidEvent, "unknown evidence"),
        ({"evidence": {"form_id": "x" * 300}}, InvalidEvent, "1 to 256"),
        ({"evidence": {"form_id": 7}}, InvalidEvent, "string"),
        ({"evidence": ["form_id"]}, InvalidEvent, "object"),
        ({"notice_version": 9}, InvalidEvent, "notice version"),
        ({"occurred_at": dt.datetime(2099, 1, 1, tzinfo=dt.UTC)}, InvalidEvent, "future"),
        ({"occurred_at": dt.datetime(2026, 1, 1)}, InvalidEvent, "time zone"),
        ({"idempotency_key": "has space"}, InvalidEvent, "idempotency key"),
        ({"evidence": {}}, InvalidEvent, "needs its evidence: form_id; session_id"),
        (
            {"channel": "voice_agent", "evidence": {"recording_ref": "r"}},
            InvalidEvent,
            "voice_agent needs its evidence: agent_id",
        ),
        (
            {"kind": "refused", "expires_at": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)},
            InvalidEvent,
            "only a given consent",
        ),
    ],
)
def test_bad_events_are_refused_and_nothing_is_written(
    ledger, tenant, request_kw, error, message
) -> None:
    give(ledger, tenant)
    fields = {
        "subject": S,
        "purpose": "marketing_sms",
        "kind": "given",
        "channel": "web",
        "evidence": EVIDENCE["web"],
        **request_kw,
    }
    with pytest.raises(error, match=message):
        ledger.record(tenant, ConsentRequest(**fields))
    assert ledger.count(tenant) == 1
    ledger.verify(tenant)


def test_an_invalid_request_in_a_group_writes_none_of_it(ledger, tenant) -> None:
    with pytest.raises(InvalidEvent):
        ledger.record_many(
            tenant,
            [
                ConsentRequest(
                    S, "analytics", "given", "web", {"form_id": "form-1", "session_id": "sess-1"}
                ),
                ConsentRequest(S, "analytics", "given", "pigeon"),
            ],
        )
    assert ledger.count(tenant) == 0


def test_a_replay_with_the_same_idempotency_key_returns_the_first_event(ledger, tenant) -> None:
    first = give(ledger, tenant, idempotency_key="ivr-call-1")
    again = give(ledger, tenant, idempotency_key="ivr-call-1")
    assert again == first
    assert ledger.count(tenant) == 1
    with pytest.raises(IdempotencyConflict):
        ledger.record(
            tenant,
            ConsentRequest(
                S,
                "marketing_sms",
                "refused",
                "voice_ivr",
                {"recording_ref": "rec-1"},
                idempotency_key="ivr-call-1",
            ),
        )
    assert ledger.count(tenant) == 1


def test_gpc_objects_to_sale_and_sharing_purposes_only(ledger, tenant) -> None:
    give(ledger, tenant, purpose="partner_offers", channel="web")
    assert ledger.honour_gpc(tenant, S, channel="web", signals=["0", "maybe"]) == []
    events = ledger.honour_gpc(tenant, S, channel="web", signals=["0", " 1 "])
    assert {e.purpose for e in events} == {"partner_offers", "targeted_ads"}
    assert all(
        e.kind is EventKind.OBJECTED and e.evidence == {"signal": "Sec-GPC: 1"} for e in events
    )
    assert not ledger.may_we(tenant, S, "partner_offers").allowed
    assert not ledger.may_we(tenant, S, "targeted_ads").allowed
    assert ledger.may_we(tenant, S, "customer_service").allowed  # first-party use unaffected
    assert ledger.honour_gpc(tenant, S, channel="web", signals=["1"]) == []  # said once


def test_projection_rebuilt_from_the_log_is_the_same(ledger, tenant, clock) -> None:
    for i in range(20):
        ledger.record(
            tenant,
            ConsentRequest(
                f"s{i % 4}",
                ["marketing_sms", "analytics"][i % 2],
                ["given", "withdrawn", "refused"][i % 3],
                "web",
                EVIDENCE["web"],
            ),
        )
        clock.advance(seconds=1)
    before = {s: ledger.current(tenant, s) for s in ("s0", "s1", "s2", "s3")}
    assert ledger.rebuild(tenant) == 20
    assert {s: ledger.current(tenant, s) for s in before} == before


def test_the_database_refuses_updates_and_deletes(ledger, tenant, shared_stores) -> None:
    give(ledger, tenant)
    for statement in (
        "UPDATE consent_events SET kind = 'refused' WHERE tenant_id = :t",
        "DELETE FROM consent_events WHERE tenant_id = :t",
    ):
        with pytest.raises(DBAPIError, match="append-only"), shared_stores.data.begin() as conn:
            conn.execute(text(statement), {"t": tenant})
    assert ledger.history(tenant, S)[0].kind is EventKind.GIVEN
    ledger.verify(tenant, deep=True)


def _ten(ledger, tenant) -> None:
    for i in range(10):
        give(ledger, tenant, subject=f"s{i}")


def test_an_edited_row_is_detected(ledger, tenant, shared_stores) -> None:
    _ten(ledger, tenant)
    with tamper(shared_stores) as conn:
        conn.execute(
            text(
                "UPDATE consent_events SET body = replace(body, '\"given\"', "
                "'\"refused\"') WHERE tenant_id = :t AND seq = 4"
            ),
            {"t": tenant},
        )
    with pytest.raises(ChainBroken, match="event 4 was altered"):
        ledger.verify(tenant)


def test_an_edited_index_column_is_detected_by_the_deep_check(
    ledger, tenant, shared_stores
) -> None:
    _ten(ledger, tenant)
    with tamper(shared_stores) as conn:
        conn.execute(
            text(
                "UPDATE consent_events SET subject_id = 'someone-else' "
                "WHERE tenant_id = :t AND seq = 6"
            ),
            {"t": tenant},
        )
    ledger.verify(tenant)  # the hashed content is intact…
    with pytest.raises(ChainBroken, match="event 6's indexed columns"):
        ledger.verify(tenant, deep=True)  # …but the columns lie


def test_a_deleted_row_is_detected(ledger, tenant, shared_stores) -> None:
    _ten(ledger, tenant)
    with tamper(shared_stores) as conn:
        conn.execute(
            text("DELETE FROM consent_events WHERE tenant_id = :t AND seq = 3"), {"t": tenant}
        )
    with pytest.raises(ChainBroken, match="event 3 is missing"):
        ledger.verify(tenant)


def test_a_deleted_last_row_is_detected(ledger, tenant, shared_stores) -> None:
    _ten(ledger, tenant)
    with tamper(shared_stores) as conn:
        conn.execute(
            text("DELETE FROM consent_events WHERE tenant_id = :t AND seq = 10"), {"t": tenant}
        )
    with pytest.raises(ChainBroken, match="removed from the end"):
        ledger.verify(tenant)


def test_reordered_rows_are_detected(ledger, tenant, shared_stores) -> None:
    _ten(ledger, tenant)
    with tamper(shared_stores) as conn:
        for old, new in ((5, 1000), (6, 5), (1000, 6)):
            conn.execute(
                text("UPDATE consent_events SET seq = :new WHERE tenant_id = :t AND seq = :old"),
                {"t": tenant, "old": old, "new": new},
            )
    with pytest.raises(ChainBroken, match="event 5"):
        ledger.verify(tenant)


def test_erasing_the_subject_keeps_the_ledger_verifiable(ledger, vault: Vault, tenant) -> None:
    vault.tokenize(tenant, "06 12 34 56 78", category="phone", subject=S)
    give(ledger, tenant)
    ledger.record(
        tenant,
        ConsentRequest(
            S, "analytics", "refused", "app", {"form_id": "form-1", "session_id": "sess-1"}
        ),
    )
    vault.erase_subject(tenant, S)
    assert ledger.verify(tenant, deep=True).events == 2
    # Proof of consent is kept (Art. 7(1)): the events, by pseudonymous subject id only.
    assert [e.kind for e in ledger.history(tenant, S)] == [EventKind.GIVEN, EventKind.REFUSED]


def test_eight_concurrent_writers_never_fork_the_chain(
    shared_stores: Stores, catalogue, vault, clock, tenant
) -> None:
    """Eight ledgers stand for eight processes; each writes from its own threads."""
    ledgers = [
        ConsentLedger(shared_stores.data, catalogue, vault=vault, clock=clock) for _ in range(8)
    ]
    per_writer = 40
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def writer(n: int) -> None:
        ledger = ledgers[n % 8]
        try:
            barrier.wait()
            for i in range(per_writer):
                ledger.record(
                    tenant,
                    ConsentRequest(
                        f"w{n}-s{i % 5}",
                        "analytics",
                        ["given", "withdrawn"][i % 2],
                        "web",
                        EVIDENCE["web"],
                        idempotency_key=f"w{n}-{i}",
                    ),
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    report = ledgers[0].verify(tenant, deep=True)
    assert report.events == 16 * per_writer
    assert ledgers[0].rebuild(tenant) == 16 * per_writer


def test_legal_basis_enum_matches_article_6() -> None:
    assert [b.value for b in LegalBasis] == [
        "consent",
        "contract",
        "legal_obligation",
        "vital_interest",
        "public_task",
        "legitimate_interest",
    ]


def _forge_event(stores: Stores, tenant: str, subject: str, purpose: str, kind: str) -> int:
    """What a database writer can do without the key provider: append an event whose body,
    hash and link to the head are exactly right (the chain is plain SHA-256), move the head."""
    import json

    from tessera.consent import canonical
    from tessera.consent._chain import link

    with stores.data.engine.begin() as conn:
        head = conn.execute(
            text("SELECT seq, hash FROM chain_heads WHERE tenant_id = :t"), {"t": tenant}
        ).one()
        seq = head.seq + 1
        body_obj = {
            "v": 1,
            "tenant": tenant,
            "seq": seq,
            "subject": subject,
            "purpose": purpose,
            "kind": kind,
            "channel": "web",
            "notice_version": 1,
            "evidence": {},
            "occurred_at": "2026-12-01T10:00:00Z",
            "recorded_at": "2026-12-01T10:00:00Z",
            "expires_at": None,
            "idempotency_key": None,
        }
        body = canonical(body_obj)
        digest = link(head.hash, body)
        conn.execute(
            text(
                "INSERT INTO consent_events (tenant_id, seq, subject_id, purpose_id, kind, "
                "channel, occurred_at, idempotency_key, prev_hash, hash, body) VALUES "
                "(:t, :s, :sub, :p, :k, 'web', :at, NULL, :prev, :h, :b)"
            ),
            {
                "t": tenant,
                "s": seq,
                "sub": subject,
                "p": purpose,
                "k": kind,
                "at": dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC),
                "prev": head.hash,
                "h": digest,
                "b": body.decode(),
            },
        )
        conn.execute(
            text("UPDATE chain_heads SET seq = :s, hash = :h WHERE tenant_id = :t"),
            {"s": seq, "h": digest, "t": tenant},
        )
        assert json.loads(body)["seq"] == seq
    return seq


def test_an_event_a_database_writer_inserts_is_noticed_and_never_receipted(
    ledger: ConsentLedger, receipts, shared_stores: Stores, tenant: str
) -> None:
    ledger.record(
        tenant, ConsentRequest(S, "marketing_sms", "given", "voice_ivr", {"recording_ref": "rec-1"})
    )
    seq = _forge_event(shared_stores, tenant, S, "analytics", "given")
    with pytest.raises(ChainBroken, match=f"event {seq} was not written by this service"):
        ledger.verify(tenant, deep=True)
    forged = ledger.history(tenant, S)[-1]
    with pytest.raises(ChainBroken, match="no receipt is issued"):
        receipts.issue(tenant, forged)
    with pytest.raises(ChainBroken):  # nor is it projected by a rebuild
        ledger.rebuild(tenant)
    # An event with no state made for it: the running service notices before it answers.
    with pytest.raises(ChainBroken, match="nothing is decided on it"):
        ledger.may_we(tenant, S, "analytics")
    assert ledger.may_we(tenant, S, "marketing_sms").allowed  # the honest state still decides


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_state SET kind = 'given' WHERE tenant_id = :t AND subject_id = :s",
        "UPDATE consent_state SET occurred_at = occurred_at WHERE tenant_id = :t "
        "AND subject_id = :s AND 1 = 0",  # a no-op: the honest state still decides
        "DELETE FROM consent_state WHERE tenant_id = :t AND subject_id = :s",
    ],
)
def test_a_rewritten_or_deleted_state_row_is_noticed_before_may_we_answers(
    ledger: ConsentLedger, shared_stores: Stores, tenant: str, statement: str
) -> None:
    ledger.record(
        tenant, ConsentRequest(S, "marketing_sms", "withdrawn", "chat", {"message_id": "msg-1"})
    )
    with shared_stores.data.engine.begin() as conn:
        changed = conn.execute(text(statement), {"t": tenant, "s": S}).rowcount
    if not changed:
        assert not ledger.may_we(tenant, S, "marketing_sms").allowed
        return
    with pytest.raises(ChainBroken, match="nothing is decided on it"):
        ledger.may_we(tenant, S, "marketing_sms")
    ledger.rebuild(tenant)  # the ledger verifies: the state is made again from it
    assert not ledger.may_we(tenant, S, "marketing_sms").allowed


def test_a_tenant_adds_its_own_evidence_references(
    ledger: ConsentLedger, catalogue: Catalogue, tenant: str, other_tenant: str
) -> None:
    from tessera.consent import ControllerSpec, load_catalogue_file
    from tests.consent.conftest import EXAMPLE

    ours = ControllerSpec(name="Demo Bank SA", evidence_fields=["crm_case_id"])
    catalogue.set_controller(tenant, ours)
    evidence = {**EVIDENCE["chat"], "crm_case_id": "CASE-88"}
    event = ledger.record(tenant, ConsentRequest(S, "analytics", "given", "chat", evidence))
    assert event.evidence == evidence
    catalogue.load(other_tenant, load_catalogue_file(EXAMPLE))
    with pytest.raises(InvalidEvent, match="unknown evidence fields"):
        ledger.record(other_tenant, ConsentRequest(S, "analytics", "given", "chat", evidence))
    with pytest.raises(InvalidEvent, match="needs its evidence: message_id"):  # still the proof
        ledger.record(
            tenant, ConsentRequest(S, "analytics", "given", "chat", {"crm_case_id": "CASE-89"})
        )
    with pytest.raises(Exception, match="evidence_fields"):
        ControllerSpec(name="X", evidence_fields=["Not Valid"])


def test_a_kept_head_catches_a_ledger_cut_back_to_an_earlier_state(
    ledger: ConsentLedger, receipts, shared_stores: Stores, tenant: str, other_tenant: str
) -> None:
    """Deleting the latest events and moving the head back leaves a chain whose every seal
    verifies: only a head kept from before shows that choices were removed."""
    from tessera.consent import InvalidReceipt, verify_head

    for i in range(4):
        ledger.record(
            tenant, ConsentRequest(f"s{i}", "analytics", "given", "chat", EVIDENCE["chat"])
        )
    seq, head = ledger.head(tenant)
    kept = verify_head(receipts.sign_head(tenant, seq, head), receipts.public_jwk(tenant))
    assert (kept["tenant"], kept["seq"], kept["hash"]) == (tenant, 4, head)
    ledger.record(tenant, ConsentRequest("s9", "analytics", "given", "chat", EVIDENCE["chat"]))
    assert ledger.verify(tenant, trusted=(seq, head)).events == 5  # it extends the head
    with tamper(shared_stores) as conn:
        row = conn.execute(
            text("SELECT hash FROM consent_events WHERE tenant_id = :t AND seq = 2"), {"t": tenant}
        ).one()
        conn.execute(
            text("DELETE FROM consent_events WHERE tenant_id = :t AND seq > 2"), {"t": tenant}
        )
        conn.execute(
            text("UPDATE chain_heads SET seq = 2, hash = :h WHERE tenant_id = :t"),
            {"h": row.hash, "t": tenant},
        )
    assert ledger.verify(tenant).events == 2  # alone, the shorter ledger verifies
    with pytest.raises(ChainBroken, match="cut back: the head you kept holds 4 events"):
        ledger.verify(tenant, trusted=(seq, head))
    with pytest.raises(InvalidReceipt):  # a head signed for another tenant's key
        verify_head(receipts.sign_head(other_tenant, seq, head), receipts.public_jwk(tenant))
    with pytest.raises(InvalidReceipt):
        verify_head(
            receipts.issue(tenant, ledger.history(tenant, "s0")[0]), receipts.public_jwk(tenant)
        )
