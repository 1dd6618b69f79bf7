"""The access-log search the console reads: filters on the indexed columns, periods exact at
their edges, pages behind a cursor, bad input refused, every entry shown checked in place."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tessera.trust import AuditTampered
from tessera.trust.audit import AccessQuery, AuditLog, AuditRecord
from tessera.vault import InvalidValue, Vault
from tests.conftest import Stores, bypass_append_only

START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def log(shared_stores: Stores, vault: Vault, tenant: str) -> AuditLog:
    """Thirty days of decisions, four a day, at a fixed clock moved by each append."""
    moments = iter(START + dt.timedelta(hours=6 * i) for i in range(10_000))
    audit = AuditLog(shared_stores.data, vault=vault, clock=lambda: next(moments))
    for i in range(120):
        audit.record(
            [
                AuditRecord(
                    tenant,
                    "access",
                    {
                        "caller": f"key_{i % 3}",
                        "caller_kind": "bot" if i % 3 == 0 else "agent",
                        "action": "read_masked",
                        "purpose": "customer_service",
                        "outcome": "deny" if i % 10 == 0 else "allow",
                        "policies": ["default-deny"] if i % 10 == 0 else ["agent-masked-contact"],
                    },
                    subject=f"c-{i % 7}",
                )
            ]
        )
    return audit


def test_filters_pages_and_periods_find_exactly_what_was_asked(log: AuditLog, tenant: str) -> None:
    found, cursor = log.search(tenant, AccessQuery(limit=50))
    assert [e.seq for e in found] == list(range(119, 69, -1)) and cursor == 70
    rest, end = log.search(tenant, AccessQuery(limit=100, before=cursor))
    assert len(rest) == 70 and end is None
    refused, _ = log.search(tenant, AccessQuery(outcome="deny", caller_kind="bot"))
    assert {e.seq for e in refused} == {i for i in range(120) if i % 30 == 0}
    by_policy, _ = log.search(tenant, AccessQuery(policy="default-deny", limit=5))
    assert [e.seq for e in by_policy] == [110, 100, 90, 80, 70]
    mine, _ = log.search(tenant, AccessQuery(subjects=("c-3",), limit=200))
    assert {e.body["subject"] for e in mine} == {"c-3"} and len(mine) == 17
    assert log.search(tenant, AccessQuery(subjects=()))[0] == []
    # 5 to 7 November: entries 16 (5 Nov 09:00) to 23 (6 Nov 15:00), the edges exact.
    day = AccessQuery(since=START + dt.timedelta(days=4), until=START + dt.timedelta(days=6))
    week, _ = log.search(tenant, day)
    assert [e.seq for e in week] == list(range(23, 15, -1))
    later = AccessQuery(since=START + dt.timedelta(days=90))
    assert log.search(tenant, later) == ([], None)
    paged, cursor = log.search(tenant, AccessQuery(since=day.since, until=day.until, limit=3))
    assert [e.seq for e in paged] == [23, 22, 21] and cursor == 21


@pytest.mark.parametrize(
    "bad",
    [
        {"outcome": "maybe"},
        {"limit": 0},
        {"limit": 201},
        {"caller": "x" * 200},
        {"since": dt.datetime(2026, 11, 1)},  # no time zone
        {"subjects": tuple(f"s{i}" for i in range(51))},
    ],
)
def test_an_impossible_search_is_refused(bad: dict) -> None:
    with pytest.raises(InvalidValue):
        AccessQuery(**bad)


def test_an_entry_relabelled_by_a_database_writer_is_refused(
    log: AuditLog, tenant: str, shared_stores: Stores
) -> None:
    with bypass_append_only(shared_stores, "audit_entries") as conn:
        conn.execute(
            text("UPDATE audit_entries SET outcome = 'allow' WHERE tenant_id = :t AND seq = 110"),
            {"t": tenant},
        )
    with pytest.raises(AuditTampered, match="entry 110"):
        log.search(tenant, AccessQuery(limit=20))
    # Hidden from a search of refusals, it is still caught by the search that shows it.
    refused, _ = log.search(tenant, AccessQuery(outcome="deny"))
    assert 110 not in {e.seq for e in refused}


def test_the_log_verification_catches_a_row_relabelled_to_hide_it_from_searches(
    log: AuditLog, tenant: str, shared_stores: Stores
) -> None:
    log.verify(tenant)
    with bypass_append_only(shared_stores, "audit_entries") as conn:
        conn.execute(
            text("UPDATE audit_entries SET outcome = NULL WHERE tenant_id = :t AND seq = 30"),
            {"t": tenant},
        )
    with pytest.raises(AuditTampered, match="entry 30's outcome"):
        log.verify(tenant)
